package flow

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// ksTwoSample returns the two-sample Kolmogorov–Smirnov statistic D = sup|F_a − F_b| and its asymptotic
// p-value Q_KS(λ), λ = (√nₑ + 0.12 + 0.11/√nₑ)·D, nₑ = nm/(n+m), Q_KS(λ) = 2 Σ_{j≥1} (−1)^{j−1} e^{−2j²λ²}
// (Stephens' small-sample correction, as in Numerical Recipes §14.3). For the flow-vs-walk comparisons.
func ksTwoSample(a, b []float64) (d, p float64) {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	n, m := float64(len(x)), float64(len(y))
	i, j := 0, 0
	for i < len(x) && j < len(y) {
		v := min(x[i], y[j])
		for i < len(x) && x[i] == v {
			i++
		}
		for j < len(y) && y[j] == v {
			j++
		}
		d = max(d, math.Abs(float64(i)/n-float64(j)/m))
	}
	ne := n * m / (n + m)
	lam := (math.Sqrt(ne) + 0.12 + 0.11/math.Sqrt(ne)) * d
	if lam < 1e-3 {
		return d, 1
	}
	sum, sign := 0.0, 1.0
	for k := 1; k <= 100; k++ {
		t := sign * math.Exp(-2*float64(k*k)*lam*lam)
		sum += t
		if math.Abs(t) < 1e-12 {
			break
		}
		sign = -sign
	}
	return d, min(max(2*sum, 0), 1)
}

// The KS helper against hand values, and its p-value's calibration: uniform under the null (about 5 % of
// p-values below 0.05 over 400 replications), small for shifted samples.
func TestKSTwoSample(t *testing.T) {
	d, _ := ksTwoSample([]float64{1, 2, 3}, []float64{1.5, 2.5, 3.5})
	if math.Abs(d-1.0/3) > 1e-12 {
		t.Errorf("D = %g, want 1/3", d)
	}
	d, _ = ksTwoSample([]float64{1, 2, 2, 3}, []float64{2, 2})
	if math.Abs(d-0.25) > 1e-12 { // ties: F_a(2) = 3/4, F_b(2) = 1 and F_a(1) = 1/4, F_b(1) = 0
		t.Errorf("D with ties = %g, want 1/4", d)
	}
	// b = a + 50.5: D = 51/500 = 0.102, λ = (√250 + 0.12 + 0.11/√250)·0.102 = 1.6258,
	// Q = 2(e^{−2λ²} − e^{−8λ²} + ...) ≈ 0.0103.
	a := make([]float64, 500)
	b := make([]float64, 500)
	for i := range a {
		a[i] = float64(i)
		b[i] = float64(i) + 50.5
	}
	d, p := ksTwoSample(a, b)
	lam := (math.Sqrt(250) + 0.12 + 0.11/math.Sqrt(250)) * d
	want := 2 * (math.Exp(-2*lam*lam) - math.Exp(-8*lam*lam) + math.Exp(-18*lam*lam))
	if math.Abs(d-0.102) > 1e-12 || math.Abs(p-want) > 1e-9 || math.Abs(p-0.0103) > 0.001 {
		t.Errorf("D = %g (want 0.102), p = %g (want %g)", d, p, want)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	low := 0
	for rep := 0; rep < 400; rep++ {
		x := make([]float64, 200)
		y := make([]float64, 300)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		for i := range y {
			y[i] = rng.NormFloat64()
		}
		if _, p := ksTwoSample(x, y); p < 0.05 {
			low++
		}
	}
	t.Logf("null: %d of 400 p-values below 0.05", low)
	if low < 8 || low > 36 { // Binomial(400, 0.05): mean 20, sd 4.4
		t.Errorf("null: %d of 400 p-values below 0.05, want about 20", low)
	}
}
