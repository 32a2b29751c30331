package laplace_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/laplace"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// benchProblem is a network with its MAP.
type benchProblem struct {
	name  string
	net   *posterior.Network
	theta []float32
	x     []float32 // 1000 test inputs
}

var benchCache = map[string]benchProblem{}

// benchProblems returns the 1-D gap toy (1×50 tanh, n = 80, P = 151) and a Boston-sized regression
// (synthetic, n = 455, D = 13, 1×50 tanh, P = 751), each with a MAP (full-batch Adam).
func benchProblems(b *testing.B) []benchProblem {
	if len(benchCache) == 0 {
		net, theta := gapSetup(b)
		x, _ := data.Grid1D(-3, 3, 1000)
		benchCache["gap"] = benchProblem{"gap", net, theta, x}
		ds := linearData(455, 13, 0.3, 5)
		for i := range ds.Y {
			ds.Y[i] = float32(math.Sin(float64(ds.Y[i])))
		}
		spec := nets.MLP(13, []int{50}, 1, nets.Tanh)
		bnet := posterior.MustNewNetwork(spec, ds, posterior.NetworkOptions{Sigma: 0.3})
		bx := linearData(1000, 13, 0.3, 6).X
		benchCache["boston"] = benchProblem{"boston-sized", bnet, fitMAP(b, bnet, spec.MustInit(1), 2000, 0.01), bx}
	}
	return []benchProblem{benchCache["gap"], benchCache["boston"]}
}

var benchVariants = []struct {
	name string
	opts laplace.Options
}{
	{"last-layer-full", laplace.Options{}},
	{"all-diag", laplace.Options{SubsetOfWeights: laplace.AllWeights, HessianStructure: laplace.Diag}},
	{"all-kron", laplace.Options{SubsetOfWeights: laplace.AllWeights, HessianStructure: laplace.Kron}},
	{"all-full", laplace.Options{SubsetOfWeights: laplace.AllWeights}},
}

// BenchmarkFit measures Fit (curvature over the training data, eigendecompositions, marglik tuning of α),
// with the compiled executables cached by the first call.
func BenchmarkFit(b *testing.B) {
	for _, pr := range benchProblems(b) {
		for _, v := range benchVariants {
			b.Run(fmt.Sprintf("%s/%s", pr.name, v.name), func(b *testing.B) {
				if _, err := laplace.Fit(pr.net, pr.theta, v.opts); err != nil { // compile outside the timing
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := laplace.Fit(pr.net, pr.theta, v.opts); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkSample measures drawing 100 parameter vectors (one compiled call; the per-sample training loss
// is not included), reported per sample.
func BenchmarkSample(b *testing.B) {
	for _, pr := range benchProblems(b) {
		for _, v := range benchVariants {
			b.Run(fmt.Sprintf("%s/%s", pr.name, v.name), func(b *testing.B) {
				la, err := laplace.Fit(pr.net, pr.theta, v.opts)
				if err != nil {
					b.Fatal(err)
				}
				pred := laplace.PredictOptions{PredType: laplace.NN, Samples: 100}
				if _, err := la.Predictive(pr.x[:pr.net.Spec.InputDim()], pred); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := la.Predictive(pr.x[:pr.net.Spec.InputDim()], pred); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/sample")
			})
		}
	}
}

// BenchmarkGLMPredictive measures the linearised predictive (J Σ Jᵀ) at 1000 test points, per point.
func BenchmarkGLMPredictive(b *testing.B) {
	for _, pr := range benchProblems(b) {
		for _, v := range benchVariants {
			b.Run(fmt.Sprintf("%s/%s", pr.name, v.name), func(b *testing.B) {
				la, err := laplace.Fit(pr.net, pr.theta, v.opts)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := la.FunctionalMoments(pr.x); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, _, err := la.FunctionalMoments(pr.x); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(pr.x)/pr.net.Spec.InputDim()), "ns/point")
			})
		}
	}
}
