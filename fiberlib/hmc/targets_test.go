package hmc

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// gaussian is U(θ) = ½ (θ − μ)ᵀ A (θ − μ). It mirrors posterior.Gaussian, whose Potential on main subtracts
// a [P] constant from [N,P] without broadcasting (GoMLX needs equal ranks) and so fails to build.
type gaussian struct {
	mean      []float32
	precision [][]float32
}

func newGaussian(mean []float32, precision [][]float32) *gaussian {
	if len(precision) != len(mean) {
		panic(fmt.Sprintf("precision %d rows, mean %d", len(precision), len(mean)))
	}
	return &gaussian{mean: mean, precision: precision}
}

func (t *gaussian) NumParams() int          { return len(t.mean) }
func (t *gaussian) Data() []*tensors.Tensor { return nil }
func (t *gaussian) NumData() int            { return 0 }
func (t *gaussian) Potential(theta *Node, _ []*Node) *Node {
	g := theta.Graph()
	d := Sub(theta, InsertAxes(Const(g, t.mean), 0))
	ad := Dot(d, Const(g, t.precision)).Product()
	return MulScalar(ReduceSum(Mul(d, ad), -1), 0.5)
}

// linReg is Bayesian linear regression: y = X w + ε, ε ~ N(0, σ²), prior w ~ N(0, I/α). Its posterior is
// Gaussian with covariance Σ = (α I + XᵀX/σ²)⁻¹ and mean Σ Xᵀy/σ².
type linReg struct {
	x     [][]float32 // [N, D]
	y     []float32   // [N]
	sigma float64
	alpha float64
}

func (t *linReg) NumParams() int { return len(t.x[0]) }
func (t *linReg) NumData() int   { return len(t.y) }
func (t *linReg) Data() []*tensors.Tensor {
	return []*tensors.Tensor{tensors.FromValue(t.x), tensors.FromValue(t.y)}
}

// Potential: theta [C, D], data = X [B, D], y [B].
func (t *linReg) Potential(theta *Node, data []*Node) *Node {
	x, y := data[0], data[1]
	b := x.Shape().Dimensions[0]
	pred := Dot(theta, Transpose(x, 0, 1)).Product()         // [C, B]
	sq := ReduceSum(Square(Sub(pred, InsertAxes(y, 0))), -1) // [C]
	like := MulScalar(sq, 0.5/(t.sigma*t.sigma)*float64(t.NumData())/float64(b))
	return Add(like, MulScalar(ReduceSum(Square(theta), -1), 0.5*t.alpha))
}

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
func gaussianFromCov(mean []float64, cov [][]float64) *gaussian {
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
	return newGaussian(m, p)
}
