package flow

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// warpedFlow returns a flow with random (untrained, far from identity) parameters on a whitened rank-r
// subspace of R^p fitted to low-rank samples.
func warpedFlow(t *testing.T, c Coupling, p, r int) *Flow {
	t.Helper()
	sd := make([]float64, r)
	for i := range sd {
		sd[i] = 2 / float64(i+1)
	}
	center, samples, _ := lowRankSamples(200, p, sd, 0, 2)
	sub, err := FitSubspace(center, samples, SubspaceOptions{Rank: r, Whiten: true})
	if err != nil {
		t.Fatal(err)
	}
	coords, _, _ := sub.Encode(samples)
	loc, spread := meanStd(coords, r)
	o := Options{Coupling: c, Layers: 2, Hidden: []int{16}, Seed: 5}
	f, err := New(sub, loc, spread, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(8, 9))
	f.Params = f.arch.initParams(0.3)
	for i := range f.Params {
		f.Params[i] += float32(0.05 * rng.NormFloat64())
	}
	return f
}

// Sampling is consistent with density evaluation: log q of each draw equals LogProb at the drawn θ, the
// draws lie on the subspace, Forward/Inverse agree with them, and a seed fixes the draws.
func TestSampleConsistentWithLogProb(t *testing.T) {
	f := warpedFlow(t, Mixed, 7, 3)
	d, err := f.Sample(300, 11)
	if err != nil {
		t.Fatal(err)
	}
	lq, off, err := f.LogProb(d.Theta)
	if err != nil {
		t.Fatal(err)
	}
	worst, worstOff := 0.0, 0.0
	for i := range lq {
		worst = max(worst, math.Abs(float64(lq[i]-d.LogQ[i])))
		worstOff = max(worstOff, off[i])
	}
	t.Logf("max |log q(sample) − LogProb(θ)| = %.2e, max distance from subspace %.2e", worst, worstOff)
	if worst > 2e-3 {
		t.Errorf("log q from sampling and from LogProb differ by %.2e", worst)
	}
	if worstOff > 1e-4 {
		t.Errorf("draws lie %.2e off the subspace", worstOff)
	}
	z, ldInv, err := f.Inverse(d.Coords)
	if err != nil {
		t.Fatal(err)
	}
	c2, ldFwd, err := f.Forward(z)
	if err != nil {
		t.Fatal(err)
	}
	for i := range c2 {
		if math.Abs(float64(c2[i]-d.Coords[i])) > 1e-4*(1+math.Abs(float64(d.Coords[i]))) {
			t.Fatalf("Forward(Inverse(c)) differs from c at %d: %g vs %g", i, c2[i], d.Coords[i])
		}
	}
	for i := range ldInv {
		if math.Abs(float64(ldInv[i]+ldFwd[i])) > 1e-4 {
			t.Fatalf("row %d: log-dets of Inverse (%g) and Forward (%g) do not cancel", i, ldInv[i], ldFwd[i])
		}
	}
	again, _ := f.Sample(300, 11)
	other, _ := f.Sample(300, 12)
	same, diff := true, false
	for i := range d.Theta {
		same = same && again.Theta[i] == d.Theta[i]
		diff = diff || other.Theta[i] != d.Theta[i]
	}
	if !same || !diff {
		t.Errorf("seeding: same seed reproduces=%v, another seed differs=%v", same, diff)
	}
}

// The density integrates to one: a Riemann sum of q_c over a fine 2-D grid of coordinates, and
// LogProb(θ) = LogProbCoords(c) − Σ log Scale for the whitened subspace.
func TestDensityIntegratesToOne(t *testing.T) {
	f := warpedFlow(t, Spline, 5, 2)
	const half, steps = 12.0, 241
	h := 2 * half / float64(steps-1)
	grid := make([]float32, 0, 2*steps*steps)
	for i := 0; i < steps; i++ {
		for j := 0; j < steps; j++ {
			grid = append(grid, float32(float64(f.Loc[0])+float64(f.Spread[0])*(-half+float64(i)*h)),
				float32(float64(f.Loc[1])+float64(f.Spread[1])*(-half+float64(j)*h)))
		}
	}
	lq, err := f.LogProbCoords(grid)
	if err != nil {
		t.Fatal(err)
	}
	mass := 0.0
	for _, v := range lq {
		mass += math.Exp(float64(v))
	}
	mass *= h * h * float64(f.Spread[0]) * float64(f.Spread[1])
	t.Logf("∫ q_c dc ≈ %.5f", mass)
	if math.Abs(mass-1) > 0.01 {
		t.Errorf("the flow density integrates to %.5f, want 1 ± 0.01", mass)
	}
	theta, _ := f.Subspace.Decode(grid[:20])
	lt, _, _ := f.LogProb(theta)
	shift := f.Subspace.LogAbsDetScale()
	for i := range lt {
		if math.Abs(float64(lt[i])-(float64(lq[i])-shift)) > 1e-3 {
			t.Fatalf("row %d: LogProb(θ)=%g, LogProbCoords(c) − Σ log Scale = %g", i, lt[i], float64(lq[i])-shift)
		}
	}
}

// gaussianProposalCase builds an untrained flow (identity couplings: the proposal is the Gaussian with
// mean θ* + U·Loc and per-direction sd Spread, in a full-rank basis) and a Gaussian target whose sd per
// principal direction is ratio times the proposal's.
func gaussianProposalCase(t *testing.T, ratio float64) (*Flow, *posterior.Gaussian, []float64) {
	t.Helper()
	p := 3
	center, samples, _ := lowRankSamples(400, p, []float64{2, 1, 0.5}, 0, 3)
	sub, err := FitSubspace(center, samples, SubspaceOptions{Rank: 3})
	if err != nil {
		t.Fatal(err)
	}
	coords, _, _ := sub.Encode(samples)
	loc, spread := meanStd(coords, 3)
	f, err := New(sub, loc, spread, Options{Coupling: Affine, Layers: 2, Hidden: []int{8}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Target: mean θ* + U loc, precision U diag(1/(ratio·spread)²) Uᵀ.
	mean := make([]float32, p)
	prec := make([][]float32, p)
	mu, _ := sub.Decode(loc)
	copy(mean, mu)
	for i := 0; i < p; i++ {
		prec[i] = make([]float32, p)
		for j := 0; j < p; j++ {
			acc := 0.0
			for k := 0; k < 3; k++ {
				sd := ratio * float64(spread[k])
				acc += float64(sub.Basis[i*3+k]) * float64(sub.Basis[j*3+k]) / (sd * sd)
			}
			prec[i][j] = float32(acc)
		}
	}
	target, err := posterior.NewGaussian(mean, prec)
	if err != nil {
		t.Fatal(err)
	}
	return f, target, toF64(mean)
}

// Importance weights of flow draws against a Gaussian posterior: the log density of each draw matches the
// closed-form Gaussian proposal; a proposal twice as narrow as the target gives heavy-tailed weights
// (k̂ ≈ 1 − 1/4 = 0.75 per direction, flagged unreliable); one wider than the target gives bounded
// weights (k̂ < 0), and the self-normalised mean matches the target mean.
func TestSampleImportanceAgainstGaussian(t *testing.T) {
	for _, tc := range []struct {
		ratio    float64
		lo, hi   float64
		reliable bool
	}{{2, 0.6, 1.2, false}, {0.7, -3, 0, true}} {
		f, target, mean := gaussianProposalCase(t, tc.ratio)
		w, err := f.SampleImportance(target, 4000, 21, false)
		if err != nil {
			t.Fatal(err)
		}
		// Closed-form log q of the Gaussian proposal, in θ coordinates on the (full-rank) subspace.
		worst := 0.0
		for i := 0; i < w.N; i++ {
			lq := -1.5 * math.Log(2*math.Pi)
			for k := 0; k < 3; k++ {
				z := (float64(w.Coords[i*3+k]) - float64(f.Loc[k])) / float64(f.Spread[k])
				lq += -0.5*z*z - math.Log(float64(f.Spread[k]))
			}
			worst = max(worst, math.Abs(lq-float64(w.LogQ[i])))
		}
		if worst > 1e-3 {
			t.Errorf("ratio %g: log q differs from the Gaussian closed form by %.2e", tc.ratio, worst)
		}
		est := make([]float64, 3)
		for i, wi := range w.Weights {
			for j := 0; j < 3; j++ {
				est[j] += wi * float64(w.Theta[i*3+j])
			}
		}
		errMean := 0.0
		for j := range est {
			errMean = max(errMean, math.Abs(est[j]-mean[j]))
		}
		t.Logf("target sd / proposal sd = %g: k̂=%.3f, ESS=%.0f/4000, max |SNIS mean − mean| = %.3f", tc.ratio, w.ParetoK, w.ESS, errMean)
		if w.ParetoK < tc.lo || w.ParetoK > tc.hi || w.Reliable() != tc.reliable {
			t.Errorf("ratio %g: k̂=%.3f (reliable %v), want in [%g, %g] (reliable %v)", tc.ratio, w.ParetoK, w.Reliable(), tc.lo, tc.hi, tc.reliable)
		}
		if tc.reliable && errMean > 0.1 {
			t.Errorf("ratio %g: SNIS mean off by %.3f", tc.ratio, errMean)
		}
	}
}

// The potential term pulls decoded parameters to lower loss through the reparameterised flow: fitted to
// samples of N(0, I₂) with target U(θ) = ½‖θ‖² (so E[U] = 1 under the samples' law, and ≈ 1 for a flow
// fitted without the term), the flow's draws have E_q[U] < 1 with λ = 0.5. Within the family N(0, s²I₂), the objective
// E_p[−log q] + λE_q[U] = log(2πs²) + 1/s² + λs² is least at s² = (√(1+4λ) − 1)/(2λ), where
// E_q[U] = s² = 0.732 for λ = 0.5 (the flow family contains it, and the optimum stays Gaussian by symmetry).
func TestPotentialTermLowersLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	x := randNormal(rng, 2*2000, 1)
	target, err := posterior.NewGaussian([]float32{0, 0}, [][]float32{{1, 0}, {0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	meanU := func(lambda float64) float64 {
		f, err := Fit([]float32{0, 0}, x, SubspaceOptions{Rank: 2}, Options{Coupling: Affine, Layers: 2, Hidden: []int{16}, Seed: 1},
			TrainOptions{MaxSteps: 600, Seed: 2, Target: target, Lambda: lambda, PotentialSamples: 128, Patience: -1})
		if err != nil {
			t.Fatal(err)
		}
		w, err := f.SampleImportance(target, 4000, 3, false)
		if err != nil {
			t.Fatal(err)
		}
		u := 0.0
		for _, v := range w.Potential {
			u += float64(v) / float64(len(w.Potential))
		}
		return u
	}
	u1 := meanU(0.5)
	want1 := (math.Sqrt(3) - 1) / 1
	t.Logf("E_q[U] at λ=0.5: %.3f (expected %.3f; 1 without the term)", u1, want1)
	if !testing.Short() {
		if u0 := meanU(0); math.Abs(u0-1) > 0.08 {
			t.Errorf("λ=0: E_q[U] = %.3f, want 1 ± 0.08", u0)
		} else {
			t.Logf("E_q[U] at λ=0: %.3f (expected 1)", u0)
		}
	}
	if math.Abs(u1-want1) > 0.06 {
		t.Errorf("λ=0.5: E_q[U] = %.3f, want %.3f ± 0.06", u1, want1)
	}
}
