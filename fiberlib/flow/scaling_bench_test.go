package flow

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/fiberbnn/fiberbnn/internal/procmem"
)

// BenchmarkScalingFlowSample measures drawing 100 parameter vectors θ [100, P] from a flow (default
// architecture) on a rank-32 subspace, as P grows from 1e3 to 1e6 (P = H² + 11H + 1 for the scaling MLP
// 8 → H → H → 1 of the other scaling benchmarks; FIBERBNN_SCALING_H overrides H = 27, 95, 312, 995). The
// subspace is fitted to 64 random vectors; the flow is trained for 100 steps (neither is timed). Metrics:
// s/op, params, peak-RSS-MiB.
//
//	go test -run '^$' -bench 'ScalingFlowSample' -benchtime 1x ./fiberlib/flow/
func BenchmarkScalingFlowSample(b *testing.B) {
	hs, err := procmem.EnvInts("FIBERBNN_SCALING_H", []int{27, 95, 312, 995})
	if err != nil {
		b.Fatal(err)
	}
	for _, h := range hs {
		p := h*h + 11*h + 1
		b.Run(fmt.Sprintf("H%d", h), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(31, uint64(h)))
			center := randNormal(rng, p, 0.3)
			samples := make([]float32, 64*p)
			for i := range samples {
				samples[i] = center[i%p] + float32(0.05*rng.NormFloat64())
			}
			f, err := Fit(center, samples, SubspaceOptions{Rank: 32}, Options{Seed: 1}, TrainOptions{MaxSteps: 100, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := f.Sample(100, 1); err != nil { // compile
				b.Fatal(err)
			}
			b.ResetTimer()
			t0 := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := f.Sample(100, uint64(i+2)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(time.Since(t0).Seconds()/float64(b.N), "s/op")
			b.ReportMetric(float64(p), "params")
			b.ReportMetric(procmem.PeakRSSMiB(), "peak-RSS-MiB")
			b.ReportMetric(0, "ns/op")
		})
	}
}
