package predict

import (
	"math"
	"strings"
	"testing"
)

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func TestAverageSoftmax(t *testing.T) {
	// Sample 1 logits (0, 0) → (1/2, 1/2); sample 2 (log 3, 0) → (3/4, 1/4); mean (5/8, 3/8).
	p, err := AverageSoftmax([]float32{0, 0, float32(math.Log(3)), 0}, 2, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "p0", p.Probs[0], 0.625, 1e-7)
	near(t, "p1", p.Probs[1], 0.375, 1e-7)
	near(t, "log p1", p.LogProbs[1], math.Log(0.375), 1e-7)
	nll, _ := p.NLL([]int32{1})
	near(t, "NLL", nll[0], -math.Log(0.375), 1e-7)

	// Three classes, two points, one sample: plain softmax. Logits (1, 2, 3): e^{−2}, e^{−1}, 1 over their
	// sum 1.50321472 → (0.09003057, 0.24472847, 0.66524096).
	p, _ = AverageSoftmax([]float32{1, 2, 3, 0, 0, 0}, 1, 2, 3)
	want := []float64{0.09003057, 0.24472847, 0.66524096, 1.0 / 3, 1.0 / 3, 1.0 / 3}
	for i, w := range want {
		near(t, "softmax", p.Probs[i], w, 1e-8)
	}

	// A confidently wrong sample: logits (1000, 0) with label 1. p(1) = e^{−1000} underflows to 0, but
	// the log-probability is exactly −1000, so the NLL is 1000, not +Inf.
	p, _ = AverageSoftmax([]float32{1000, 0}, 1, 1, 2)
	nll, _ = p.NLL([]int32{1})
	near(t, "extreme NLL", nll[0], 1000, 1e-9)
	if p.Probs[1] != 0 || p.Probs[0] != 1 {
		t.Errorf("probs %v, want (1, 0)", p.Probs)
	}
	// Two opposite confident samples average to (1/2, 1/2).
	p, _ = AverageSoftmax([]float32{1000, 0, 0, 1000}, 2, 1, 2)
	near(t, "opposite p0", p.Probs[0], 0.5, 1e-12)
	near(t, "opposite log p0", p.LogProbs[0], math.Log(0.5), 1e-12)
}

func TestAverageSigmoid(t *testing.T) {
	// σ(x) = softmax((0, x))[1]: the sigmoid path must match the softmax path.
	logits := []float32{-3, 0.5, 2, 40, -1, 1.5}
	sig, err := AverageSigmoid(logits, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	pairs := make([]float32, 0, 12)
	for _, v := range logits {
		pairs = append(pairs, 0, v)
	}
	soft, _ := AverageSoftmax(pairs, 2, 3, 2)
	for i := range sig.Probs {
		near(t, "sigmoid vs softmax", sig.Probs[i], soft.Probs[i], 1e-12)
		near(t, "log sigmoid vs softmax", sig.LogProbs[i], soft.LogProbs[i], 1e-12)
	}
	// Point 0: (σ(−3) + σ(40))/2 = (0.04742587 + 1)/2.
	near(t, "p(y=1)", sig.Probs[1], (sigmoid(-3)+sigmoid(40))/2, 1e-12)
	near(t, "p(y=1) by hand", sig.Probs[1], 0.5237129366, 1e-10)
	// log σ(−800) = −800 − log(1 + e^{−800}) = −800.
	ex, _ := AverageSigmoid([]float32{-800}, 1, 1)
	near(t, "log sigmoid tail", ex.LogProbs[1], -800, 1e-9)
}

// gaussSigmoid integrates σ(f) N(f; m, v) df with the trapezoid rule on ±12 standard deviations.
func gaussSigmoid(m, v float64) float64 {
	sd := math.Sqrt(v)
	const n = 20000
	h := 24 * sd / n
	var sum float64
	for k := 0; k <= n; k++ {
		f := m - 12*sd + float64(k)*h
		w := 1.0
		if k == 0 || k == n {
			w = 0.5
		}
		sum += w * sigmoid(f) * math.Exp(-0.5*(f-m)*(f-m)/v) / math.Sqrt(2*math.Pi*v)
	}
	return sum * h
}

func TestProbitSigmoid(t *testing.T) {
	// m = 2, v = 8/π: κ = 1/√(1 + 1) = 1/√2, so p = σ(√2) = 1/(1 + e^{−1.41421356}) = 1/1.24311131 = 0.80442968.
	// m = −1, v = 0: p = σ(−1) = 0.26894142.
	p, err := ProbitSigmoid([]float32{2, -1}, []float32{float32(8 / math.Pi), 0}, 2)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "probit p(y=1)", p.Probs[1], 0.80442968, 2e-7) // v is rounded to float32
	near(t, "p(y=0)", p.Probs[0], 1-0.80442968, 2e-7)
	near(t, "zero variance", p.Probs[3], 0.26894142, 1e-8)
	// Against the integral itself: the probit approximation is known to be within about 0.02.
	for _, c := range []struct{ m, v float64 }{{2, 8 / math.Pi}, {1, 1}, {-3, 9}, {0.5, 25}, {4, 0.25}} {
		q, _ := ProbitSigmoid([]float32{float32(c.m)}, []float32{float32(c.v)}, 1)
		exact := gaussSigmoid(c.m, c.v)
		if d := math.Abs(q.Probs[1] - exact); d > 0.02 {
			t.Errorf("m=%v v=%v: probit %v vs integral %v (off by %v)", c.m, c.v, q.Probs[1], exact, d)
		}
	}
}

func TestProbitSoftmax(t *testing.T) {
	// Zero variance: plain softmax. Equal variance 8/π in every class: softmax(mean/√2).
	mean := []float32{1, 2, 3, 1, 2, 3}
	v := float32(8 / math.Pi)
	p, err := ProbitSoftmax(mean, []float32{0, 0, 0, v, v, v}, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	soft, _ := AverageSoftmax(mean[:3], 1, 1, 3)
	s2 := []float32{1 / math.Sqrt2, 2 / math.Sqrt2, 3 / math.Sqrt2}
	shrunk, _ := AverageSoftmax(s2, 1, 1, 3)
	for k := 0; k < 3; k++ {
		near(t, "v=0", p.Probs[k], soft.Probs[k], 1e-12)
		near(t, "v=8/π", p.Probs[3+k], shrunk.Probs[k], 2e-7)
	}
	// Variance flattens the prediction: the top class loses probability.
	if !(p.Probs[5] < p.Probs[2]) {
		t.Errorf("top class %v with variance, %v without: variance should lower confidence", p.Probs[5], p.Probs[2])
	}
}

func TestMCSoftmax(t *testing.T) {
	mean := []float32{1, 2, 0.5, -1, 0, 3}
	variance := []float32{0.5, 1, 0.8, 0.1, 0.1, 0.3}
	a, err := MCSoftmax(mean, variance, 2, 3, 20000, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := MCSoftmax(mean, variance, 2, 3, 20000, 7)
	for i := range a.Probs {
		if a.Probs[i] != b.Probs[i] {
			t.Fatal("same seed gave different results")
		}
	}
	c, _ := MCSoftmax(mean, variance, 2, 3, 20000, 8)
	if c.Probs[0] == a.Probs[0] {
		t.Error("another seed gave the same result")
	}
	// The multiclass probit approximation is cruder than the binary one and overconfident. Measured with
	// 200k draws, mean (1, 2, 0.5) and equal variances v, the largest class error was 0.004 (v=0.1), 0.015
	// (0.5), 0.023 (1), 0.029 (2), 0.030 (4); with unequal variances (0.5, 1, 2) it reached 0.048. For
	// variances up to 1 it should be within 0.025.
	p, _ := ProbitSoftmax(mean, variance, 2, 3)
	for i := range a.Probs {
		if d := math.Abs(a.Probs[i] - p.Probs[i]); d > 0.025 {
			t.Errorf("class %d: MC %v vs probit %v", i, a.Probs[i], p.Probs[i])
		}
	}
	// Binary check against quadrature: logits (0, f), f ~ N(1, 1), is σ(f) exactly; class 0 has variance 0.
	bin, _ := MCSoftmax([]float32{0, 1}, []float32{0, 1}, 1, 2, 50000, 1)
	exact := gaussSigmoid(1, 1)
	// Standard error of the MC mean ≤ 0.5/√50000 = 0.0022; allow 4 of them.
	near(t, "MC vs quadrature", bin.Probs[1], exact, 0.009)
	// Zero variance: exactly the softmax.
	z, _ := MCSoftmax([]float32{1, 2, 3}, []float32{0, 0, 0}, 1, 3, 3, 1)
	near(t, "MC v=0", z.Probs[2], 0.66524096, 1e-8)
}

func TestClassificationErrors(t *testing.T) {
	nan := float32(math.NaN())
	check := func(what string, err error, frag string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), frag) {
			t.Errorf("%s: error %v, want %q", what, err, frag)
		}
	}
	_, err := AverageSoftmax([]float32{1, 2, 3}, 1, 2, 2)
	check("short logits", err, "3 values, want [1 2 2] = 4")
	_, err = AverageSoftmax([]float32{1, nan}, 1, 1, 2)
	check("NaN logit", err, "value 1 is NaN")
	_, err = AverageSoftmax([]float32{1}, 1, 1, 1)
	check("one class", err, "C=1 classes; for one binary logit use AverageSigmoid")
	_, err = AverageSoftmax(nil, 0, 1, 2)
	check("no samples", err, "must all be >= 1")
	_, err = ProbitSigmoid([]float32{1}, []float32{-1}, 1)
	check("negative variance", err, "variance 0 is -1, want >= 0")
	_, err = ProbitSoftmax([]float32{1, 2}, []float32{1}, 1, 2)
	check("variance shape", err, "variance: 1 values")
	_, err = MCSoftmax([]float32{1, 2}, []float32{1, 1}, 1, 2, 0, 1)
	check("draws", err, "draws=0")
	p, _ := AverageSoftmax([]float32{1, 2}, 1, 1, 2)
	_, err = p.NLL([]int32{2})
	check("label range", err, "label 2 of point 0 out of range [0, 2)")
	_, err = p.NLL([]int32{0, 1})
	check("label count", err, "2 labels for B=1 points")
}

func TestMust(t *testing.T) {
	if p := Must(AverageSoftmax([]float32{0, 0}, 1, 1, 2)); p.Probs[0] != 0.5 {
		t.Errorf("Must(AverageSoftmax) = %v", p.Probs)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(error).Error(), "C=1 classes") {
			t.Errorf("Must did not panic with the error: %v", r)
		}
	}()
	Must(AverageSoftmax([]float32{0}, 1, 1, 1))
}
