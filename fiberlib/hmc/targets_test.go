package hmc

import (
	"math"

	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// funnel is Neal's funnel in 1+K dimensions: v ~ N(0, 3²), x_k | v ~ N(0, e^v). θ = (v, x_1..x_K).
type funnel struct{ k int }

func (t *funnel) NumParams() int          { return 1 + t.k }
func (t *funnel) NumData() int            { return 0 }
func (t *funnel) Data() []*tensors.Tensor { return nil }
func (t *funnel) Potential(theta *Node, _ []*Node) *Node {
	v := Slice(theta, AxisRange(), AxisRange(0, 1))                                        // [C,1]
	x := Slice(theta, AxisRange(), AxisRange(1, 1+t.k))                                    // [C,K]
	u := Add(MulScalar(Square(v), 1.0/18), MulScalar(v, 0.5*float64(t.k)))                 // [C,1]
	return Add(Reshape(u, -1), MulScalar(ReduceSum(Mul(Square(x), Exp(Neg(v))), -1), 0.5)) // [C]
}

// logTarget has U(θ) = −Σ log θ_i + Σ θ_i (a Gamma(2,1) per coordinate): NaN for θ_i < 0.
type logTarget struct{ p int }

func (t *logTarget) NumParams() int          { return t.p }
func (t *logTarget) NumData() int            { return 0 }
func (t *logTarget) Data() []*tensors.Tensor { return nil }
func (t *logTarget) Potential(theta *Node, _ []*Node) *Node {
	return ReduceSum(Sub(theta, Log(theta)), -1)
}

// invert returns the inverse of the symmetric positive definite matrix a (Gauss–Jordan, float64).
func invert(a [][]float64) [][]float64 {
	n := len(a)
	m := make([][]float64, n)
	for i := range m {
		m[i] = make([]float64, 2*n)
		copy(m[i], a[i])
		m[i][n+i] = 1
	}
	for c := range n {
		piv := c
		for r := c + 1; r < n; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[piv][c]) {
				piv = r
			}
		}
		m[c], m[piv] = m[piv], m[c]
		d := m[c][c]
		for j := range m[c] {
			m[c][j] /= d
		}
		for r := range n {
			if r != c && m[r][c] != 0 {
				f := m[r][c]
				for j := range m[r] {
					m[r][j] -= f * m[c][j]
				}
			}
		}
	}
	out := make([][]float64, n)
	for i := range out {
		out[i] = m[i][n:]
	}
	return out
}

// gaussianFromCov returns the target N(mean, cov).
func gaussianFromCov(mean []float64, cov [][]float64) *posterior.Gaussian {
	prec := invert(cov)
	p := make([][]float32, len(prec))
	m := make([]float32, len(mean))
	for i := range prec {
		m[i] = float32(mean[i])
		p[i] = make([]float32, len(prec))
		for j := range prec {
			p[i][j] = float32((prec[i][j] + prec[j][i]) / 2)
		}
	}
	g, err := posterior.NewGaussian(m, p)
	if err != nil {
		panic(err)
	}
	return g
}

// newGaussian is posterior.NewGaussian for tests: it panics on error.
func newGaussian(mean []float32, precision [][]float32) *posterior.Gaussian {
	g, err := posterior.NewGaussian(mean, precision)
	if err != nil {
		panic(err)
	}
	return g
}
