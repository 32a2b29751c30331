package hmc

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/internal/gloop"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/fiberbnn/fiberbnn/fiberlib/samples"
	"github.com/gomlx/gomlx/core/tensors"
)

// checkMoments asserts every parameter's mean within tol·sd of the true mean and its standard deviation
// within a relative tol of the true one.
func checkMoments(t *testing.T, r *Result, mean, sd []float64, tol float64) {
	t.Helper()
	var worstMean, worstSD float64
	for i := range mean {
		gm, gs := r.Summary.Mean[i], r.Summary.SD[i]
		worstMean = math.Max(worstMean, math.Abs(gm-mean[i])/sd[i])
		worstSD = math.Max(worstSD, math.Abs(gs/sd[i]-1))
		if math.Abs(gm-mean[i]) > tol*sd[i] {
			t.Errorf("param %d: mean %.5g, want %.5g ± %.2g (%.0f%% of sd %.3g)", i, gm, mean[i], tol*sd[i], 100*tol, sd[i])
		}
		if math.Abs(gs/sd[i]-1) > tol {
			t.Errorf("param %d: sd %.5g, want %.5g ± %.0f%%", i, gs, sd[i], 100*tol)
		}
	}
	t.Logf("largest mean error %.3f sd, largest sd error %.1f%%", worstMean, 100*worstSD)
}

// checkHealth asserts R̂ < 1.01, no divergences after warm-up and a sampling acceptance near the target.
func checkHealth(t *testing.T, r *Result) {
	t.Helper()
	t.Log(r)
	if r.Summary.MaxRHat > 1.01 {
		t.Errorf("max R̂ = %.4f (param %d), want < 1.01", r.Summary.MaxRHat, r.Summary.MaxRHatParam)
	}
	for c := range r.Chains {
		if r.NumDivergent[c] > 0 {
			t.Errorf("chain %d: %d divergent transitions after warm-up, want 0", c, r.NumDivergent[c])
		}
		// Dual averaging drives the acceptance of its iterates to the target; its averaged step size ε̄,
		// used for sampling, is smaller, so the sampling acceptance is at or above the target.
		if a := r.WarmupAcceptRate[c]; math.Abs(a-r.Options.TargetAccept) > 0.07 {
			t.Errorf("chain %d: acceptance %.3f in the last warm-up window, want %.2f ± 0.07", c, a, r.Options.TargetAccept)
		}
		if a := r.AcceptRate[c]; a < r.Options.TargetAccept-0.1 || a > 0.99 {
			t.Errorf("chain %d: acceptance %.3f after warm-up, want in [%.2f, 0.99]", c, a, r.Options.TargetAccept-0.1)
		}
		if e := r.EBFMI[c]; e < 0.5 {
			t.Errorf("chain %d: E-BFMI %.3f on a Gaussian-shaped target, want > 0.5", c, e)
		}
	}
}

func mustSample(t *testing.T, tg posterior.Target, init [][]float32, o Options) *Result {
	t.Helper()
	r, err := Sample(tg, init, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A correlated (ρ = 0.9), badly scaled (sd 10 and 0.1) 2-D Gaussian.
func TestGaussian2DCorrelatedBadlyScaled(t *testing.T) {
	mean, sd, rho := []float64{1, -2}, []float64{10, 0.1}, 0.9
	cov := [][]float64{{sd[0] * sd[0], rho * sd[0] * sd[1]}, {rho * sd[0] * sd[1], sd[1] * sd[1]}}
	o := DefaultOptions()
	o.JitterSteps = true
	o.NumWarmup, o.NumDraws, o.Seed = 1000, 2000, 7
	init, _ := InitAround([]float32{1, -2}, 8, 0.05, 1)
	r := mustSample(t, gaussianFromCov(mean, cov), init, o)
	checkHealth(t, r)
	checkMoments(t, r, mean, sd, 0.05)
	// The adapted inverse mass approximates the marginal variances (within the noise of the windows).
	for c := range r.Chains {
		for i := range 2 {
			if q := float64(r.InverseMass[c][i]) / (sd[i] * sd[i]); q < 0.6 || q > 1.6 {
				t.Errorf("chain %d: inverse mass[%d] = %.4g, want ≈ variance %.4g", c, i, r.InverseMass[c][i], sd[i]*sd[i])
			}
		}
	}
}

// A 10-D Gaussian with standard deviations from 0.01 to 10 and random correlations.
func TestGaussian10D(t *testing.T) {
	const p = 10
	rng := rand.New(rand.NewPCG(10, 10))
	a := make([][]float64, p)
	for i := range a {
		a[i] = make([]float64, p)
		for j := range a[i] {
			a[i][j] = rng.NormFloat64()
		}
	}
	corr := make([][]float64, p)
	for i := range corr {
		corr[i] = make([]float64, p)
		for j := range corr[i] {
			for k := range p {
				corr[i][j] += a[i][k] * a[j][k] / p
			}
			if i == j {
				corr[i][j] += 0.5
			}
		}
	}
	sd, mean := make([]float64, p), make([]float64, p)
	center := make([]float32, p)
	for i := range p {
		sd[i] = 0.01 * math.Pow(1000, float64(i)/(p-1))
		mean[i] = rng.NormFloat64() * sd[i]
		center[i] = float32(mean[i])
	}
	cov := make([][]float64, p)
	for i := range cov {
		cov[i] = make([]float64, p)
		for j := range cov[i] {
			cov[i][j] = corr[i][j] / math.Sqrt(corr[i][i]*corr[j][j]) * sd[i] * sd[j]
		}
	}
	o := DefaultOptions()
	o.JitterSteps = true
	o.NumWarmup, o.NumDraws, o.Seed = 1000, 1500, 3
	init, _ := InitAround(center, 8, 0.005, 2)
	r := mustSample(t, gaussianFromCov(mean, cov), init, o)
	checkHealth(t, r)
	checkMoments(t, r, mean, sd, 0.05)
}

// Bayesian linear regression against its closed-form posterior N(Σ Φᵀy/σ², Σ), Σ = (αI + ΦᵀΦ/σ²)⁻¹, with
// the network posterior of an MLP without hidden layer (θ = [w_1..w_D, b], features Φ = [x, 1]). The data
// go through the loop as constants (a While body cannot capture them).
func TestBayesianLinearRegression(t *testing.T) {
	const n, d = 60, 3
	sigma, alpha := 0.5, 1.0
	rng := rand.New(rand.NewPCG(4, 4))
	wTrue := []float64{1, -0.5, 2, 0.3} // last: bias
	ds := &data.Dataset{Name: "blr", Task: data.Regression, N: n, D: d, T: 1}
	phi := make([][]float64, n)
	for i := range n {
		phi[i] = make([]float64, d+1)
		phi[i][d] = 1
		y := wTrue[d]
		for j := range d {
			phi[i][j] = rng.NormFloat64()
			ds.X = append(ds.X, float32(phi[i][j]))
			y += phi[i][j] * wTrue[j]
		}
		ds.Y = append(ds.Y, float32(y+sigma*rng.NormFloat64()))
	}
	net, err := posterior.NewNetwork(nets.MLP(d, nil, 1, nets.Identity), ds,
		posterior.NetworkOptions{Sigma: sigma, PriorPrecision: alpha})
	if err != nil {
		t.Fatal(err)
	}
	p := d + 1
	prec := make([][]float64, p)
	rhs := make([]float64, p)
	for a := range p {
		prec[a] = make([]float64, p)
		prec[a][a] = alpha
		for i := range n {
			for b := range p {
				prec[a][b] += phi[i][a] * phi[i][b] / (sigma * sigma)
			}
			rhs[a] += phi[i][a] * float64(ds.Y[i]) / (sigma * sigma)
		}
	}
	cov := invert(prec)
	mean, sd := make([]float64, p), make([]float64, p)
	for a := range p {
		for b := range p {
			mean[a] += cov[a][b] * rhs[b]
		}
		sd[a] = math.Sqrt(cov[a][a])
	}
	o := DefaultOptions()
	o.NumSteps = 8
	o.JitterSteps = true
	o.NumWarmup, o.NumDraws, o.Seed = 600, 1500, 11
	init, _ := InitAround(make([]float32, p), 8, 0.5, 3)
	r := mustSample(t, net, init, o)
	checkHealth(t, r)
	checkMoments(t, r, mean, sd, 0.05)

	// Function space: f(x) = φ(x)ᵀθ has mean φᵀμ and variance φᵀΣφ; FunctionSummary must find them, with
	// R̂ < 1.01, at three inputs (the last far from the data).
	xs := [][]float64{{0, 0, 0}, {1, -1, 0.5}, {4, 4, -4}}
	var flat []float32
	for _, x := range xs {
		for _, v := range x {
			flat = append(flat, float32(v))
		}
	}
	fs, err := r.FunctionSummary(net, flat)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range xs {
		f := append(append([]float64(nil), x...), 1)
		var m, v float64
		for a := range p {
			m += f[a] * mean[a]
			for b := range p {
				v += f[a] * cov[a][b] * f[b]
			}
		}
		if sdf := math.Sqrt(v); math.Abs(fs.Mean[i]-m) > 0.05*sdf || math.Abs(fs.SD[i]/sdf-1) > 0.05 {
			t.Errorf("f(x_%d): mean %.4f sd %.4f, exact %.4f and %.4f (want within 5%% of the sd)", i, fs.Mean[i], fs.SD[i], m, sdf)
		}
		if fs.RHat[i] > 1.01 {
			t.Errorf("f(x_%d): R̂ %.4f, want < 1.01", i, fs.RHat[i])
		}
	}
	t.Logf("function space: %v", fs)
}

// Same seed, same draws; another seed, other draws.
func TestSameSeedSameDraws(t *testing.T) {
	tg := newGaussian([]float32{0, 1}, [][]float32{{2, 0.5}, {0.5, 1}})
	o := DefaultOptions()
	o.JitterSteps = true
	o.NumWarmup, o.NumDraws, o.Seed, o.TransitionsPerCall = 100, 50, 5, 40
	init, _ := InitAround([]float32{0, 1}, 3, 0.1, 1)
	s, err := New(tg, o)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Sample(init)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Sample(init)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Draws {
		if a.Draws[i] != b.Draws[i] {
			t.Fatalf("same seed: draw value %d differs: %v vs %v", i, a.Draws[i], b.Draws[i])
		}
	}
	c, err := s.WithSeed(6).Sample(init)
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for i := range a.Draws {
		if a.Draws[i] == c.Draws[i] {
			same++
		}
	}
	if same > len(a.Draws)/10 {
		t.Errorf("seeds 5 and 6 share %d of %d draw values", same, len(a.Draws))
	}
}

// Neal's funnel with a fixed step size far too large for its neck: divergences are flagged, reported with
// chain and iteration, and rejected (the chains stay finite).
func TestDivergencesOnFunnel(t *testing.T) {
	tg := &funnel{k: 9}
	o := DefaultOptions()
	o.AdaptStepSize, o.AdaptMass = false, false
	o.StepSize, o.NumSteps = 1.0, 10
	o.NumWarmup, o.NumDraws, o.Seed = 0, 200, 1
	init, _ := InitAround(make([]float32, 10), 4, 1, 1)
	r := mustSample(t, tg, init, o)
	t.Logf("%v; E-BFMI %.2f", r, r.EBFMI)
	total := 0
	for c, n := range r.NumDivergent {
		total += n
		if n == 0 {
			t.Errorf("chain %d: no divergent transition with ε = 1 on the funnel", c)
		}
	}
	if len(r.Divergences) != total {
		t.Errorf("%d divergences listed, %d counted", len(r.Divergences), total)
	}
	for _, d := range r.Divergences {
		if d.Chain < 0 || d.Chain >= r.Chains || d.Iteration < 0 || d.Iteration >= r.Transitions || d.Warmup {
			t.Fatalf("bad divergence record %+v", d)
		}
	}
	for i, v := range r.Draws {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("draw value %d is %v: a divergent proposal was accepted", i, v)
		}
	}
	// The same funnel with a small step size has (almost) none.
	o.StepSize = 0.05
	r2 := mustSample(t, tg, init, o)
	n2 := 0
	for _, n := range r2.NumDivergent {
		n2 += n
	}
	if n2*10 > total {
		t.Errorf("ε = 0.05: %d divergences, ε = 1: %d; want far fewer with the small step", n2, total)
	}
}

// A start where the potential is NaN is refused, naming the chain.
func TestNaNStartIsAnError(t *testing.T) {
	s, err := New(&logTarget{p: 2}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Init([][]float32{{1, 1}, {0.5, 2}, {1, -1}})
	if err == nil || !strings.Contains(err.Error(), "chain 2") {
		t.Fatalf("Init error = %v, want one naming chain 2", err)
	}
	if _, err := s.Init([][]float32{{1, float32(math.NaN())}}); err == nil || !strings.Contains(err.Error(), "chain 0") {
		t.Errorf("Init with a NaN parameter: error %v", err)
	}
	if _, err := s.Init([][]float32{{1, 1, 1}}); err == nil {
		t.Error("Init accepted 3 parameters for a 2-parameter target")
	}
}

// Step returns blackjax-style Info; every chain's energy is its potential plus a non-negative kinetic
// energy, and the acceptance probability lies in [0, 1].
func TestStepInfo(t *testing.T) {
	tg := newGaussian([]float32{0, 0, 0}, [][]float32{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}})
	o := DefaultOptions()
	o.StepSize, o.NumSteps, o.JitterSteps = 0.3, 5, false
	s, _ := New(tg, o)
	st := s.MustInit([][]float32{{1, 0, 0}, {0, 1, 0}})
	for range 5 {
		var in *Info
		var err error
		st, in, err = s.Step(st)
		if err != nil {
			t.Fatal(err)
		}
		if in.NumSteps != 5 || len(in.AcceptProb) != 2 {
			t.Fatalf("Info %+v: want 5 steps and 2 chains", in)
		}
		pos := st.Positions()
		for c := range 2 {
			var u float64
			for _, x := range pos[c] {
				u += 0.5 * float64(x) * float64(x)
			}
			if math.Abs(u-float64(in.Potential[c])) > 1e-5 || in.Energy[c] < in.Potential[c] ||
				in.AcceptProb[c] < 0 || in.AcceptProb[c] > 1 || math.Abs(float64(in.StepSize[c])-0.3) > 1e-6 {
				t.Errorf("chain %d: Info potential %v (U(pos) = %v), energy %v, accept %v, step %v",
					c, in.Potential[c], u, in.Energy[c], in.AcceptProb[c], in.StepSize[c])
			}
		}
	}
}

// Thinning keeps every Thin-th transition of the very same chain.
func TestThinning(t *testing.T) {
	tg := newGaussian([]float32{0, 0}, [][]float32{{1, 0}, {0, 4}})
	o := DefaultOptions()
	o.AdaptStepSize, o.AdaptMass, o.NumWarmup, o.StepSize, o.NumSteps = false, false, 0, 0.2, 4
	o.JitterSteps = true
	o.NumDraws, o.TransitionsPerCall = 30, 12
	init := [][]float32{{1, 1}, {-1, 0}}
	full := mustSample(t, tg, init, o)
	o.Thin, o.NumDraws = 3, 10
	thin := mustSample(t, tg, init, o)
	for c := range 2 {
		for s := range 10 {
			a, b := thin.Draw(c, s), full.Draw(c, 3*s+2)
			if a[0] != b[0] || a[1] != b[1] {
				t.Fatalf("chain %d thinned draw %d = %v, want transition %d = %v", c, s, a, 3*s+2, b)
			}
		}
	}
}

// The While loop (XLA) and the unrolled loop (pure Go's way) run the same chains: two transitions of up to
// 2 jittered leapfrog steps, one per call, with dual averaging and mass accumulation on. (Kept small: XLA
// compiles the unrolled loop slowly.)
func TestWhileMatchesUnrolled(t *testing.T) {
	b := backend.MustNew()
	if !gloop.UseWhile(b) {
		t.Skip("backend has no While loop with gradients")
	}
	tg := newGaussian([]float32{0, 1}, [][]float32{{2, 0.5}, {0.5, 1}})
	o := DefaultOptions()
	o.NumSteps, o.JitterSteps, o.TransitionsPerCall, o.Seed, o.StepSize = 2, true, 1, 9, 0.4
	var got [2][][]float32
	for i, useWhile := range []bool{true, false} {
		s, _ := NewWithBackend(b, tg, o)
		s.useWhile = useWhile
		st := s.MustInit([][]float32{{0, 0}, {1, 1}})
		st, tr, err := s.run(st, 2, true, true)
		if err != nil {
			t.Fatal(err)
		}
		got[i] = append(st.Positions(), st.StepSizes(), tr.Draws, tensors.MustCopyFlatData[float32](st.t[11]))
	}
	for c := range got[0] {
		for j := range got[0][c] {
			if math.Abs(float64(got[0][c][j]-got[1][c][j])) > 1e-5*(1+math.Abs(float64(got[0][c][j]))) {
				t.Errorf("row %d[%d]: While %v, unrolled %v", c, j, got[0][c][j], got[1][c][j])
			}
		}
	}
}

// The step-size heuristic at the mode of N(0, I_P): one leapfrog step from q = 0 changes the energy by
// ΔH = H₀ − H₁ = −ε⁴ ‖p‖²/8 (exactly), and ‖p‖² ≈ P = 400 (±28), so ΔH > log 0.8 ⇔ ε < (1.785/‖p‖²)^¼ ≈ 0.26
// (0.244 … 0.278 within ±3.5 sd). Doubling from 0.01 stops at the first failing value 0.32; halving from 3
// stops at the first passing value 0.1875.
func TestFindStepSize(t *testing.T) {
	const p = 400
	mean := make([]float32, p)
	prec := make([][]float32, p)
	for i := range prec {
		prec[i] = make([]float32, p)
		prec[i][i] = 1
	}
	s, _ := New(newGaussian(mean, prec), DefaultOptions())
	for _, c := range []struct{ from, want float64 }{{0.01, 0.32}, {3, 0.1875}} {
		s.opts.StepSize = c.from // Init reads it; the compiled heuristic is shared
		st := s.MustInit([][]float32{make([]float32, p), make([]float32, p), make([]float32, p)})
		st, tries, err := s.findStepSize(st)
		if err != nil {
			t.Fatal(err)
		}
		for ch, eps := range st.StepSizes() {
			if math.Abs(float64(eps)/c.want-1) > 1e-5 {
				t.Errorf("from ε = %v: chain %d ends at %v after %d tries, want %v", c.from, ch, eps, tries, c.want)
			}
		}
	}
}

func TestWarmupSchedule(t *testing.T) {
	lens := func(ps []phase) (n []int, sum int) {
		for _, p := range ps {
			n = append(n, p.n)
			sum += p.n
		}
		return
	}
	got, sum := lens(warmupSchedule(1000, true))
	want := []int{75, 25, 50, 100, 200, 500, 50} // Stan's windows for 1000 warm-up iterations
	if sum != 1000 || len(got) != len(want) {
		t.Fatalf("schedule(1000) = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("schedule(1000) = %v, want %v", got, want)
		}
	}
	for _, w := range []int{20, 100, 149, 150, 500, 777} {
		ps := warmupSchedule(w, true)
		if _, s := lens(ps); s != w || ps[0].accumulate || ps[len(ps)-1].accumulate {
			t.Errorf("schedule(%d) = %+v: want phases summing to %d, fast buffers at both ends", w, ps, w)
		}
	}
	if ps := warmupSchedule(300, false); len(ps) != 1 || ps[0].n != 300 || ps[0].updateMass {
		t.Errorf("schedule without mass adaptation = %+v", ps)
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := DefaultOptions().Validate(); err != nil {
		t.Fatal(err)
	}
	for field, mod := range map[string]func(*Options){
		"StepSize":     func(o *Options) { o.StepSize = 0 },
		"NumSteps":     func(o *Options) { o.NumSteps = 0 },
		"TargetAccept": func(o *Options) { o.TargetAccept = 1 },
		"NumDraws":     func(o *Options) { o.NumDraws = 0 },
		"Thin":         func(o *Options) { o.Thin = 0 },
		"Kappa":        func(o *Options) { o.Kappa = 0.3 },
		"PoolMass":     func(o *Options) { o.AdaptMass, o.PoolMass = false, true },
	} {
		o := DefaultOptions()
		mod(&o)
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "Options."+field) {
			t.Errorf("%s: error %v, want one naming Options.%s", field, err, field)
		}
	}
}

// ToSamples flattens the chains in order, keeps each draw's potential as its loss (checked against the
// closed form), and the set survives a save/load round trip.
func TestToSamples(t *testing.T) {
	tg := newGaussian([]float32{1, -1}, [][]float32{{2, 0.5}, {0.5, 1}})
	o := DefaultOptions()
	o.NumWarmup, o.NumDraws, o.NumSteps, o.Seed = 60, 20, 4, 2
	r := mustSample(t, tg, [][]float32{{0, 0}, {1, 1}, {2, -2}}, o)
	set, err := r.ToSamples()
	if err != nil {
		t.Fatal(err)
	}
	if set.N != 60 || set.P != 2 || set.Method != "hmc" || set.Seed != 2 {
		t.Fatalf("set N=%d P=%d method %q seed %d, want 60, 2, hmc, 2", set.N, set.P, set.Method, set.Seed)
	}
	for c := range 3 {
		for s := range 20 {
			i := c*20 + s
			row, d := set.Row(i), r.Draw(c, s)
			if row[0] != d[0] || row[1] != d[1] || set.Diagnostics["chain"][i] != float32(c) {
				t.Fatalf("sample %d = %v (chain %v), want chain %d draw %d = %v", i, row, set.Diagnostics["chain"][i], c, s, d)
			}
			x, y := float64(row[0])-1, float64(row[1])+1
			u := 0.5 * (2*x*x + 2*0.5*x*y + y*y)
			if math.Abs(float64(set.Loss[i])-u) > 1e-4*(1+u) {
				t.Errorf("sample %d: loss %v, U(θ) = %v", i, set.Loss[i], u)
			}
		}
	}
	path := filepath.Join(t.TempDir(), "hmc.fbs")
	if err := set.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := samples.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.N != set.N || back.Theta[17] != set.Theta[17] || back.Extras["chains"] != float64(3) {
		t.Errorf("round trip: N %d, theta[17] %v, extras %v", back.N, back.Theta[17], back.Extras)
	}
}

// On N(0, 1) one leapfrog step with ε = 2 sin(π/L) rotates phase space by exactly 2π/L, so L steps make a
// closed orbit: with a fixed L every trajectory returns to its start and the chain never moves (every
// proposal is accepted, being the start itself). Jittered lengths break the periodicity.
func TestJitterBreaksPeriodicOrbits(t *testing.T) {
	const L = 8
	o := DefaultOptions()
	o.AdaptStepSize, o.AdaptMass, o.NumWarmup = false, false, 0
	o.NumSteps, o.StepSize, o.NumDraws, o.Seed = L, 2*math.Sin(math.Pi/L), 200, 3
	tg := newGaussian([]float32{0}, [][]float32{{1}})
	init := [][]float32{{0.7}, {-1.2}}
	for _, jitter := range []bool{false, true} {
		o.JitterSteps = jitter
		r := mustSample(t, tg, init, o)
		var moved float64
		for c := range 2 {
			for s := range o.NumDraws {
				moved = math.Max(moved, math.Abs(float64(r.Draw(c, s)[0]-init[c][0])))
			}
		}
		t.Logf("jitter %v: largest move %.3g, bulk ESS %.0f", jitter, moved, r.Summary.ESS[0])
		if !jitter && moved > 1e-4 {
			t.Errorf("fixed L on a closed orbit: chains moved by %g, want ≈ 0", moved)
		}
		if jitter && r.Summary.ESS[0] < 100 {
			t.Errorf("jittered L: bulk ESS %.0f of 400 draws, want > 100", r.Summary.ESS[0])
		}
	}
}

// E-BFMI by hand: energies 1, 3, 2, 4 have squared jumps 4 + 1 + 4 = 9 and squared deviations from 2.5
// 2.25 + 0.25 + 0.25 + 2.25 = 5.
func TestEBFMIHandValue(t *testing.T) {
	if got := ebfmi([]float64{1, 3, 2, 4}); math.Abs(got-9.0/5) > 1e-12 {
		t.Errorf("ebfmi = %v, want 1.8", got)
	}
	if !math.IsNaN(ebfmi([]float64{2, 2, 2})) || !math.IsNaN(ebfmi([]float64{1})) {
		t.Error("ebfmi of constant or single energies should be NaN")
	}
}
