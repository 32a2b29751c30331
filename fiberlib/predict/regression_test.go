package predict

import (
	"math"
	"strings"
	"testing"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol || math.IsNaN(got) {
		t.Errorf("%s = %.12g, want %.12g (±%g)", what, got, want, tol)
	}
}

// Two samples, one point: μ = (1, 3), σ = (1, 2).
func twoSamples(t *testing.T) *Regression {
	r, err := NewRegression([]float32{1, 3}, []float32{1, 2}, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRegressionMoments(t *testing.T) {
	m := twoSamples(t).Moments()
	// mean (1+3)/2 = 2; epistemic ((1−2)² + (3−2)²)/2 = 1; aleatoric (1² + 2²)/2 = 2.5; total 3.5.
	near(t, "mean", m.Mean[0], 2, 0)
	near(t, "epistemic", m.Epistemic[0], 1, 0)
	near(t, "aleatoric", m.Aleatoric[0], 2.5, 0)
	near(t, "total", m.Total[0], 3.5, 0)
}

func TestRegressionNLL(t *testing.T) {
	r := twoSamples(t)
	nll, err := r.NLL([]float32{2})
	if err != nil {
		t.Fatal(err)
	}
	// N(2; 1, 1) = e^{−1/2}/√(2π) = 0.60653066/2.50662827 = 0.24197072
	// N(2; 3, 4) = e^{−1/8}/(2√(2π)) = 0.88249690/5.01325655 = 0.17603266
	// mixture (0.24197072 + 0.17603266)/2 = 0.20900169, NLL = −log 0.20900169 = 1.56541292
	near(t, "mixture NLL", nll[0], 1.56541292, 1e-8)

	// One sample: the Gaussian NLL ½ log 2π + log σ + z²/2 with y=4, μ=1, σ=2: 0.91893853 + 0.69314718 + 1.125.
	one, _ := NewRegression([]float32{1}, []float32{2}, 1, 1)
	nll, _ = one.NLL([]float32{4})
	near(t, "single Gaussian NLL", nll[0], 0.91893853320+0.69314718056+1.125, 1e-10)

	// Far in the tails the densities underflow (exp(−5·10⁹) = 0); log-sum-exp keeps the NLL finite. With two
	// identical components the mixture equals one component: ½ log 2π + log 0.01 + (1000/0.01)²/2.
	far, _ := NewRegression([]float32{0, 0}, []float32{0.01}, 2, 1)
	nll, _ = far.NLL([]float32{1000})
	near(t, "tail NLL", nll[0], 0.91893853320+math.Log(float64(float32(0.01)))+0.5*math.Pow(1000/float64(float32(0.01)), 2), 1e-3)
	// Unequal components, far tail: the nearer one dominates, NLL ≈ its NLL + log 2.
	far2, _ := NewRegression([]float32{0, 10}, []float32{1}, 2, 1)
	nll, _ = far2.NLL([]float32{100})
	near(t, "dominated NLL", nll[0], 0.91893853320+0.5*90*90+math.Log(2), 1e-9)
}

func TestRegressionSigmaForms(t *testing.T) {
	means := []float32{0, 1, 2, 3, 4, 5} // S=2, B=3
	shared, _ := NewRegression(means, []float32{0.5}, 2, 3)
	perSample, _ := NewRegression(means, []float32{0.5, 0.5}, 2, 3)
	perPoint, _ := NewRegression(means, []float32{0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, 2, 3)
	y := []float32{1, 2, 3}
	a, _ := shared.NLL(y)
	b, _ := perSample.NLL(y)
	c, _ := perPoint.NLL(y)
	for i := range a {
		if a[i] != b[i] || a[i] != c[i] {
			t.Errorf("point %d: NLL %v, %v, %v differ between sigma forms", i, a[i], b[i], c[i])
		}
	}
	// Per-sample σ really is per sample: σ = (1, 3) → aleatoric (1 + 9)/2 = 5 at every point.
	ps, _ := NewRegression(means, []float32{1, 3}, 2, 3)
	for i, v := range ps.Moments().Aleatoric {
		near(t, "per-sample aleatoric "+string(rune('0'+i)), v, 5, 0)
	}
}

func TestRegressionUnstandardize(t *testing.T) {
	std, _ := NewRegression([]float32{0.1, -0.4, 1.2, 0.3, 0.2, 0.9}, []float32{0.3, 0.5, 0.2, 0.4, 0.6, 0.1}, 2, 3)
	yStd := []float32{0.2, 0.1, 1.5}
	const shift, scale = 22.5, 9.2
	orig, err := std.Unstandardize(shift, scale)
	if err != nil {
		t.Fatal(err)
	}
	yOrig := make([]float32, len(yStd))
	for i, v := range yStd {
		yOrig[i] = float32(shift + scale*float64(v))
	}
	ns, _ := std.NLL(yStd)
	no, _ := orig.NLL(yOrig)
	for i := range ns {
		// NLL_orig = NLL_std + log scale (the density transforms with the Jacobian 1/scale). The tolerance
		// covers yOrig's float32 rounding.
		near(t, "NLL_orig − NLL_std", no[i]-ns[i], math.Log(scale), 1e-5)
	}
	rs, _ := std.RMSE(yStd)
	ro, _ := orig.RMSE(yOrig)
	near(t, "RMSE_orig/RMSE_std", ro/rs, scale, 1e-5)
	ms, mo := std.Moments(), orig.Moments()
	for i := range ms.Mean {
		near(t, "mean", mo.Mean[i], shift+scale*ms.Mean[i], 1e-9)
		near(t, "epistemic", mo.Epistemic[i], scale*scale*ms.Epistemic[i], 1e-9)
		near(t, "aleatoric", mo.Aleatoric[i], scale*scale*ms.Aleatoric[i], 1e-9)
	}
	if std.Scale != 1 || std.Shift != 0 {
		t.Error("Unstandardize changed its receiver")
	}
	// Composition: unstandardising twice applies the maps in turn: y = 1 + 2·(3 + 4·y_net) = 7 + 8·y_net.
	twice, _ := std.Unstandardize(3, 4)
	twice, _ = twice.Unstandardize(1, 2)
	if twice.Shift != 7 || twice.Scale != 8 {
		t.Errorf("composed map: shift %v scale %v, want 7, 8", twice.Shift, twice.Scale)
	}
	// RMSE by hand: means ((0.1+0.3)/2, (−0.4+0.2)/2, (1.2+0.9)/2) = (0.2, −0.1, 1.05) against
	// y = (0.2, 0.1, 1.5): errors (0, 0.2, 0.45) → √((0 + 0.04 + 0.2025)/3) = 0.28431204.
	near(t, "RMSE", rs, 0.28431204, 1e-6)
}

func TestRegressionErrors(t *testing.T) {
	nan := float32(math.NaN())
	cases := []struct {
		means, sigma []float32
		s, b         int
		frag         string
	}{
		{[]float32{1}, []float32{1}, 0, 1, "S=0 samples"},
		{[]float32{1, 2, 3}, []float32{1}, 2, 2, "means have 3 values, want S×B = 2×2 = 4"},
		{[]float32{1, nan}, []float32{1}, 1, 2, "mean of sample 0 at point 1 is NaN"},
		{[]float32{1, 2}, []float32{1, 2, 3}, 1, 2, "sigma has 3 values, want 1 (shared), S=1 (per sample) or S×B=2"},
		{[]float32{1, 2}, []float32{0}, 1, 2, "sigma of sample 0 at point 0 is 0, want a finite value > 0"},
	}
	for _, c := range cases {
		_, err := NewRegression(c.means, c.sigma, c.s, c.b)
		if err == nil || !strings.Contains(err.Error(), c.frag) {
			t.Errorf("NewRegression(%v, %v, %d, %d) error %v, want %q", c.means, c.sigma, c.s, c.b, err, c.frag)
		}
	}
	r := twoSamples(t)
	if _, err := r.NLL([]float32{1, 2}); err == nil || !strings.Contains(err.Error(), "2 targets for B=1 points") {
		t.Errorf("NLL length: %v", err)
	}
	if _, err := r.NLL([]float32{nan}); err == nil || !strings.Contains(err.Error(), "target 0 is NaN") {
		t.Errorf("NLL NaN: %v", err)
	}
	if _, err := r.RMSE(nil); err == nil {
		t.Error("RMSE of no targets accepted")
	}
	if _, err := r.Unstandardize(0, -1); err == nil || !strings.Contains(err.Error(), "scale > 0") {
		t.Errorf("Unstandardize: %v", err)
	}
}
