package train_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/fiberbnn/fiberbnn/fiberlib/train"
	"github.com/gomlx/compute"
)

// BenchmarkMAPBostonSized measures MAP training throughput of a 1×50 tanh MLP on a Boston-sized regression
// problem (455 training rows, 13 features; synthetic linear data), Adam, batch 32 (14 steps per epoch),
// 40 epochs per run (the UCI protocol's count), on XLA CPU and on the pure-Go backend, for 1 member and
// for an ensemble of 10 members in one computation. Compilation happens before the timer starts.
// Reported: examples/s (member-examples processed per second), µs/step (one optimiser step of all
// members), ms/run (one 40-epoch training).
//
//	go test -run XXX -bench MAPBostonSized -benchtime 5x ./fiberlib/train/
func BenchmarkMAPBostonSized(b *testing.B) {
	ds := linearData(455, 13, 0.5, 1)
	backends := map[string]string{"go": "go"}
	if c := backend.Choose(); strings.HasPrefix(c.Config, "xla") {
		backends["xla"] = c.Config
	}
	for _, name := range []string{"xla", "go"} {
		cfg, ok := backends[name]
		if !ok {
			continue
		}
		var be compute.Backend
		// A network's data tensors live on one backend: one network per backend.
		net := posterior.MustNewNetwork(nets.MLP(13, []int{50}, 1, nets.Tanh), ds, posterior.NetworkOptions{Sigma: 0.5})
		for _, members := range []int{1, 10} {
			b.Run(fmt.Sprintf("%s/members=%d", name, members), func(b *testing.B) {
				if be == nil {
					var err error
					if be, err = backend.NewWithConfig(cfg); err != nil {
						b.Skip(err)
					}
				}
				const epochs = 40
				tr, err := train.NewTrainer(net, train.Options{Epochs: epochs, BatchSize: 32, Members: members,
					EvalEvery: epochs, Backend: be})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := tr.Run(0); err != nil { // compile
					b.Fatal(err)
				}
				b.ResetTimer()
				start := time.Now()
				steps := 0
				for i := 0; i < b.N; i++ {
					res, err := tr.Run(uint64(i + 1))
					if err != nil {
						b.Fatal(err)
					}
					steps += res.Steps
				}
				el := time.Since(start).Seconds()
				b.ReportMetric(float64(steps*32*members)/el, "examples/s")
				b.ReportMetric(el/float64(steps)*1e6, "µs/step")
				b.ReportMetric(el/float64(b.N)*1e3, "ms/run")
			})
		}
	}
}
