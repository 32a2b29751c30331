package laplace_test

import (
	"math"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/laplace"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"gonum.org/v1/gonum/mat"
)

// checkCov compares a dense [P, P] covariance with the reference, relative to the largest entry.
func checkCov(t *testing.T, what string, got []float64, want *mat.Dense, tol float64) {
	t.Helper()
	p, _ := want.Dims()
	scale := 0.0
	for i := 0; i < p; i++ {
		for j := 0; j < p; j++ {
			scale = math.Max(scale, math.Abs(want.At(i, j)))
		}
	}
	worst := 0.0
	for i := 0; i < p; i++ {
		for j := 0; j < p; j++ {
			worst = math.Max(worst, math.Abs(got[i*p+j]-want.At(i, j))/scale)
		}
	}
	if worst > tol {
		t.Errorf("%s: covariance differs from the closed form by %.2e (relative to the largest entry), want <= %.0e", what, worst, tol)
	}
	t.Logf("%s: covariance max relative error %.2e", what, worst)
}

// A network without hidden layers and a Gaussian likelihood is Bayesian linear regression: the full
// all-weights Laplace at the MAP is the exact posterior and its log marginal likelihood the exact evidence.
// K-FAC is exact too here (the output factor I/σ² is the same for every example), and the diagonal GGN is
// the diagonal of ΦᵀΦ/σ².
func TestBayesianLinearRegressionIsExact(t *testing.T) {
	const n, d, sigma, alpha = 40, 3, 0.5, 2.0
	ds := linearData(n, d, sigma, 1)
	net, err := posterior.NewNetwork(nets.MLP(d, nil, 1, nets.Identity), ds, posterior.NetworkOptions{Sigma: sigma, PriorPrecision: alpha})
	if err != nil {
		t.Fatal(err)
	}
	phi, y := linearFeatures(ds)
	ref := newBLR(phi, y, sigma, alpha)
	// The MAP by gradient descent (Adam, then it is checked against the closed-form mean).
	theta := fitMAP(t, net, make([]float32, d+1), 4000, 0.01)
	for i, m := range ref.mean {
		if e := relErr(float64(theta[i]), m, 1e-2); e > 1e-4 {
			t.Errorf("MAP[%d] = %.7f, posterior mean %.7f (relative error %.1e)", i, theta[i], m, e)
		}
	}
	for _, structure := range []laplace.HessianStructure{laplace.Full, laplace.Kron} {
		la, err := laplace.Fit(net, theta, laplace.Options{SubsetOfWeights: laplace.AllWeights, HessianStructure: structure, Tuning: laplace.TuneNone})
		if err != nil {
			t.Fatal(err)
		}
		cov, err := la.Covariance()
		if err != nil {
			t.Fatal(err)
		}
		checkCov(t, string(structure), cov, ref.cov, 1e-4)
		lml := la.LogMarginalLikelihood()
		if e := relErr(lml, ref.logEv, 1); e > 1e-4 {
			t.Errorf("%s: log marginal likelihood %.6f, closed-form evidence %.6f (relative error %.1e)", structure, lml, ref.logEv, e)
		}
		t.Logf("%s: log marglik %.6f, evidence %.6f, ‖∇U(θ*)‖ = %.2e", structure, lml, ref.logEv, la.MAPGradNorm())
		if la.MAPGradNorm() > 1e-2 {
			t.Errorf("%s: ‖∇U(θ*)‖ = %g at the MAP", structure, la.MAPGradNorm())
		}
	}
	la, err := laplace.Fit(net, theta, laplace.Options{SubsetOfWeights: laplace.AllWeights, HessianStructure: laplace.Diag, Tuning: laplace.TuneNone})
	if err != nil {
		t.Fatal(err)
	}
	// FitSigma: σ² is the mean squared residual at the MAP, so log p(D|θ*) = −(n/2)(log 2πσ² + 1).
	fs, err := laplace.Fit(net, theta, laplace.Options{SubsetOfWeights: laplace.AllWeights, HessianStructure: laplace.Diag, Tuning: laplace.TuneNone, FitSigma: true})
	if err != nil {
		t.Fatal(err)
	}
	rss := 0.0
	for i := 0; i < n; i++ {
		r := float64(ds.Y[i])
		for j := 0; j <= d; j++ {
			r -= phi.At(i, j) * float64(theta[j])
		}
		rss += r * r
	}
	s2 := rss / n
	if e := relErr(fs.Sigma(), math.Sqrt(s2), 0); e > 1e-5 {
		t.Errorf("FitSigma: σ = %g, √(RSS/n) = %g", fs.Sigma(), math.Sqrt(s2))
	}
	if want := -n / 2 * (math.Log(2*math.Pi*s2) + 1); relErr(fs.LogLikelihood(), want, 1) > 1e-5 {
		t.Errorf("FitSigma: log likelihood %g, want %g", fs.LogLikelihood(), want)
	}
	variance := la.PosteriorVariance()
	for j := 0; j <= d; j++ {
		g := 0.0
		for i := 0; i < n; i++ {
			g += phi.At(i, j) * phi.At(i, j) / (sigma * sigma)
		}
		if e := relErr(la.GGNDiagonal()[j], g, 1); e > 1e-5 {
			t.Errorf("diag GGN[%d] = %g, want Σφ²/σ² = %g", j, la.GGNDiagonal()[j], g)
		}
		if e := relErr(variance[j], 1/(g+alpha), 1e-6); e > 1e-5 {
			t.Errorf("diag variance[%d] = %g, want 1/(GGN+α) = %g", j, variance[j], 1/(g+alpha))
		}
	}
}

// The prior precision that maximises the Laplace evidence at the MAP of the evidence-optimal α is that α
// (the derivative of the Laplace evidence in α at a fixed MAP equals the exact evidence's derivative when
// the MAP belongs to that α), so tuning from a wrong start recovers the closed-form evidence optimum. The
// grid search finds the nearest grid point.
func TestTunedPriorPrecisionIsEvidenceOptimum(t *testing.T) {
	const n, d, sigma = 30, 2, 0.8
	ds := linearData(n, d, sigma, 2)
	phi, y := linearFeatures(ds)
	// Closed-form optimum of the exact evidence over log α.
	alphaStar := math.Exp(goldenMax(func(u float64) float64 { return newBLR(phi, y, sigma, math.Exp(u)).logEv }, -8, 8))
	ref := newBLR(phi, y, sigma, alphaStar)
	// Check that it is a maximum: the evidence is lower on both sides.
	for _, f := range []float64{0.9, 1.1} {
		if newBLR(phi, y, sigma, alphaStar*f).logEv >= ref.logEv {
			t.Fatalf("α* = %g is not the evidence maximum", alphaStar)
		}
	}
	net, err := posterior.NewNetwork(nets.MLP(d, nil, 1, nets.Identity), ds, posterior.NetworkOptions{Sigma: sigma, PriorPrecision: alphaStar})
	if err != nil {
		t.Fatal(err)
	}
	theta := make([]float32, d+1)
	for i, m := range ref.mean {
		theta[i] = float32(m)
	}
	la, err := laplace.Fit(net, theta, laplace.Options{SubsetOfWeights: laplace.AllWeights, PriorPrecision: 50 * alphaStar})
	if err != nil {
		t.Fatal(err)
	}
	got := la.PriorPrecision()
	t.Logf("evidence optimum α* = %.6f (log evidence %.6f); marglik-tuned α = %.6f (log marglik %.6f)", alphaStar, ref.logEv, got, la.LogMarginalLikelihood())
	if e := relErr(got, alphaStar, 0); e > 1e-3 {
		t.Errorf("marglik-tuned α = %g, closed-form evidence optimum %g (relative error %.1e)", got, alphaStar, e)
	}
	if e := relErr(la.LogMarginalLikelihood(), ref.logEv, 1); e > 1e-5 {
		t.Errorf("log marglik at the tuned α = %.6f, evidence %.6f", la.LogMarginalLikelihood(), ref.logEv)
	}
	grid, err := la.TunePriorPrecision(laplace.TuneMarglikGrid)
	if err != nil {
		t.Fatal(err)
	}
	step := 8.0 / 99 // log10 spacing of the default grid
	if math.Abs(math.Log10(grid)-math.Log10(alphaStar)) > step/2+1e-9 {
		t.Errorf("grid-tuned α = %g is not the grid point nearest to %g", grid, alphaStar)
	}
	// The Laplace evidence is below its maximum on both sides of the tuned α (a maximum, not a minimum).
	best, _ := la.LogMarginalLikelihoodAt(got)
	for _, f := range []float64{0.5, 2} {
		if v, _ := la.LogMarginalLikelihoodAt(got * f); v >= best {
			t.Errorf("log marglik at %g·α = %g is not below the tuned value %g", f, v, best)
		}
	}
}

// goldenMax returns the maximiser of a unimodal f on [lo, hi] by golden-section search (to 1e-10).
func goldenMax(f func(float64) float64, lo, hi float64) float64 {
	r := (math.Sqrt(5) - 1) / 2
	a, b := lo, hi
	c, d := b-r*(b-a), a+r*(b-a)
	fc, fd := f(c), f(d)
	for b-a > 1e-10 {
		if fc > fd {
			b, d, fd = d, c, fc
			c = b - r*(b-a)
			fc = f(c)
		} else {
			a, c, fc = c, d, fd
			d = a + r*(b-a)
			fd = f(d)
		}
	}
	return (a + b) / 2
}
