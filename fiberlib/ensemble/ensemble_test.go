package ensemble_test

import (
	"math"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/ensemble"
	"github.com/fiberbnn/fiberbnn/fiberlib/laplace"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/fiberbnn/fiberbnn/fiberlib/train"
)

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// The members of an ensemble differ, and each equals a MAP trained alone from the same start: with full
// batches, every member i equals train.MAP from InitBatch row i; with minibatches, member 0 equals
// train.MAP with the same seed (the members' shuffling streams are (Seed, 2³² + i), so member 0's is the
// one a single run uses). The set holds the members, their per-datum losses and fitted σ.
func TestMembersAreIndependentMAPs(t *testing.T) {
	ds, err := data.GapRegression(data.GapOptions{N: 40, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	spec := nets.MLP(1, []int{12}, 1, nets.Tanh)
	net := posterior.MustNewNetwork(spec, ds, posterior.NetworkOptions{Sigma: 0.1})
	const m = 3
	full := train.Options{LearningRate: 0.01, Epochs: 300, BatchSize: ds.N, Seed: 7, FitNoise: true}
	e, err := ensemble.Fit(net, ensemble.Options{Members: m, Train: full})
	if err != nil {
		t.Fatal(err)
	}
	set := e.Set
	if set.Method != "ensemble" || set.N != m || set.P != spec.NumParams() || len(set.Diagnostics["sigma"]) != m {
		t.Fatalf("set: method %q N=%d P=%d diagnostics %v", set.Method, set.N, set.P, set.Diagnostics)
	}
	starts, _ := spec.InitBatch(m, 7)
	p := set.P
	ev, _ := e.Result.Network.Evaluator()
	u, _ := ev.Potential(set.Theta)
	for i := 0; i < m; i++ {
		for j := 0; j < i; j++ {
			if d := maxDiff(set.Row(i), set.Row(j)); d < 1e-2 {
				t.Errorf("members %d and %d nearly equal (max |Δθ| = %g)", i, j, d)
			}
		}
		alone := full
		alone.Init = starts[i*p : (i+1)*p]
		r, err := train.MAP(net, alone)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(set.Row(i), r.Theta); d > 1e-4 {
			t.Errorf("member %d differs from its MAP trained alone by %g", i, d)
		}
		if s := float64(set.Diagnostics["sigma"][i]); math.Abs(s-r.Sigma[0]) > 1e-4*r.Sigma[0] {
			t.Errorf("member %d: σ %g, alone %g", i, s, r.Sigma[0])
		}
		if want := u[i] / float32(ds.N); math.Abs(float64(set.Loss[i]-want)) > 1e-6*math.Abs(float64(want)) {
			t.Errorf("member %d: loss %g, U/n %g", i, set.Loss[i], want)
		}
	}
	mini := train.Options{LearningRate: 0.01, Epochs: 30, BatchSize: 8, Seed: 11}
	em, err := ensemble.Fit(net, ensemble.Options{Members: m, Train: mini})
	if err != nil {
		t.Fatal(err)
	}
	r, err := train.MAP(net, mini)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(em.Set.Row(0), r.Theta); d > 1e-4 {
		t.Errorf("minibatch member 0 differs from train.MAP with the same seed by %g", d)
	}
	if d := maxDiff(em.Set.Row(0), em.Set.Row(1)); d < 1e-2 {
		t.Errorf("minibatch members 0 and 1 nearly equal (%g)", d)
	}
}

// A deep ensemble's predictive on the 1-D gap toy is wider in the gap than at the data, for the 1×50 ReLU
// network. With the tanh network of the method notes (α = 1, σ = 0.1) the members agree in the gap as well
// as at the data: measured gap/data epistemic std 0.99 (5 members) and 1.24 (10 members, full batch),
// 0.65 (10 members, batch 16), against 41 (full batch) and 4.7 (batch 16) for ReLU with 10 members;
// reported, not asserted.
func TestGapToyInBetweenUncertainty(t *testing.T) {
	ds, err := data.GapRegression(data.GapOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	net := posterior.MustNewNetwork(nets.MLP(1, []int{50}, 1, nets.ReLU), ds, posterior.NetworkOptions{Sigma: 0.1, PriorPrecision: 1})
	e, err := ensemble.Fit(net, ensemble.Options{Train: train.Options{LearningRate: 0.01, Epochs: 3000, BatchSize: ds.N, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	grid, _ := data.Grid1D(-2, 2, 81)
	pred, err := laplace.SetPredictive(net, e.Set, grid)
	if err != nil {
		t.Fatal(err)
	}
	m := pred.Regression.Moments()
	var gap, at float64
	var ng, nd int
	for i, x := range grid {
		switch ax := math.Abs(float64(x)); {
		case ax < 0.4:
			gap += math.Sqrt(m.Epistemic[i])
			ng++
		case ax > 0.8 && ax < 1.8:
			at += math.Sqrt(m.Epistemic[i])
			nd++
		}
	}
	gap, at = gap/float64(ng), at/float64(nd)
	t.Logf("ensemble of %d: epistemic std gap %.4f, data %.4f, ratio %.2f; member losses %v", e.Set.N, gap, at, gap/at, e.Set.Loss)
	if !(gap > 1.5*at) {
		t.Errorf("epistemic std in the gap %.4f is not 1.5× that at the data %.4f", gap, at)
	}
}

// Invalid options are rejected with a message naming them.
func TestInvalidOptions(t *testing.T) {
	ds, _ := data.GapRegression(data.GapOptions{N: 10})
	net := posterior.MustNewNetwork(nets.MLP(1, []int{3}, 1, nets.Tanh), ds, posterior.NetworkOptions{})
	for _, c := range []struct {
		opts ensemble.Options
		want string
	}{
		{ensemble.Options{Members: -1}, "Members"},
		{ensemble.Options{Members: 3, Train: train.Options{Members: 2}}, "Train.Members"},
		{ensemble.Options{Members: 2, Train: train.Options{Init: make([]float32, net.NumParams())}}, "Init"},
		{ensemble.Options{Train: train.Options{LearningRate: -1}}, "LearningRate"},
	} {
		if _, err := ensemble.Fit(net, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one mentioning %q", c.opts, err, c.want)
		}
	}
}
