package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"gonum.org/v1/gonum/integrate"
	"gonum.org/v1/gonum/stat"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol || math.IsNaN(got) != math.IsNaN(want) {
		t.Errorf("%s = %.12g, want %.12g (±%g)", what, got, want, tol)
	}
}

func TestRMSE(t *testing.T) {
	// errors (0, −2, 3): √((0 + 4 + 9)/3) = √(13/3) = 2.08166600
	got, err := RMSE([]float64{1, 2, 3}, []float32{1, 4, 0})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "RMSE", got, 2.08166600, 1e-8)
}

func TestGaussianNLL(t *testing.T) {
	// (mean 0, var 1, y 0): ½ log 2π = 0.91893853
	// (mean 1, var 4, y 3): ½ log 8π + (2²)/(2·4) = 1.61208571 + 0.5 = 2.11208571
	per, err := GaussianNLLPerPoint([]float64{0, 1}, []float64{1, 4}, []float32{0, 3})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "point 0", per[0], 0.91893853, 1e-8)
	near(t, "point 1", per[1], 2.11208571, 1e-8)
	mean, _ := GaussianNLL([]float64{0, 1}, []float64{1, 4}, []float32{0, 3})
	near(t, "mean", mean, (0.91893853+2.11208571)/2, 1e-8)
	if _, err := GaussianNLL([]float64{0}, []float64{0}, []float64{0}); err == nil || !strings.Contains(err.Error(), "variance 0 is 0, want > 0") {
		t.Errorf("zero variance: %v", err)
	}
}

// fixture: four points, three classes.
//
//	point  probs            label  predicted            confidence
//	0      (0.7, 0.2, 0.1)  0      0 (right)            0.7
//	1      (0.1, 0.6, 0.3)  2      1 (wrong)            0.6
//	2      (0.2, 0.2, 0.6)  2      2 (right)            0.6
//	3      (0.5, 0.5, 0.0)  1      0 (tie → lowest: wrong) 0.5
var (
	fixProbs  = []float64{0.7, 0.2, 0.1, 0.1, 0.6, 0.3, 0.2, 0.2, 0.6, 0.5, 0.5, 0}
	fixLabels = []int32{0, 2, 2, 1}
)

func TestClassificationMetrics(t *testing.T) {
	acc, err := Accuracy(fixProbs, 3, fixLabels)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "accuracy", acc, 0.5, 0) // points 0 and 2

	// NLL: −(ln 0.7 + ln 0.3 + ln 0.6 + ln 0.5)/4 = (0.35667494 + 1.20397280 + 0.51082562 + 0.69314718)/4 = 0.69115514
	nll, _ := NLL(fixProbs, 3, fixLabels)
	near(t, "NLL", nll, 0.69115514, 1e-8)

	// Brier: point 0 (0.3² + 0.2² + 0.1²) = 0.14; point 1 (0.1² + 0.6² + 0.7²) = 0.86;
	// point 2 (0.2² + 0.2² + 0.4²) = 0.24; point 3 (0.5² + 0.5² + 0²) = 0.5; mean 1.74/4 = 0.435.
	br, _ := Brier(fixProbs, 3, fixLabels)
	near(t, "Brier", br, 0.435, 1e-12)

	// Entropy: point 0 −(0.7 ln 0.7 + 0.2 ln 0.2 + 0.1 ln 0.1) = 0.24967246 + 0.32188758 + 0.23025851 = 0.80181855;
	// point 3 −2·0.5 ln 0.5 = ln 2 (the zero contributes 0, not NaN).
	h, _ := Entropy(fixProbs, 3)
	near(t, "entropy 0", h[0], 0.80181855, 1e-8)
	near(t, "entropy 3", h[3], math.Ln2, 1e-15)

	conf, _ := Confidence(fixProbs, 3)
	if !slices.Equal(conf, []float64{0.7, 0.6, 0.6, 0.5}) {
		t.Errorf("confidence %v", conf)
	}

	// A zero probability on the true label: NLL is +Inf (documented, not clamped).
	inf, _ := NLL([]float64{1, 0}, 2, []int32{1})
	if !math.IsInf(inf, 1) {
		t.Errorf("NLL with p=0 on the label = %v, want +Inf", inf)
	}
	// Perfect predictions: Brier 0, NLL 0, accuracy 1, ECE 0.
	perfect := []float64{1, 0, 0, 1}
	br, _ = Brier(perfect, 2, []int32{0, 1})
	nll, _ = NLL(perfect, 2, []int32{0, 1})
	ece, _ := ECE(perfect, 2, []int32{0, 1})
	if br != 0 || nll != 0 || ece != 0 {
		t.Errorf("perfect: Brier %v NLL %v ECE %v, want 0", br, nll, ece)
	}
	// Worst case Brier: all mass on a wrong class gives 1² + 1² = 2.
	br, _ = Brier([]float64{0, 1}, 2, []int32{0})
	near(t, "worst Brier", br, 2, 0)
}

func TestECE(t *testing.T) {
	// 15 bins, edges k/15. Confidence 0.5 ∈ (7/15, 8/15] = (0.467, 0.533]: bin 7. Confidence 0.6 equals the
	// edge 9/15 and belongs to (8/15, 9/15]: bin 8. Confidence 0.7 ∈ (10/15, 11/15]: bin 10.
	//   bin 7: point 3, conf 0.5, acc 0      → 1·|0 − 0.5|   = 0.5
	//   bin 8: points 1, 2, conf 0.6, acc ½  → 2·|0.5 − 0.6| = 0.2
	//   bin 10: point 0, conf 0.7, acc 1     → 1·|1 − 0.7|   = 0.3
	// ECE = (0.5 + 0.2 + 0.3)/4 = 0.25 → 25 %.
	ece, err := ECE(fixProbs, 3, fixLabels)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "ECE", ece, 25, 1e-12)
	rel, _ := Reliability(fixProbs, 3, fixLabels, 15)
	want := map[int]Bin{7: {Count: 1, Confidence: 0.5, Accuracy: 0}, 8: {Count: 2, Confidence: 0.6, Accuracy: 0.5}, 10: {Count: 1, Confidence: 0.7, Accuracy: 1}}
	for k, b := range rel {
		w := want[k]
		if b.Count != w.Count || math.Abs(b.Confidence-w.Confidence) > 1e-12 || b.Accuracy != w.Accuracy {
			t.Errorf("bin %d = %+v, want %+v", k, b, w)
		}
		near(t, "lower edge", b.Lower, float64(k)/15, 0)
	}
	if rel[14].Upper != 1 {
		t.Errorf("last upper edge %v", rel[14].Upper)
	}
	// The same probabilities in float32 land in the same bins (0.6f is compared with float32(9/15)).
	f32 := make([]float32, len(fixProbs))
	for i, v := range fixProbs {
		f32[i] = float32(v)
	}
	ece32, _ := ECE(f32, 3, fixLabels)
	near(t, "ECE float32", ece32, 25, 1e-5)
	// One bin: |accuracy − mean confidence| = |0.5 − 0.6| = 10 %.
	one, _ := ECEBins(fixProbs, 3, fixLabels, 1)
	near(t, "ECE 1 bin", one, 10, 1e-12)
	if _, err := ECEBins(fixProbs, 3, fixLabels, 0); err == nil {
		t.Error("0 bins accepted")
	}
}

func TestAUROC(t *testing.T) {
	// neg {1, 2, 3}, pos {2, 4}. Pairs: pos 2 beats 1, ties 2 (½), loses to 3 → 1.5; pos 4 beats all → 3.
	// AUROC = 4.5/6 = 0.75. By ranks: sorted 1n 2n 2p 3n 4p, ranks 1 2.5 2.5 4 5, R_pos = 7.5,
	// U = 7.5 − 2·3/2 = 4.5.
	a, err := AUROC([]float64{1, 2, 3}, []float64{2, 4})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "AUROC", a, 0.75, 0)
	for _, c := range []struct {
		neg, pos []float64
		want     float64
	}{
		{[]float64{1, 2}, []float64{3, 4}, 1},
		{[]float64{3, 4}, []float64{1, 2}, 0},
		{[]float64{5, 5, 5}, []float64{5, 5}, 0.5},
		{[]float64{0}, []float64{0}, 0.5},
	} {
		got, _ := AUROC(c.neg, c.pos)
		near(t, "AUROC", got, c.want, 0)
	}
}

// gonumAUROC computes the AUROC with gonum's stat.ROC (all distinct cutoffs) and the trapezoid rule.
func gonumAUROC(neg, pos []float64) float64 {
	y := append(slices.Clone(neg), pos...)
	classes := make([]bool, len(y))
	for i := len(neg); i < len(y); i++ {
		classes[i] = true
	}
	idx := make([]int, len(y))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return y[idx[a]] < y[idx[b]] })
	ys, cs := make([]float64, len(y)), make([]bool, len(y))
	for k, i := range idx {
		ys[k], cs[k] = y[i], classes[i]
	}
	tpr, fpr, _ := stat.ROC(nil, ys, cs, nil)
	return integrate.Trapezoidal(fpr, tpr)
}

func TestAUROCAgainstGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for trial := 0; trial < 20; trial++ {
		nn, np := 1+rng.IntN(60), 1+rng.IntN(60)
		neg, pos := make([]float64, nn), make([]float64, np)
		// Scores on a coarse grid so that many ties occur; positives shifted up a little.
		for i := range neg {
			neg[i] = float64(rng.IntN(8))
		}
		for i := range pos {
			pos[i] = float64(rng.IntN(8) + rng.IntN(3))
		}
		got, err := AUROC(neg, pos)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "AUROC vs gonum", got, gonumAUROC(neg, pos), 1e-12)
	}
}

func TestOODAUROC(t *testing.T) {
	// In-distribution (0.6, 0.2, 0.2): confidence 0.6, entropy 0.6·0.51083 + 2·0.2·1.60944 = 0.95027.
	// OOD (0.55, 0.45, 0): confidence 0.55, entropy 0.55·0.59784 + 0.45·0.79851 = 0.68814.
	// By max-prob the OOD point is less confident (AUROC 1); by entropy it is more certain (AUROC 0).
	in := []float64{0.6, 0.2, 0.2}
	out := []float64{0.55, 0.45, 0}
	byH, err := OODAUROC(in, out, 3, OODEntropy)
	if err != nil {
		t.Fatal(err)
	}
	byP, _ := OODAUROC(in, out, 3, OODMaxProb)
	near(t, "entropy AUROC", byH, 0, 0)
	near(t, "max-prob AUROC", byP, 1, 0)
	// Binary: in (0.9, 0.1), (0.8, 0.2); out (0.5, 0.5), (0.6, 0.4), (0.85, 0.15). Out beats both in points
	// twice, and 0.85 beats only 0.8: 5/6 by either score (entropy is monotone in confidence for C = 2).
	in2 := []float64{0.9, 0.1, 0.8, 0.2}
	out2 := []float64{0.5, 0.5, 0.6, 0.4, 0.85, 0.15}
	for _, s := range []OODScore{OODEntropy, OODMaxProb} {
		got, _ := OODAUROC(in2, out2, 2, s)
		near(t, "binary OOD AUROC "+s.String(), got, 5.0/6, 1e-15)
	}
	if _, err := OODAUROC(in, out, 3, OODScore(7)); err == nil || !strings.Contains(err.Error(), "unknown OOD score OODScore(7)") {
		t.Errorf("bad score: %v", err)
	}
	if _, err := OODAUROC(in, []float64{0.5, 0.6, 0}, 3, OODEntropy); err == nil || !strings.Contains(err.Error(), "out-of-distribution: metrics: probabilities at point 0 sum to 1.1") {
		t.Errorf("bad OOD probs: %v", err)
	}
}

func TestSummarize(t *testing.T) {
	// (1, 2, 3, 4): mean 2.5; s² = (2.25 + 0.25 + 0.25 + 2.25)/3 = 5/3; SE = √(5/3)/2 = 0.64549722.
	s, err := Summarize([]float64{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "mean", s.Mean, 2.5, 0)
	near(t, "SE", s.SE, 0.64549722, 1e-8)
	if s.N != 4 || s.String() != "2.500 ± 0.645" || s.Format(1) != "2.5 ± 0.6" {
		t.Errorf("summary %+v formats as %q", s, s.String())
	}
	one := MustSummarize([]float32{3})
	if !math.IsNaN(one.SE) || one.String() != "3.000 ± n/a" {
		t.Errorf("one value: %+v %q", one, one.String())
	}
	if _, err := Summarize([]float64{}); err == nil || !strings.Contains(err.Error(), "values is empty") {
		t.Errorf("empty: %v", err)
	}
	if _, err := Summarize([]float64{1, math.Inf(1)}); err == nil || !strings.Contains(err.Error(), "values[1] is +Inf") {
		t.Errorf("Inf: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name string
		err  func() error
		frag string
	}{
		{"RMSE lengths", func() error { _, err := RMSE([]float64{1, 2}, []float64{1}); return err }, "predictions has 2 values but targets has 1"},
		{"RMSE empty", func() error { _, err := RMSE([]float64{}, []float64{}); return err }, "predictions is empty"},
		{"RMSE NaN", func() error { _, err := RMSE([]float64{nan}, []float64{1}); return err }, "predictions[0] is NaN"},
		{"NaN prob", func() error { _, err := Accuracy([]float64{nan, 1}, 2, []int32{0}); return err }, "probability of class 0 at point 0 is NaN"},
		{"negative prob", func() error { _, err := Brier([]float64{-0.1, 1.1}, 2, []int32{0}); return err }, "is -0.1, want a value in [0, 1]"},
		{"logits", func() error { _, err := NLL([]float64{0.3, 0.3}, 2, []int32{0}); return err }, "sum to 0.6, want 1 (±1e-05): pass probabilities, not logits"},
		{"ragged", func() error { _, err := ECE([]float64{0.5, 0.5, 1}, 2, []int32{0}); return err }, "3 probabilities are not a whole number of rows of C=2"},
		{"labels range", func() error { _, err := Accuracy([]float64{0.5, 0.5}, 2, []int32{2}); return err }, "label 2 of point 0 out of range [0, 2)"},
		{"negative label", func() error { _, err := NLL([]float64{0.5, 0.5}, 2, []int32{-1}); return err }, "label -1 of point 0"},
		{"label count", func() error { _, err := Brier([]float64{0.5, 0.5}, 2, []int32{0, 1}); return err }, "2 labels for 1 points"},
		{"empty probs", func() error { _, err := Entropy([]float64{}, 2); return err }, "no probabilities (empty input)"},
		{"classes", func() error { _, err := Confidence([]float64{1}, 0); return err }, "C=0 classes"},
		{"AUROC empty", func() error { _, err := AUROC([]float64{}, []float64{1}); return err }, "negative scores is empty"},
		{"AUROC NaN", func() error { _, err := AUROC([]float64{1}, []float64{nan}); return err }, "positive scores[0] is NaN"},
	}
	for _, c := range cases {
		if err := c.err(); err == nil || !strings.Contains(err.Error(), c.frag) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.frag)
		}
	}
	// Rows summing to 1 within the tolerance pass (float32 rounding).
	if _, err := Accuracy([]float32{0.1, 0.2, 0.7}, 3, []int32{2}); err != nil {
		t.Errorf("float32 row rejected: %v", err)
	}
}

func TestMust(t *testing.T) {
	if got := Must(RMSE([]float64{1}, []float64{3})); got != 2 {
		t.Errorf("Must(RMSE) = %v, want 2", got)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(error).Error(), "label 5 of point 0 out of range") {
			t.Errorf("Must did not panic with the error: %v", r)
		}
	}()
	Must(Accuracy([]float64{1, 0}, 2, []int32{5}))
}
