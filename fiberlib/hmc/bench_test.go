package hmc

import (
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// gapToy is the 1-D regression toy with a gap in the inputs: 80 points in [−2, −0.6] ∪ [0.6, 2],
// y = sin 2x + N(0, 0.1²).
func gapToy(seed uint64) *data.Dataset {
	r := rand.New(rand.NewPCG(seed, 5))
	ds := &data.Dataset{Name: "gap-toy", Task: data.Regression, N: 80, D: 1, T: 1}
	for i := range 80 {
		x := 0.6 + 1.4*r.Float64()
		if i%2 == 0 {
			x = -x
		}
		ds.X = append(ds.X, float32(x))
		ds.Y = append(ds.Y, float32(math.Sin(2*x)+0.1*r.NormFloat64()))
	}
	return ds
}

// BenchmarkMLP50 measures HMC on the posterior of a 1×50 tanh MLP (P = 151) on the 80-point gap toy, with
// C = 8 chains and L = 16 leapfrog steps per transition, on XLA CPU (100 transitions per executed call, a
// While loop) and on the pure-Go backend (10 transitions per call, unrolled; the default). One benchmark iteration is one
// executed call. Metrics: transitions/s (each moves all chains), draws/s (transitions × chains),
// grad-evals/s (per-chain gradient evaluations, e.g. 8 × 16 per transition) and cpu-ms/transition (process
// CPU time, all threads: a figure that holds up better than wall time on a shared machine).
//
// The "reference" case is the gap-toy reference of the tests and notebook 04: 16 chains, jittered
// trajectories of up to 256 steps (128.5 on average), 10 transitions per call; its draws/s is the
// per-sample cost of the reference (one draw per chain and transition).
//
//	go test -run '^$' -bench MLP50 -benchtime 20x ./fiberlib/hmc/
func BenchmarkMLP50(b *testing.B) {
	configs := []struct {
		name, config  string
		perCall       int
		chains, steps int
		jitter        bool
	}{
		{"xla", backend.Chosen().Config, 100, 8, 16, false},
		{"go", "go", 10, 8, 16, false},
		{"reference", backend.Chosen().Config, 10, 16, 256, true},
	}
	for _, c := range configs {
		b.Run(c.name, func(b *testing.B) {
			chains, steps := c.chains, c.steps
			if c.name != "go" && backend.Chosen().Kind == "go" {
				b.Skip("no XLA plugin")
			}
			be, err := backend.NewWithConfig(c.config)
			if err != nil {
				b.Fatal(err)
			}
			net, err := posterior.NewNetwork(nets.MLP(1, []int{50}, 1, nets.Tanh), gapToy(1),
				posterior.NetworkOptions{Sigma: 0.1, PriorPrecision: 1})
			if err != nil {
				b.Fatal(err)
			}
			o := DefaultOptions()
			o.NumSteps, o.JitterSteps, o.StepSize, o.TransitionsPerCall, o.Seed = steps, c.jitter, 1e-3, c.perCall, 1
			s, err := NewWithBackend(be, net, o)
			if err != nil {
				b.Fatal(err)
			}
			init, _ := InitAround(make([]float32, net.NumParams()), chains, 0.3, 1)
			st, err := s.Init(init)
			if err != nil {
				b.Fatal(err)
			}
			if st, _, err = s.Run(st, c.perCall); err != nil { // compile
				b.Fatal(err)
			}
			cpu0 := cpuTime()
			b.ResetTimer()
			var gradEvals int64
			for range b.N {
				var tr *Trace
				if st, tr, err = s.Run(st, c.perCall); err != nil {
					b.Fatal(err)
				}
				gradEvals += tr.GradEvals()
			}
			sec := b.Elapsed().Seconds()
			n := float64(b.N * c.perCall)
			b.ReportMetric((cpuTime()-cpu0).Seconds()*1e3/n, "cpu-ms/transition")
			b.ReportMetric(n/sec, "transitions/s")
			b.ReportMetric(n*float64(chains)/sec, "draws/s")
			b.ReportMetric(float64(gradEvals)/sec, "grad-evals/s")
		})
	}
}

// cpuTime is the CPU time (user + system, all threads) this process has used.
func cpuTime() time.Duration {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}
