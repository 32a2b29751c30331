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

// A deep ensemble's predictive on the 1-D gap toy (5 members, 3000 full-batch Adam steps at 0.01) is wider in
// the gap than at the data for the configurations to pick: the tanh network of the method notes (α = 1,
// σ = 0.1) with members started from the prior and trained with the cosine decay (asserted ratio > 3), and
// the ReLU network with the defaults (> 1.5). The documented failure: tanh members started from the
// network's initialisation and trained at the constant rate (train's default) agree in the gap too: epistemic
// sd there 0.011 (asserted < 0.05), a twentieth of the converged HMC reference's 0.25.
func TestGapToyInBetweenUncertainty(t *testing.T) {
	ds, err := data.GapRegression(data.GapOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	grid, _ := data.Grid1D(-2, 2, 81)
	for _, c := range []struct {
		name         string
		act          nets.Activation
		schedule     train.Schedule
		prior        bool
		above, below float64 // bounds on gap/data
		maxGap       float64 // bound on the gap's epistemic std
	}{
		{"tanh, prior init, cosine", nets.Tanh, train.CosineLR, true, 3, math.Inf(1), math.Inf(1)},
		{"relu, defaults", nets.ReLU, train.ConstantLR, false, 1.5, math.Inf(1), math.Inf(1)},
		// The failure: from the default initialisation the members agree in the gap as well (their spread
		// there is a twentieth of the converged HMC reference's 0.25, fiberlib/hmc's gap test), whatever the
		// ratio of two tiny numbers says.
		{"tanh, defaults (failure)", nets.Tanh, train.ConstantLR, false, 0, math.Inf(1), 0.05},
	} {
		net := posterior.MustNewNetwork(nets.MLP(1, []int{50}, 1, c.act), ds, posterior.NetworkOptions{Sigma: 0.1, PriorPrecision: 1})
		e, err := ensemble.Fit(net, ensemble.Options{InitFromPrior: c.prior,
			Train: train.Options{LearningRate: 0.01, Epochs: 3000, BatchSize: ds.N, Seed: 1, Schedule: c.schedule}})
		if err != nil {
			t.Fatal(err)
		}
		pred, err := laplace.SetPredictive(net, e.Set, grid)
		if err != nil {
			t.Fatal(err)
		}
		m := pred.Regression.Moments()
		gap, at := data.GapSpread(grid, sqrtAll(m.Epistemic))
		t.Logf("%-26s: epistemic std gap %.4f, data %.4f, ratio %.2f; member losses %v", c.name, gap, at, gap/at, e.Set.Loss)
		if r := gap / at; !(r > c.above && r < c.below) {
			t.Errorf("%s: gap/data epistemic std %.4f/%.4f = %.2f, want in (%v, %v)", c.name, gap, at, r, c.above, c.below)
		}
		if !(gap < c.maxGap) {
			t.Errorf("%s: epistemic std in the gap %.4f, want < %v", c.name, gap, c.maxGap)
		}
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

// PriorDraws are N(0, α⁻¹ I) with rows independent of m; InitFromPrior rejects Train.Init and a flat prior,
// and its members start from those draws (one Adam step of 1e-6 moves them by at most ~1e-6 per value).
func TestInitFromPrior(t *testing.T) {
	const alpha = 4.0
	d := ensemble.PriorDraws(20, 500, alpha, 7)
	var s, s2 float64
	for _, v := range d {
		s += float64(v)
		s2 += float64(v) * float64(v)
	}
	n := float64(len(d))
	if m, v := s/n, s2/n-(s/n)*(s/n); math.Abs(m) > 4*math.Sqrt(1/alpha/n) || math.Abs(v*alpha-1) > 0.03 {
		t.Errorf("prior draws: mean %.4f, variance %.4f; want 0 and 1/α = %.4f", m, v, 1/alpha)
	}
	if d3 := ensemble.PriorDraws(3, 500, alpha, 7); maxDiff(d3, d[:3*500]) != 0 {
		t.Error("the first 3 rows of 20 prior draws differ from 3 prior draws of the same seed")
	}
	ds, _ := data.GapRegression(data.GapOptions{N: 20, Seed: 2})
	net := posterior.MustNewNetwork(nets.MLP(1, []int{8}, 1, nets.Tanh), ds, posterior.NetworkOptions{Sigma: 0.1, PriorPrecision: alpha})
	p := net.NumParams()
	e, err := ensemble.Fit(net, ensemble.Options{Members: 3, InitFromPrior: true,
		Train: train.Options{LearningRate: 1e-6, Epochs: 1, BatchSize: ds.N, Seed: 7}})
	if err != nil {
		t.Fatal(err)
	}
	if dd := maxDiff(e.Set.Theta, ensemble.PriorDraws(3, p, alpha, 7)); dd > 1e-5 {
		t.Errorf("members moved %.3g from their prior draws after one step of 1e-6", dd)
	}
	if _, err := ensemble.Fit(net, ensemble.Options{Members: 3, InitFromPrior: true,
		Train: train.Options{Init: make([]float32, p), Epochs: 1}}); err == nil || !strings.Contains(err.Error(), "InitFromPrior") {
		t.Errorf("InitFromPrior with Train.Init: error %v", err)
	}
	flat := posterior.MustNewNetwork(nets.MLP(1, []int{8}, 1, nets.Tanh), ds, posterior.NetworkOptions{Sigma: 0.1, FlatPrior: true})
	if _, err := ensemble.Fit(flat, ensemble.Options{Members: 3, InitFromPrior: true, Train: train.Options{Epochs: 1}}); err == nil ||
		!strings.Contains(err.Error(), "proper prior") {
		t.Errorf("InitFromPrior with a flat prior: error %v", err)
	}
}

// sqrtAll returns the element-wise square roots (variances to standard deviations).
func sqrtAll(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Sqrt(x)
	}
	return out
}
