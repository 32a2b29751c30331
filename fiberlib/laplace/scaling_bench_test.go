package laplace_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/fiberbnn/fiberbnn/internal/procmem"

	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/laplace"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// BenchmarkScalingLaplace measures laplace.Fit (α kept) as P grows from 1e3 to 1e6: the tanh MLP
// 8 → H → H → 1 (H = 27, 95, 312, 995; FIBERBNN_SCALING_H overrides) on n = 256 random examples, at its
// seeded initial θ (the cost does not depend on θ), for the all-weights Diag and Kron structures and the
// last-layer Full one. Metrics: s/op, params, peak-RSS-MiB (process high-water mark after the case).
// The all-weights Full structure is not run: its P×P matrix is refused above MaxFullParams (3000), the
// point where memory (P² float64 and an O(P³) eigendecomposition) becomes the limit.
//
//	go test -run '^$' -bench 'ScalingLaplace' -benchtime 1x ./fiberlib/laplace/
func BenchmarkScalingLaplace(b *testing.B) {
	hs, err := procmem.EnvInts("FIBERBNN_SCALING_H", []int{27, 95, 312, 995})
	if err != nil {
		b.Fatal(err)
	}
	const n = 256
	rng := rand.New(rand.NewPCG(21, 22))
	ds := &data.Dataset{Name: "scaling", Task: data.Regression, N: n, D: 8, T: 1,
		X: make([]float32, n*8), Y: make([]float32, n)}
	for i := range ds.X {
		ds.X[i] = float32(rng.NormFloat64())
	}
	for i := range ds.Y {
		ds.Y[i] = float32(rng.NormFloat64())
	}
	for _, h := range hs {
		spec := nets.MLP(8, []int{h, h}, 1, nets.Tanh)
		net, err := posterior.NewNetwork(spec, ds, posterior.NetworkOptions{Sigma: 0.5, PriorPrecision: 1})
		if err != nil {
			b.Fatal(err)
		}
		theta := spec.MustInit(1)
		for _, v := range []struct {
			name string
			opts laplace.Options
		}{
			{"all/diag", laplace.Options{SubsetOfWeights: laplace.AllWeights, HessianStructure: laplace.Diag}},
			{"all/kron", laplace.Options{SubsetOfWeights: laplace.AllWeights, HessianStructure: laplace.Kron}},
			{"last_layer/full", laplace.Options{SubsetOfWeights: laplace.LastLayer, HessianStructure: laplace.Full}},
		} {
			opts := v.opts
			opts.Tuning = laplace.TuneNone
			b.Run(fmt.Sprintf("%s/H%d", v.name, h), func(b *testing.B) {
				if _, err := laplace.Fit(net, theta, opts); err != nil { // compile
					b.Fatal(err)
				}
				b.ResetTimer()
				t0 := time.Now()
				for i := 0; i < b.N; i++ {
					if _, err := laplace.Fit(net, theta, opts); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(time.Since(t0).Seconds()/float64(b.N), "s/op")
				b.ReportMetric(float64(net.NumParams()), "params")
				b.ReportMetric(procmem.PeakRSSMiB(), "peak-RSS-MiB")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
