package compare

import (
	"fmt"
	"math"
)

// Gaussian is a predictive with one univariate normal N(Mean[i], Var[i]) per test input (and output), as
// flat arrays of equal length.
type Gaussian[F Float] struct {
	Mean, Var []F
}

// Distances are the function-space distances between two predictives, averaged over the test inputs.
type Distances struct {
	// KL is the mean of KL(ref ‖ approx) over inputs, KLReverse the mean of KL(approx ‖ ref).
	KL, KLReverse float64
	// W2 is the mean over inputs of the 2-Wasserstein distance (Gaussian predictives only; NaN for
	// categorical ones).
	W2 float64
	// N is the number of test inputs (and outputs) averaged over.
	N int
}

// String returns a one-line summary.
func (d Distances) String() string {
	return fmt.Sprintf("KL(ref‖approx) %.4g, KL(approx‖ref) %.4g, W2 %.4g over %d points", d.KL, d.KLReverse, d.W2, d.N)
}

func (g Gaussian[F]) check(name string) error {
	if len(g.Mean) == 0 || len(g.Mean) != len(g.Var) {
		return fmt.Errorf("compare: %s predictive has %d means and %d variances; want equal, non-zero lengths",
			name, len(g.Mean), len(g.Var))
	}
	for i := range g.Mean {
		if bad(g.Mean[i]) || bad(g.Var[i]) || !(g.Var[i] > 0) {
			return fmt.Errorf("compare: %s predictive at point %d has mean %v, variance %v; want finite values and variance > 0",
				name, i, g.Mean[i], g.Var[i])
		}
	}
	return nil
}

// GaussianKL returns KL(N(m1, v1) ‖ N(m2, v2)) = ½ [log(v2/v1) + (v1 + (m1 − m2)²)/v2 − 1].
func GaussianKL(m1, v1, m2, v2 float64) float64 {
	d := m1 - m2
	return 0.5 * (math.Log(v2/v1) + (v1+d*d)/v2 - 1)
}

// GaussianW2 returns the 2-Wasserstein distance between N(m1, v1) and N(m2, v2):
// √((m1 − m2)² + (√v1 − √v2)²).
func GaussianW2(m1, v1, m2, v2 float64) float64 {
	d, s := m1-m2, math.Sqrt(v1)-math.Sqrt(v2)
	return math.Sqrt(d*d + s*s)
}

// CompareGaussian returns KL in both directions and W2 between ref and approx, averaged over test points,
// with the per-point KL(ref ‖ approx) values.
func CompareGaussian[F Float](ref, approx Gaussian[F]) (Distances, []float64, error) {
	if err := ref.check("reference"); err != nil {
		return Distances{}, nil, err
	}
	if err := approx.check("approximate"); err != nil {
		return Distances{}, nil, err
	}
	if len(ref.Mean) != len(approx.Mean) {
		return Distances{}, nil, fmt.Errorf("compare: reference has %d points, approximation %d; give the same test points",
			len(ref.Mean), len(approx.Mean))
	}
	n := len(ref.Mean)
	per := make([]float64, n)
	d := Distances{N: n}
	for i := range n {
		m1, v1 := float64(ref.Mean[i]), float64(ref.Var[i])
		m2, v2 := float64(approx.Mean[i]), float64(approx.Var[i])
		per[i] = GaussianKL(m1, v1, m2, v2)
		d.KL += per[i] / float64(n)
		d.KLReverse += GaussianKL(m2, v2, m1, v1) / float64(n)
		d.W2 += GaussianW2(m1, v1, m2, v2) / float64(n)
	}
	return d, per, nil
}

// MomentMatch turns a Monte-Carlo predictive into one Gaussian per point: given S samples' predictive
// means [S][N] and noise variances [S][N] (nil for none), the mixture (1/S) Σₛ N(meanₛ, varₛ) has mean
// m = (1/S) Σ meanₛ and variance (1/S) Σ (varₛ + meanₛ²) − m² (epistemic plus aleatoric).
func MomentMatch[F Float](means, variances [][]F) (Gaussian[float64], error) {
	if len(means) == 0 || len(means[0]) == 0 {
		return Gaussian[float64]{}, fmt.Errorf("compare.MomentMatch: no samples or no points")
	}
	if variances != nil && len(variances) != len(means) {
		return Gaussian[float64]{}, fmt.Errorf("compare.MomentMatch: %d mean rows, %d variance rows", len(means), len(variances))
	}
	s, n := len(means), len(means[0])
	g := Gaussian[float64]{Mean: make([]float64, n), Var: make([]float64, n)}
	for k := range s {
		if len(means[k]) != n || (variances != nil && len(variances[k]) != n) {
			return Gaussian[float64]{}, fmt.Errorf("compare.MomentMatch: sample %d has %d means, want %d", k, len(means[k]), n)
		}
		for i := range n {
			m := float64(means[k][i])
			v := 0.0
			if variances != nil {
				v = float64(variances[k][i])
			}
			if bad(means[k][i]) || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return Gaussian[float64]{}, fmt.Errorf("compare.MomentMatch: sample %d point %d has mean %v, variance %v", k, i, m, v)
			}
			g.Mean[i] += m / float64(s)
			g.Var[i] += (v + m*m) / float64(s)
		}
	}
	for i := range n {
		g.Var[i] = math.Max(g.Var[i]-g.Mean[i]*g.Mean[i], 0)
	}
	return g, nil
}
