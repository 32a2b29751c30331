package fiber

import (
	"fmt"
	"testing"
	"time"

	"github.com/fiberbnn/fiberbnn/internal/procmem"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
)

// Scaling of the walk step with the number of parameters P and the number of particles N (issue #8, item 5;
// scripts/bench-peers.sh scaling, cmd/fiberpeers plots it). The network is the tanh MLP 8 → H → H → 1 on
// n = 256 random examples (P = H² + 11H + 1: H = 27, 95, 312, 995 give P ≈ 1e3, 1e4, 1e5, 1e6), the walk the
// one of BenchmarkPeerWalk (engine mode, 2 steps per call).
//
//   - P/H<h>/N16: P from 1e3 to 1e6 at N = 16;
//   - N/H95/N<n>: N from 1 to 256 at P ≈ 1e4.
//
// Metrics: s/step (one step of all N particles), particle-steps/s, GFLOP/s, params, state-MiB (the walk's
// [N, P] float32 arrays that live across steps: θ, previous θ and the drifts, 3·N·P·4 bytes; a step's
// temporaries, gradient and move, add about as much again) and peak-RSS-MiB (the process's high-water mark
// after the case: monotone, so meaningful for growing sizes only).
//
//	go test -run '^$' -bench 'ScalingWalk' -benchtime 1x ./fiberlib/fiber/
func BenchmarkScalingWalk(b *testing.B) {
	bk, err := backend.New()
	if err != nil {
		b.Fatal(err)
	}
	const spc, n = 2, 256
	type sc struct {
		label string
		h, N  int
	}
	var cases []sc
	for _, h := range scalingSizes(b, "FIBERBNN_SCALING_H", []int{27, 95, 312, 995}) {
		cases = append(cases, sc{fmt.Sprintf("P/H%d/N16", h), h, 16})
	}
	for _, N := range scalingSizes(b, "FIBERBNN_SCALING_N", []int{1, 4, 16, 64, 256}) {
		cases = append(cases, sc{fmt.Sprintf("N/H95/N%d", N), 95, N})
	}
	for _, c := range cases {
		pc := peerCase{Hidden: []int{c.h, c.h}, NumData: n, Particles: c.N, SPC: []int{spc}}
		b.Run(c.label, func(b *testing.B) {
			net, theta0 := peerProblem(b, pc)
			w, err := NewWalker(bk, net, theta0, peerOptions(pc, net.NumParams(), spc))
			if err != nil {
				b.Fatal(err)
			}
			run := peerEngine(b, bk, w, spc, false)
			run(1)
			b.ResetTimer()
			t0 := time.Now()
			run(b.N)
			el := time.Since(t0).Seconds()
			steps := float64(b.N * spc)
			p := float64(net.NumParams())
			b.ReportMetric(el/steps, "s/step")
			b.ReportMetric(steps*float64(c.N)/el, "particle-steps/s")
			b.ReportMetric(steps*float64(c.N)*peerFlops(pc)/el/1e9, "GFLOP/s")
			b.ReportMetric(p, "params")
			b.ReportMetric(3*float64(c.N)*p*4/(1<<20), "state-MiB")
			b.ReportMetric(procmem.PeakRSSMiB(), "peak-RSS-MiB")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// scalingSizes reads a list of sizes from the environment variable name, or returns def.
func scalingSizes(b *testing.B, name string, def []int) []int {
	v, err := procmem.EnvInts(name, def)
	if err != nil {
		b.Fatal(err)
	}
	return v
}
