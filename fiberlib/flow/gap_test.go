package flow

import (
	"context"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/fiber"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/fiberbnn/fiberbnn/fiberlib/predict"
	"github.com/fiberbnn/fiberbnn/fiberlib/train"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// gapToy is the 1-D gap toy of the method notes (80 points in [−2,−0.6] ∪ [0.6,2], y = sin 2x + N(0, 0.1²),
// 1×50 tanh MLP, σ = 0.1, α = 1), its MAP (full-batch Adam, 20000 steps, cosine decay from 0.01: the fiber
// package's set-up) and 500 held-out points.
type gapToy struct {
	net  *posterior.Network
	mapT []float32
	test *data.Dataset
}

func newGapToy(t testing.TB) *gapToy {
	ds, err := data.GapRegression(data.GapOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	test, err := data.GapRegression(data.GapOptions{Seed: 1001, N: 500})
	if err != nil {
		t.Fatal(err)
	}
	net, err := posterior.NewNetwork(nets.MLP(1, []int{50}, 1, nets.Tanh), ds, posterior.NetworkOptions{Sigma: 0.1, PriorPrecision: 1})
	if err != nil {
		t.Fatal(err)
	}
	res, err := train.MAP(net, train.Options{Epochs: 20000, BatchSize: ds.N, LearningRate: 0.01,
		Schedule: train.CosineLR, Seed: 1, Backend: backend.MustNew()})
	if err != nil {
		t.Fatal(err)
	}
	return &gapToy{net: net, mapT: res.Theta, test: test}
}

// perDatumLoss returns ℓ(θ) = U(θ)/n [S] for thetas [S, P] (the walk's loss).
func (g *gapToy) perDatumLoss(t testing.TB, thetas []float32) []float64 {
	p := g.net.NumParams()
	s := len(thetas) / p
	exec := MustNewExec(backend.MustNew(), func(gr *Graph, in []*Node) []*Node {
		return []*Node{DivScalar(g.net.Potential(in[0], in[1:]), float64(g.net.NumData()))}
	})
	args := []any{tensors.FromFlatDataAndDimensions(thetas, s, p)}
	for _, d := range g.net.Data() {
		args = append(args, d)
	}
	return toF64(flat32(exec.MustCall(args...)[0]))
}

// heldOutNLL is the mean held-out NLL per point of the Bayesian model average over thetas [S, P].
func (g *gapToy) heldOutNLL(t testing.TB, thetas []float32) float64 {
	s := len(thetas) / g.net.NumParams()
	out, err := g.net.Predict(thetas, g.test.X)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := predict.NewRegression(out.Values, []float32{float32(g.net.Sigma)}, s, g.test.N)
	if err != nil {
		t.Fatal(err)
	}
	nll, err := reg.NLL(g.test.Y)
	if err != nil {
		t.Fatal(err)
	}
	m := 0.0
	for _, v := range nll {
		m += v / float64(len(nll))
	}
	return m
}

// A flow fitted to fiber-walk samples on the gap toy reproduces them: the training-loss distribution of 500
// flow samples matches that of 500 walk samples (two-sample KS p > 0.01), and the held-out predictive NLL of
// 100 flow samples is within 5 % of that of 100 walk samples. The flow's draws are moved onto the walk's
// loss levels (SampleOnLevels). Status (2026-11-26): the loss criterion passes (KS D 0.042, p 0.76), the
// NLL criterion does not (flow −0.55 against the walk's −0.83 and the MAP's −0.78): the flow's directions
// are not the walk's fiber directions (see the package report).
func TestFlowMatchesWalkOnGapToy(t *testing.T) {
	if os.Getenv("FIBERBNN_INTEGRATION") == "" {
		t.Skip("integration test (MAP training, a 4000-step walk of 128 particles, a flow fit: minutes on 2 cores); set FIBERBNN_INTEGRATION=1")
	}
	g := newGapToy(t)
	walk, err := fiber.Walk(context.Background(), backend.MustNew(), g.net, g.mapT,
		fiber.Options{Particles: 128, Seed: 1, KeepEvery: 400})
	if err != nil {
		t.Fatal(err)
	}
	ws := walk.Samples()
	nw := walk.NumSamples()
	if nw < 500 {
		t.Fatalf("the walk kept %d samples, want ≥ 500", nw)
	}
	set, err := walk.ToSamples()
	if err != nil {
		t.Fatal(err)
	}
	// Our choices, measured on this toy (see the report in the package doc of SampleOnLevels): the full rank
	// (projecting the walk's own samples onto the 99 % subspace raises their loss from 1.86 to 33 per
	// datum), affine couplings (a third of the mixed flow's fit time, same result here), plain maximum
	// likelihood (FIBERBNN_FLOW_LAMBDA > 0 calibrates λ to the walk's mean level instead). The criteria are
	// asserted on plain flow draws (one forward pass each), as the issue asks. Draws moved along their rays
	// onto the walk's loss levels (SampleOnLevels) are only logged: their loss distribution matches the walk's
	// by construction, so a KS test on them could not fail and proves nothing.
	var to TrainOptions
	if v, err := strconv.ParseFloat(os.Getenv("FIBERBNN_FLOW_LAMBDA"), 64); err == nil && v > 0 {
		to = TrainOptions{Target: g.net, Lambda: v, TargetLevel: mean(toF64(set.Loss)), PotentialSamples: 64}
	}
	to.Seed, to.MaxSteps = 3, 1500
	f, err := FitSamples(set, SubspaceOptions{VarianceThreshold: 1}, Options{Coupling: Affine, Seed: 2}, to)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(f)
	d, err := f.Sample(500, 4)
	if err != nil {
		t.Fatal(err)
	}
	moved, err := f.SampleOnLevels(g.net, 500, 4, LevelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := g.net.NumParams()
	// 500 walk samples spread over the kept steps: every k-th row.
	pick := func(x []float32, n, from int) []float32 {
		out := make([]float32, 0, n*p)
		for i := 0; i < n; i++ {
			row := i * from / n
			out = append(out, x[row*p:(row+1)*p]...)
		}
		return out
	}
	walk500 := pick(ws, 500, nw)
	lw := g.perDatumLoss(t, walk500)
	lf := g.perDatumLoss(t, d.Theta)
	dKS, pKS := ksTwoSample(lw, lf)
	mw, mf := mean(lw), mean(lf)
	t.Logf("per-datum training loss: walk mean %.4f, flow mean %.4f (MAP %.4f); KS D = %.3f, p = %.3g", mw, mf, walk.LossMAP, dKS, pKS)
	if pKS <= 0.01 {
		t.Errorf("training-loss distributions differ: KS p = %.3g ≤ 0.01", pKS)
	}
	lm := g.perDatumLoss(t, moved.Theta)
	dM, pM := ksTwoSample(lw, lm)
	t.Logf("draws moved onto the walk's levels (not asserted, matched by construction): loss mean %.4f, KS D = %.3f, p = %.3g; held-out NLL %.4f",
		mean(lm), dM, pM, g.heldOutNLL(t, moved.Theta[:100*p]))
	nllW := g.heldOutNLL(t, pick(ws, 100, nw))
	nllF := g.heldOutNLL(t, d.Theta[:100*p])
	nllMAP := g.heldOutNLL(t, g.mapT)
	t.Logf("held-out NLL per point: walk %.4f, flow %.4f, MAP %.4f", nllW, nllF, nllMAP)
	if math.Abs(nllF-nllW) > 0.05*math.Abs(nllW) {
		t.Errorf("flow's held-out NLL %.4f is not within 5%% of the walk's %.4f", nllF, nllW)
	}
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
