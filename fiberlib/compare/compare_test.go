package compare

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.10g, want %.10g (± %g)", name, got, want, tol)
	}
}

func TestGaussianKLHandValues(t *testing.T) {
	near(t, "KL(N(0,1)‖N(1,2))", GaussianKL(0, 1, 1, 2), 0.5*math.Log(2), 1e-15)
	near(t, "KL(N(3,2)‖N(3,2))", GaussianKL(3, 2, 3, 2), 0, 1e-15)
	// ½ [log(1/4) + (4 + 0)/1 − 1] = ½ (3 − log 4).
	near(t, "KL(N(0,4)‖N(0,1))", GaussianKL(0, 4, 0, 1), 0.5*(3-math.Log(4)), 1e-15)
	near(t, "W2(N(0,1),N(3,4))", GaussianW2(0, 1, 3, 4), math.Sqrt(10), 1e-15)
	near(t, "W2(N(1,2),N(1,2))", GaussianW2(1, 2, 1, 2), 0, 0)
}

// KL against a Monte-Carlo estimate E_{x~p}[log p(x) − log q(x)], and W2 against the quantile coupling
// W2² = ∫₀¹ (F₁⁻¹(u) − F₂⁻¹(u))² du (optimal in one dimension), by the midpoint rule.
func TestGaussianAgainstIndependentReferences(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	logpdf := func(x, m, v float64) float64 { return -0.5*math.Log(2*math.Pi*v) - (x-m)*(x-m)/(2*v) }
	quant := func(u, m, v float64) float64 { return m + math.Sqrt(v)*math.Sqrt2*math.Erfinv(2*u-1) }
	for _, c := range [][4]float64{{0, 1, 0.5, 2}, {-1, 0.3, 2, 0.1}, {5, 9, 4, 1}} {
		const n = 400000
		var kl float64
		for range n {
			x := c[0] + math.Sqrt(c[1])*r.NormFloat64()
			kl += (logpdf(x, c[0], c[1]) - logpdf(x, c[2], c[3])) / n
		}
		exact := GaussianKL(c[0], c[1], c[2], c[3])
		near(t, "KL vs Monte Carlo", exact, kl, 0.02*(1+exact))
		const m = 200000
		var w2 float64
		for i := range m {
			u := (float64(i) + 0.5) / m
			d := quant(u, c[0], c[1]) - quant(u, c[2], c[3])
			w2 += d * d / m
		}
		near(t, "W2 vs quantile coupling", GaussianW2(c[0], c[1], c[2], c[3]), math.Sqrt(w2), 1e-3)
	}
}

func TestCompareGaussianAverages(t *testing.T) {
	ref := Gaussian[float32]{Mean: []float32{0, 1}, Var: []float32{1, 1}}
	approx := Gaussian[float32]{Mean: []float32{1, 1}, Var: []float32{2, 4}}
	d, per, err := CompareGaussian(ref, approx)
	if err != nil {
		t.Fatal(err)
	}
	want0, want1 := 0.5*math.Log(2), 0.5*(math.Log(4)+0.25-1)
	near(t, "per[0]", per[0], want0, 1e-7)
	near(t, "per[1]", per[1], want1, 1e-7)
	near(t, "KL", d.KL, (want0+want1)/2, 1e-7)
	near(t, "KLReverse", d.KLReverse, (GaussianKL(1, 2, 0, 1)+GaussianKL(1, 4, 1, 1))/2, 1e-7)
	near(t, "W2", d.W2, (math.Sqrt(1+math.Pow(1-math.Sqrt2, 2))+1)/2, 1e-7)
	if d.N != 2 {
		t.Errorf("N = %d, want 2", d.N)
	}
	for name, a := range map[string]Gaussian[float32]{
		"length":   {Mean: []float32{0}, Var: []float32{1}},
		"variance": {Mean: []float32{0, 1}, Var: []float32{1, 0}},
		"NaN":      {Mean: []float32{0, float32(math.NaN())}, Var: []float32{1, 1}},
	} {
		if _, _, err := CompareGaussian(ref, a); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestCategoricalKL(t *testing.T) {
	near(t, "KL([.5,.5]‖[.9,.1])", CategoricalKL([]float64{0.5, 0.5}, []float64{0.9, 0.1}),
		0.5*math.Log(0.5/0.9)+0.5*math.Log(0.5/0.1), 1e-15)
	near(t, "KL([1,0]‖[.5,.5])", CategoricalKL([]float64{1, 0}, []float64{0.5, 0.5}), math.Log(2), 1e-15)
	// q has an exact zero where p has mass: floored at MinProb, large but finite.
	near(t, "KL([.5,.5]‖[1,0])", CategoricalKL([]float64{0.5, 0.5}, []float64{1, 0}),
		0.5*math.Log(0.5)+0.5*math.Log(0.5/MinProb), 1e-9)
	p := [][]float64{{0.7, 0.2, 0.1}, {1.0 / 3, 1.0 / 3, 1.0 / 3}}
	q := [][]float64{{0.7, 0.2, 0.1}, {0.5, 0.25, 0.25}}
	d, per, err := CompareCategorical(p, q)
	if err != nil {
		t.Fatal(err)
	}
	want := (math.Log(1.0/3/0.5) + 2*math.Log(1.0/3/0.25)) / 3
	near(t, "per[0]", per[0], 0, 1e-15)
	near(t, "per[1]", per[1], want, 1e-12)
	near(t, "KL", d.KL, want/2, 1e-12)
	near(t, "KLReverse", d.KLReverse, CategoricalKL(q[1], p[1])/2, 1e-12)
	if !math.IsNaN(d.W2) {
		t.Errorf("W2 = %v for categorical, want NaN", d.W2)
	}
	_, _, err = CompareCategorical(p, [][]float64{{0.7, 0.2, 0.1}, {2, -0.5, -0.5}})
	if err == nil || !strings.Contains(err.Error(), "point 1") {
		t.Errorf("negative probability: error %v", err)
	}
	_, _, err = CompareCategorical(p, [][]float64{{0.7, 0.2, 0.1}, {3, 1, 1}})
	if err == nil || !strings.Contains(err.Error(), "sum") {
		t.Errorf("logits instead of probabilities: error %v", err)
	}
}

// The mixture ½ N(0, 1) + ½ N(2, 1) has mean 1 and variance 1 + 1 = 2; without noise the variance is the
// spread of the means, 1.
func TestMomentMatch(t *testing.T) {
	g, err := MomentMatch([][]float64{{0, 5}, {2, 5}}, [][]float64{{1, 0.5}, {1, 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "mean[0]", g.Mean[0], 1, 1e-15)
	near(t, "var[0]", g.Var[0], 2, 1e-15)
	near(t, "mean[1]", g.Mean[1], 5, 1e-15)
	near(t, "var[1]", g.Var[1], 0.5, 1e-14)
	g, _ = MomentMatch([][]float32{{0}, {2}}, nil)
	near(t, "var without noise", g.Var[0], 1, 1e-15)
	if _, err := MomentMatch([][]float64{{0, 1}, {2}}, nil); err == nil {
		t.Error("ragged means: no error")
	}
}
