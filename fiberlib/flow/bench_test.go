package flow

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/fiber"
	"github.com/fiberbnn/fiberbnn/fiberlib/internal/gloop"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Cost of one more posterior sample: the flow (one forward pass) against the fiber walk (T gradient
// steps of one particle). BenchmarkWalk runs the real walk (fiber.Walk, default settings: 64 particles,
// T = 4000 steps) on the gap toy (1×50 tanh MLP, P = 151, 80 points, full batch) and reports its cost per
// sample; BenchmarkWalkStep times the bare update θ ← θ + ε·d − η·∇U(θ) of 64 particles, 100 steps per
// compiled call, as a lower bound (walk-ns/sample = 2000 steps of it).
//
//	go test -run XXX -bench . -benchtime 10x ./fiberlib/flow/    (BenchmarkWalk: -benchtime 1x)

const (
	benchParticles = 64
	benchWalkSteps = 2000 // T of the walk (method.md's gap-toy runs)
	benchCallSteps = 100
)

func gapNetwork(b *testing.B) *posterior.Network {
	ds, err := data.GapRegression(data.GapOptions{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	net, err := posterior.NewNetwork(nets.MLP(1, []int{50}, 1, nets.Tanh), ds,
		posterior.NetworkOptions{Sigma: 0.1, PriorPrecision: 1})
	if err != nil {
		b.Fatal(err)
	}
	return net
}

// BenchmarkWalk measures the fiber walk on the gap toy, per sample (one final position per particle),
// compilation included.
func BenchmarkWalk(b *testing.B) {
	g := newGapToy(b)
	be := backend.MustNew()
	opts := fiber.Options{Particles: benchParticles, Seed: 1}
	b.ResetTimer() // each walk compiles its own executables: included, as a user pays it for every walk
	for b.Loop() {
		if _, err := fiber.Walk(context.Background(), be, g.net, g.mapT, opts); err != nil {
			b.Fatal(err)
		}
	}
	perSample := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / benchParticles
	b.ReportMetric(perSample, "ns/sample")
	b.ReportMetric(1e9/perSample, "samples/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkWalkStep measures one walk step for one particle (reported as ns/particle-step) and the
// implied cost of one walk sample (walk-ns/sample = T·ns/particle-step).
func BenchmarkWalkStep(b *testing.B) {
	be := backend.MustNew()
	net := gapNetwork(b)
	p := net.NumParams()
	useWhile := gloop.UseWhile(be)
	exec := MustNewExec(be, func(g *Graph, in []*Node) []*Node {
		theta, dir, data := in[0], in[1], in[2:]
		consts := append([]*Node{dir}, data...)
		return gloop.Repeat(benchCallSteps, useWhile, consts, []*Node{theta}, func(_ *Node, c, s []*Node) []*Node {
			_, grad := posterior.PotentialAndGrad(net, s[0], c[1:])
			return []*Node{Sub(Add(s[0], MulScalar(c[0], 1e-3)), MulScalar(grad, 1e-3/80))}
		})
	})
	rng := rand.New(rand.NewPCG(1, 1))
	theta := randNormal(rng, benchParticles*p, 0.3)
	dir := randNormal(rng, benchParticles*p, 1/math.Sqrt(float64(p)))
	args := []any{tensors.FromFlatDataAndDimensions(theta, benchParticles, p),
		tensors.FromFlatDataAndDimensions(dir, benchParticles, p)}
	for _, d := range net.Data() {
		args = append(args, d)
	}
	exec.MustCall(args...) // compile
	b.ResetTimer()
	for b.Loop() {
		exec.MustCall(args...)
	}
	perStep := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / (benchCallSteps * benchParticles)
	b.ReportMetric(perStep, "ns/particle-step")
	b.ReportMetric(perStep*benchWalkSteps, "walk-ns/sample")
	b.ReportMetric(0, "ns/op")
}

// benchFlow returns a flow of the default architecture (Mixed, 4 layers, hidden 64×64) with random
// parameters on a rank-r subspace of the gap network's P = 151 parameters.
func benchFlow(b *testing.B, r int) *Flow {
	p := 151
	sd := make([]float64, r)
	for i := range sd {
		sd[i] = 1 / float64(i+1)
	}
	center, samples, _ := lowRankSamples(4*r, p, sd, 0, 7)
	sub, err := FitSubspace(center, samples, SubspaceOptions{Rank: r})
	if err != nil {
		b.Fatal(err)
	}
	coords, _, _ := sub.Encode(samples)
	loc, spread := meanStd(coords, r)
	f, err := New(sub, loc, spread, Options{Seed: 1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	f.Params = f.arch.initParams(0.3)
	return f
}

// BenchmarkFlowSample measures flow sampling, 1000 draws (θ and log q) per call, for subspace ranks 10 and
// 63 (the largest a 64-particle walk allows), and the latency of a single draw (n=1).
func BenchmarkFlowSample(b *testing.B) {
	for _, tc := range []struct{ r, n int }{{10, 1000}, {63, 1000}, {63, 1}} {
		b.Run(fmt.Sprintf("r=%d/n=%d", tc.r, tc.n), func(b *testing.B) {
			f := benchFlow(b, tc.r)
			n := tc.n
			if _, err := f.Sample(n, 1); err != nil { // compile
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := f.Sample(n, 2); err != nil {
					b.Fatal(err)
				}
			}
			perSample := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(n)
			b.ReportMetric(perSample, "ns/sample")
			b.ReportMetric(1e9/perSample, "samples/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkFlowSampleOnLevels measures draws moved onto loss levels (SampleOnLevels: a flow draw plus 40
// root-finding iterations, each one potential evaluation on the full data), 1000 per call, at the full rank
// r = P = 151 that the gap-toy acceptance test uses. The cost does not depend on the levels (a fixed number
// of iterations).
func BenchmarkFlowSampleOnLevels(b *testing.B) {
	net := gapNetwork(b)
	f := benchFlow(b, net.NumParams())
	levels := []float32{1.85, 1.86}
	if _, err := f.SampleOnLevels(net, 1000, 1, LevelOptions{Levels: levels}); err != nil { // compile
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.SampleOnLevels(net, 1000, 2, LevelOptions{Levels: levels}); err != nil {
			b.Fatal(err)
		}
	}
	perSample := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / 1000
	b.ReportMetric(perSample, "ns/sample")
	b.ReportMetric(1e9/perSample, "samples/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkFlowSampleCorrected measures draws moved onto the fiber, 500 per call, at the full rank
// r = P = 151 of the gap-toy acceptance test: "outputs" pins the outputs on the 80 training points only
// (SkipLevels: a flow draw plus 5 damped Gauss–Newton iterations), "levels" is SampleCorrected's default
// with the walk's levels (2 cycles of 3 Gauss–Newton iterations and a level step: one Jacobian and two
// projections, then 2 × 9 bracketing and 30 Illinois loss evaluations). The cost does not depend on where
// the draws start (fixed iteration counts).
func BenchmarkFlowSampleCorrected(b *testing.B) {
	net := gapNetwork(b)
	for _, tc := range []struct {
		name string
		opts CorrectOptions
	}{{"outputs", CorrectOptions{SkipLevels: true}}, {"levels", CorrectOptions{Levels: []float32{1.85, 1.86}}}} {
		b.Run(tc.name, func(b *testing.B) {
			f := benchFlow(b, net.NumParams())
			const n = 500
			if _, _, err := f.SampleCorrected(net, n, 1, tc.opts); err != nil { // compile
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, _, err := f.SampleCorrected(net, n, 2, tc.opts); err != nil {
					b.Fatal(err)
				}
			}
			perSample := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / n
			b.ReportMetric(perSample, "ns/sample")
			b.ReportMetric(1e9/perSample, "samples/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
