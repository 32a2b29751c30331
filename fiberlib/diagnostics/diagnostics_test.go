package diagnostics

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func normalChains(seed uint64, m, n int, offset []float64, scale []float64) [][]float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([][]float64, m)
	for c := range out {
		out[c] = make([]float64, n)
		for s := range out[c] {
			out[c][s] = r.NormFloat64()
			if scale != nil {
				out[c][s] *= scale[c]
			}
			if offset != nil {
				out[c][s] += offset[c]
			}
		}
	}
	return out
}

// ar1 draws m stationary AR(1) chains x_t = ρ x_{t−1} + √(1−ρ²) ε_t, whose lag-t autocorrelation is ρ^t
// and whose integrated autocorrelation time is (1+ρ)/(1−ρ).
func ar1(seed uint64, m, n int, rho float64) [][]float64 {
	r := rand.New(rand.NewPCG(seed, 2))
	out := make([][]float64, m)
	for c := range out {
		out[c] = make([]float64, n)
		x := r.NormFloat64()
		for s := range out[c] {
			x = rho*x + math.Sqrt(1-rho*rho)*r.NormFloat64()
			out[c][s] = x
		}
	}
	return out
}

func TestAutocovMatchesDirectSum(t *testing.T) {
	x := normalChains(3, 1, 37, nil, nil)[0]
	got := autocov(x)
	mean, _ := meanVar(x)
	for lag := range len(x) {
		var want float64
		for i := 0; i+lag < len(x); i++ {
			want += (x[i] - mean) * (x[i+lag] - mean)
		}
		want /= float64(len(x))
		if math.Abs(got[lag]-want) > 1e-12 {
			t.Fatalf("acov[%d] = %g, direct sum %g", lag, got[lag], want)
		}
	}
}

// Hand computation: halves [1,2] [3,4] [5,6] [7,8]: W = 0.5, var of means = 20/3, n = 2,
// var⁺ = 0.25 + 20/3, R̂ = √(var⁺/W) = √(83/6).
func TestSplitRHatHandValue(t *testing.T) {
	got, err := SplitRHat([][]float64{{1, 2, 3, 4}, {5, 6, 7, 8}})
	if err != nil {
		t.Fatal(err)
	}
	if want := math.Sqrt(83.0 / 6); math.Abs(got-want) > 1e-12 {
		t.Errorf("SplitRHat = %.12g, want %.12g", got, want)
	}
}

func TestIIDNormal(t *testing.T) {
	const m, n = 4, 1000
	for seed := uint64(1); seed <= 3; seed++ {
		x := normalChains(seed, m, n, nil, nil)
		r, _ := RankRHat(x)
		sr, _ := SplitRHat(x)
		e, _ := ESS(x)
		b, _ := BulkESS(x)
		t.Logf("seed %d: rank R̂ %.4f, split R̂ %.4f, ESS %.0f, bulk ESS %.0f (of %d)", seed, r, sr, e, b, m*n)
		if r > 1.01 || sr > 1.01 || r < 0.99 || sr < 0.99 {
			t.Errorf("seed %d: R̂ = %.4f (rank), %.4f (split), want ≈ 1 (within 0.01)", seed, r, sr)
		}
		for name, v := range map[string]float64{"ESS": e, "BulkESS": b} {
			if math.Abs(v/(m*n)-1) > 0.12 {
				t.Errorf("seed %d: %s = %.0f, want %d ± 12%%", seed, name, v, m*n)
			}
		}
	}
}

func TestAR1ESS(t *testing.T) {
	const m, n = 4, 5000
	for _, rho := range []float64{0.5, 0.9} {
		want := float64(m*n) * (1 - rho) / (1 + rho)
		for seed := uint64(1); seed <= 2; seed++ {
			x := ar1(seed, m, n, rho)
			e, _ := ESS(x)
			b, _ := BulkESS(x)
			r, _ := RankRHat(x)
			t.Logf("ρ=%.1f seed %d: ESS %.0f, bulk ESS %.0f, want %.0f; R̂ %.4f", rho, seed, e, b, want, r)
			for name, v := range map[string]float64{"ESS": e, "BulkESS": b} {
				if math.Abs(v/want-1) > 0.15 {
					t.Errorf("ρ=%.1f seed %d: %s = %.0f, want %.0f ± 15%%", rho, seed, name, v, want)
				}
			}
			if r > 1.01 {
				t.Errorf("ρ=%.1f seed %d: R̂ = %.4f for stationary chains, want < 1.01", rho, seed, r)
			}
		}
	}
}

func TestShiftedMeansGiveLargeRHat(t *testing.T) {
	x := normalChains(7, 4, 1000, []float64{0, 0, 0, 2}, nil)
	r, _ := RankRHat(x)
	sr, _ := SplitRHat(x)
	t.Logf("rank R̂ %.4f, split R̂ %.4f", r, sr)
	if r < 1.1 || sr < 1.1 {
		t.Errorf("one chain shifted by 2 sd: R̂ = %.4f (rank), %.4f (split), want > 1.1", r, sr)
	}
}

// Same means but one chain four times as wide: the classic split-R̂ misses it, the folded (tail) part of
// the rank-normalised R̂ catches it (Vehtari et al. 2021, §4.1).
func TestScaleDifferenceCaughtByRankRHat(t *testing.T) {
	x := normalChains(11, 4, 1000, nil, []float64{1, 1, 1, 4})
	r, _ := RankRHat(x)
	sr, _ := SplitRHat(x)
	t.Logf("rank R̂ %.4f, split R̂ %.4f", r, sr)
	if r < 1.05 {
		t.Errorf("rank R̂ = %.4f, want > 1.05 for chains of different scale", r)
	}
	if sr > r {
		t.Errorf("split R̂ %.4f exceeds rank R̂ %.4f", sr, r)
	}
}

func TestBadInput(t *testing.T) {
	cases := map[string][][]float64{
		"no chains":    {},
		"ragged":       {{1, 2, 3, 4, 5, 6, 7, 8}, {1, 2, 3}},
		"NaN":          {{1, 2, 3, math.NaN(), 5, 6, 7, 8}},
		"short chains": {{1, 2, 3}},
	}
	for name, x := range cases {
		if _, err := RankRHat(x); err == nil {
			t.Errorf("%s: RankRHat gave no error", name)
		}
		if _, err := ESS(x); err == nil {
			t.Errorf("%s: ESS gave no error", name)
		}
	}
	_, err := ESS([][]float64{{1, 2, 3, math.Inf(1), 5, 6, 7, 8}})
	if err == nil || !strings.Contains(err.Error(), "chain 0 draw 3") {
		t.Errorf("ESS error %v does not name chain 0 draw 3", err)
	}
	if r, err := RankRHat([][]float64{{2, 2, 2, 2}, {2, 2, 2, 2}}); err != nil || !math.IsNaN(r) {
		t.Errorf("constant chains: R̂ = %v, %v; want NaN, nil", r, err)
	}
}

// Summarize reads [chains, draws, params] in the documented order: parameter 0 is iid N(0,1) in all chains,
// parameter 1 is shifted in chain 1.
func TestSummarizeLayout(t *testing.T) {
	const c, n, p = 2, 400, 2
	x := normalChains(5, 2*c, n, []float64{0, 0, 3, 5}, nil)
	draws := make([]float32, c*n*p)
	for ch := range c {
		for d := range n {
			draws[(ch*n+d)*p+0] = float32(x[ch][d])
			draws[(ch*n+d)*p+1] = float32(x[c+ch][d])
		}
	}
	s, err := Summarize(draws, c, n, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(s)
	if s.RHat[0] > 1.02 || s.RHat[1] < 1.3 || s.MaxRHatParam != 1 {
		t.Errorf("R̂ = %v (max at %d), want ≈1 for param 0 and > 1.3 for param 1", s.RHat, s.MaxRHatParam)
	}
	if math.Abs(s.Mean[1]-4) > 0.1 || math.Abs(s.Mean[0]) > 0.1 {
		t.Errorf("means %v, want ≈ [0, 4]", s.Mean)
	}
	if _, err := Summarize(draws[1:], c, n, p); err == nil {
		t.Error("Summarize accepted a wrong length")
	}
}
