package fiber_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := backend.New()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// linregTarget is Bayesian linear regression: U(θ) = Σ_i (y_i − x_iᵀθ)²/(2σ²) + α/2‖θ‖², with data. Its
// Hessian is A = XᵀX/σ² + αI everywhere, and the MAP is A⁻¹Xᵀy/σ².
type linregTarget struct {
	x, y         *tensors.Tensor
	n, d         int
	sigma, alpha float64
	X            [][]float64
	Y            []float64
}

func newLinreg(n, d int, sigma, alpha float64, seed uint64) *linregTarget {
	rng := rand.New(rand.NewPCG(seed, 1))
	t := &linregTarget{n: n, d: d, sigma: sigma, alpha: alpha}
	xf := make([]float32, n*d)
	yf := make([]float32, n)
	for i := 0; i < n; i++ {
		row := make([]float64, d)
		var y float64
		for j := range row {
			row[j] = float64(float32(rng.NormFloat64()))
			xf[i*d+j] = float32(row[j])
			y += row[j] * float64(j+1) * 0.5
		}
		y = float64(float32(y + sigma*rng.NormFloat64()))
		yf[i] = float32(y)
		t.X = append(t.X, row)
		t.Y = append(t.Y, y)
	}
	t.x = tensors.FromFlatDataAndDimensions(xf, n, d)
	t.y = tensors.FromFlatDataAndDimensions(yf, n)
	return t
}

func (t *linregTarget) NumParams() int          { return t.d }
func (t *linregTarget) NumData() int            { return t.n }
func (t *linregTarget) Data() []*tensors.Tensor { return []*tensors.Tensor{t.x, t.y} }
func (t *linregTarget) Potential(theta *Node, data []*Node) *Node {
	x, y := data[0], data[1]
	b := x.Shape().Dimensions[0]
	pred := Dot(theta, Transpose(x, 0, 1)).Product() // [N, B]
	r := Sub(pred, ExpandAxes(y, 0))                 // [N, B]
	lik := MulScalar(ReduceSum(Square(r), -1), float64(t.n)/float64(b)/(2*t.sigma*t.sigma))
	return Add(lik, MulScalar(ReduceSum(Square(theta), -1), t.alpha/2))
}

// precision returns A = XᵀX/σ² + αI.
func (t *linregTarget) precision() [][]float64 {
	a := make([][]float64, t.d)
	for i := range a {
		a[i] = make([]float64, t.d)
		a[i][i] = t.alpha
	}
	for _, row := range t.X {
		for i := range row {
			for j := range row {
				a[i][j] += row[i] * row[j] / (t.sigma * t.sigma)
			}
		}
	}
	return a
}

func (t *linregTarget) mapTheta() []float64 {
	b := make([]float64, t.d)
	for k, row := range t.X {
		for i := range row {
			b[i] += row[i] * t.Y[k] / (t.sigma * t.sigma)
		}
	}
	return solve(t.precision(), b)
}

// solve returns A⁻¹b for a symmetric positive definite A (Cholesky).
func solve(a [][]float64, b []float64) []float64 {
	n := len(a)
	l := make([][]float64, n)
	for i := range l {
		l[i] = make([]float64, n)
		for j := 0; j <= i; j++ {
			s := a[i][j]
			for k := 0; k < j; k++ {
				s -= l[i][k] * l[j][k]
			}
			if i == j {
				l[i][i] = math.Sqrt(s)
			} else {
				l[i][j] = s / l[j][j]
			}
		}
	}
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		s := b[i]
		for k := 0; k < i; k++ {
			s -= l[i][k] * y[k]
		}
		y[i] = s / l[i][i]
	}
	x := make([]float64, n)
	for i := n - 1; i >= 0; i-- {
		s := y[i]
		for k := i + 1; k < n; k++ {
			s -= l[k][i] * x[k]
		}
		x[i] = s / l[i][i]
	}
	return x
}

// randomSPD returns Q·diag(eig)·Qᵀ with a random orthogonal Q (Gram–Schmidt of a Gaussian matrix).
func randomSPD(eig []float64, seed uint64) [][]float64 {
	n := len(eig)
	rng := rand.New(rand.NewPCG(seed, 2))
	q := make([][]float64, n)
	for i := range q {
		q[i] = make([]float64, n)
		for j := range q[i] {
			q[i][j] = rng.NormFloat64()
		}
		for k := 0; k < i; k++ {
			var dot float64
			for j := range q[i] {
				dot += q[i][j] * q[k][j]
			}
			for j := range q[i] {
				q[i][j] -= dot * q[k][j]
			}
		}
		var nn float64
		for j := range q[i] {
			nn += q[i][j] * q[i][j]
		}
		for j := range q[i] {
			q[i][j] /= math.Sqrt(nn)
		}
	}
	a := make([][]float64, n)
	for i := range a {
		a[i] = make([]float64, n)
		for j := range a[i] {
			for k := 0; k < n; k++ {
				a[i][j] += q[k][i] * eig[k] * q[k][j]
			}
		}
	}
	return a
}

func to32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func to32m(a [][]float64) [][]float32 {
	out := make([][]float32, len(a))
	for i, r := range a {
		out[i] = to32(r)
	}
	return out
}

func row64(v []float32, i, p int) []float64 {
	out := make([]float64, p)
	for j := range out {
		out[j] = float64(v[i*p+j])
	}
	return out
}

var _ posterior.Target = (*linregTarget)(nil)

// newGauss returns posterior.Gaussian U = ½(θ−μ)ᵀA(θ−μ) for float64 inputs.
func newGauss(mean []float64, prec [][]float64) *posterior.Gaussian {
	g, err := posterior.NewGaussian(to32(mean), to32m(prec))
	if err != nil {
		panic(err)
	}
	return g
}
