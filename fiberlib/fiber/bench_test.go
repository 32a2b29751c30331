package fiber_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/fiber"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// Benchmark problem: UCI-sized regression, n = 512 examples with 8 inputs, N = 64 particles.
const (
	benchN        = 64
	benchData     = 512
	benchInputs   = 8
	benchStepsXLA = 20 // steps per executed call (XLA While loop)
	benchStepsGo  = 1  // the pure-Go backend unrolls the steps into the graph: keep it small
)

func benchBackends(b *testing.B) map[string]compute.Backend {
	out := map[string]compute.Backend{}
	def, err := backend.New()
	if err != nil {
		b.Fatal(err)
	}
	if !backend.IsGo(def) {
		out["xla"] = def
	}
	gob, err := backend.NewWithConfig("go")
	if err != nil {
		b.Fatal(err)
	}
	out["go"] = gob
	return out
}

// benchNet returns the network posterior of a tanh MLP with the given hidden widths on n = 512 random
// examples with 8 inputs (σ = 0.5, α = 1), and a seeded initial θ.
func benchNet(b *testing.B, hidden []int) (*posterior.Network, []float32) {
	rng := rand.New(rand.NewPCG(1, 2))
	ds := &data.Dataset{Name: "bench", Task: data.Regression, N: benchData, D: benchInputs, T: 1,
		X: make([]float32, benchData*benchInputs), Y: make([]float32, benchData)}
	for i := range ds.X {
		ds.X[i] = float32(rng.NormFloat64())
	}
	for i := range ds.Y {
		ds.Y[i] = float32(rng.NormFloat64())
	}
	spec := nets.MLP(benchInputs, hidden, 1, nets.Tanh)
	net, err := posterior.NewNetwork(spec, ds, posterior.NetworkOptions{Sigma: 0.5, PriorPrecision: 1})
	if err != nil {
		b.Fatal(err)
	}
	return net, spec.MustInit(1)
}

// flopsPerParticleStep counts the multiply-adds of one walk step for one particle: forward and backward
// through every layer on every example (≈ 3 matrix products of 2·n·in·out flops each).
func flopsPerParticleStep(sizes []int) float64 {
	var macs float64
	for l := 0; l+1 < len(sizes); l++ {
		macs += float64(sizes[l] * sizes[l+1])
	}
	return 6 * benchData * macs
}

// BenchmarkWalk measures walk throughput (particle-steps per second and achieved GFLOP/s, counting the
// walk steps' matrix products only; each call also evaluates the diagnostics once) for a 1×50 and a 2×200
// tanh MLP at N = 64, on XLA CPU and on the pure-Go backend.
//
//	go test -run '^$' -bench 'Walk|MatmulPeak' -benchtime 3x ./fiberlib/fiber/
func BenchmarkWalk(b *testing.B) {
	for _, sizes := range [][]int{{benchInputs, 50, 1}, {benchInputs, 200, 200, 1}} {
		for _, name := range []string{"xla", "go"} {
			bk, ok := benchBackends(b)[name]
			if !ok {
				continue
			}
			label := fmt.Sprintf("mlp%dx%d/%s", len(sizes)-2, sizes[1], name)
			b.Run(label, func(b *testing.B) {
				net, theta0 := benchNet(b, sizes[1:len(sizes)-1]) // data tensors are per backend
				steps := benchStepsXLA
				if name == "go" {
					steps = benchStepsGo
				}
				w, err := fiber.NewWalker(bk, net, theta0, fiber.Options{Particles: benchN, Steps: steps << 20,
					RecordEvery: steps, Eta: 1e-4, Epsilon: 1e-3, Tau: 1e9, DivergeRise: 1e12})
				if err != nil {
					b.Fatal(err)
				}
				if err := w.Advance(steps); err != nil { // compile
					b.Fatal(err)
				}
				b.ResetTimer()
				t0 := time.Now()
				for i := 0; i < b.N; i++ {
					if err := w.Advance(steps); err != nil {
						b.Fatal(err)
					}
				}
				el := time.Since(t0).Seconds()
				ps := float64(b.N*steps*benchN) / el
				b.ReportMetric(ps, "particle-steps/s")
				b.ReportMetric(ps*flopsPerParticleStep(sizes)/1e9, "GFLOP/s")
				b.ReportMetric(float64(net.NumParams()), "params")
			})
		}
	}
}

// BenchmarkMatmulPeakXLA measures the machine's float32 matrix-product rate through XLA CPU: a 2048×2048
// by 2048×2048 product (2·2048³ flops) per call, the reference for the walk's achieved GFLOP/s.
func BenchmarkMatmulPeakXLA(b *testing.B) {
	bk, ok := benchBackends(b)["xla"]
	if !ok {
		b.Skip("no XLA backend")
	}
	const k = 2048
	// The sum of the product (4M additions, 0.02 % of the flops) makes reading one scalar wait for the result.
	exec := MustNewExec(bk, func(x, y *Node) *Node { return ReduceAllSum(Dot(x, y).Product()) })
	rng := rand.New(rand.NewPCG(3, 4))
	mk := func() *tensors.Tensor {
		v := make([]float32, k*k)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return tensors.FromFlatDataAndDimensions(v, k, k)
	}
	x, y := mk(), mk()
	_ = exec.MustCall(x, y)[0].Value() // compile and warm up
	b.ResetTimer()
	t0 := time.Now()
	for i := 0; i < b.N; i++ {
		_ = exec.MustCall(x, y)[0].Value()
	}
	b.ReportMetric(float64(b.N)*2*k*k*k/time.Since(t0).Seconds()/1e9, "GFLOP/s")
}
