// Package toymlp is a small stand-in network posterior for the fiber package's tests, benchmarks and
// experiments, until the project's network posterior lands: a tanh MLP regression with a Gaussian
// likelihood of fixed σ and a Gaussian prior N(0, 1/α) on all weights, evaluated for a batch of parameter
// vectors [N, P] in one graph. It also holds the 1-D gap toy data and a full-batch Adam MAP fit.
package toymlp

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/fiberbnn/fiberbnn/fiberlib/internal/gloop"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// MLP is U(θ) = Σᵢ ‖yᵢ − f(xᵢ; θ)‖²/(2σ²) + α/2‖θ‖² for a tanh MLP f with layer sizes Sizes (input first,
// output last). Parameters: for each layer, W [in, out] row-major then b [out].
type MLP struct {
	Sizes        []int
	Sigma, Alpha float64
	x, y         *tensors.Tensor
	n            int
}

// New returns the target for data x [n, Sizes[0]] and y [n, Sizes[last]] (row-major).
func New(sizes []int, sigma, alpha float64, x, y []float32) (*MLP, error) {
	if len(sizes) < 2 {
		return nil, fmt.Errorf("toymlp: need at least input and output sizes, got %v", sizes)
	}
	in, out := sizes[0], sizes[len(sizes)-1]
	n := len(x) / in
	if n*in != len(x) || n*out != len(y) || n == 0 {
		return nil, fmt.Errorf("toymlp: x has %d values, y %d: not [n, %d] and [n, %d]", len(x), len(y), in, out)
	}
	return &MLP{Sizes: sizes, Sigma: sigma, Alpha: alpha, n: n,
		x: tensors.FromFlatDataAndDimensions(append([]float32(nil), x...), n, in),
		y: tensors.FromFlatDataAndDimensions(append([]float32(nil), y...), n, out)}, nil
}

// NumParams implements posterior.Target.
func (m *MLP) NumParams() int {
	p := 0
	for l := 0; l+1 < len(m.Sizes); l++ {
		p += (m.Sizes[l] + 1) * m.Sizes[l+1]
	}
	return p
}

// NumData implements posterior.Target.
func (m *MLP) NumData() int { return m.n }

// Data implements posterior.Target: x [n, in], y [n, out].
func (m *MLP) Data() []*tensors.Tensor { return []*tensors.Tensor{m.x, m.y} }

// Forward returns f(x; θ) [N, B, out] for theta [N, P] and x [B, in].
func (m *MLP) Forward(theta, x *Node) *Node {
	n := theta.Shape().Dimensions[0]
	h := BroadcastPrefix(x, n) // [N, B, in]
	off := 0
	for l := 0; l+1 < len(m.Sizes); l++ {
		in, out := m.Sizes[l], m.Sizes[l+1]
		w := Reshape(Slice(theta, AxisRange(), AxisRange(off, off+in*out)), n, in, out)
		off += in * out
		b := Reshape(Slice(theta, AxisRange(), AxisRange(off, off+out)), n, 1, out)
		off += out
		h = Add(Einsum("nbi,nio->nbo", h, w), b)
		if l+2 < len(m.Sizes) {
			h = Tanh(h)
		}
	}
	return h
}

// Potential implements posterior.Target.
func (m *MLP) Potential(theta *Node, data []*Node) *Node {
	x, y := data[0], data[1]
	b := x.Shape().Dimensions[0]
	r := Sub(m.Forward(theta, x), ExpandAxes(y, 0))                                // [N, B, out]
	lik := MulScalar(ReduceSum(Square(r), 1, 2), float64(m.n)/float64(b)/(2*m.Sigma*m.Sigma)) // [N]
	return Add(lik, MulScalar(ReduceSum(Square(theta), -1), m.Alpha/2))
}

// Init returns a seeded initial θ: weights N(0, 1/in), biases 0.
func (m *MLP) Init(seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	th := make([]float32, 0, m.NumParams())
	for l := 0; l+1 < len(m.Sizes); l++ {
		in, out := m.Sizes[l], m.Sizes[l+1]
		for i := 0; i < in*out; i++ {
			th = append(th, float32(rng.NormFloat64()/math.Sqrt(float64(in))))
		}
		th = append(th, make([]float32, out)...)
	}
	return th
}

// FitMAP minimises U from Init(seed) by full-batch Adam (learning rate lr) for steps steps, 500 steps per
// executed call, and returns θ*.
func FitMAP(b compute.Backend, m *MLP, seed uint64, steps int, lr float64) ([]float32, error) {
	p := m.NumParams()
	const chunk = 500
	if steps%chunk != 0 {
		return nil, fmt.Errorf("toymlp.FitMAP: steps %d must be a multiple of %d", steps, chunk)
	}
	useWhile := gloop.UseWhile(b)
	exec, err := NewExec(b, func(inputs []*Node) []*Node {
		th, mo, ve, t := inputs[0], inputs[1], inputs[2], inputs[3]
		consts := inputs[4:]
		return gloop.Repeat(chunk, useWhile, consts, []*Node{th, mo, ve, t}, func(_ *Node, c, s []*Node) []*Node {
			th, mo, ve, t := s[0], s[1], s[2], s[3]
			_, g := posterior.PotentialAndGrad(m, th, c)
			g = MulScalar(g, 1/float64(m.n))
			t = AddScalar(t, 1)
			mo = Add(MulScalar(mo, 0.9), MulScalar(g, 0.1))
			ve = Add(MulScalar(ve, 0.999), MulScalar(Square(g), 0.001))
			mh := Div(mo, OneMinus(Pow(Scalar(th.Graph(), dtypes.Float32, 0.9), t)))
			vh := Div(ve, OneMinus(Pow(Scalar(th.Graph(), dtypes.Float32, 0.999), t)))
			th = Sub(th, MulScalar(Div(mh, AddScalar(Sqrt(vh), 1e-8)), lr))
			return []*Node{th, mo, ve, t}
		})
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	state := []any{tensors.FromFlatDataAndDimensions(m.Init(seed), 1, p),
		tensors.FromFlatDataAndDimensions(make([]float32, p), 1, p),
		tensors.FromFlatDataAndDimensions(make([]float32, p), 1, p), float32(0)}
	for done := 0; done < steps; done += chunk {
		out, err := exec.Call(append(state, m.x, m.y)...)
		if err != nil {
			return nil, err
		}
		state = []any{out[0], out[1], out[2], out[3]}
	}
	return tensors.CopyFlatData[float32](state[0].(*tensors.Tensor))
}

// GapToy returns the 1-D regression toy with a gap: n points, half in [−2, −0.6], half in [0.6, 2],
// y = sin(2x) + N(0, noise²).
func GapToy(n int, noise float64, seed uint64) (x, y []float32) {
	rng := rand.New(rand.NewPCG(seed, 11))
	for i := 0; i < n; i++ {
		v := 0.6 + 1.4*rng.Float64()
		if i%2 == 0 {
			v = -v
		}
		x = append(x, float32(v))
		y = append(y, float32(math.Sin(2*v)+noise*rng.NormFloat64()))
	}
	return x, y
}

// Predict returns f(x; θ_s) for every row of thetas [S, P] at the points xs [B, in]: [S][B·out].
func Predict(b compute.Backend, m *MLP, thetas []float32, xs []float32) ([][]float32, error) {
	p := m.NumParams()
	s := len(thetas) / p
	in := m.Sizes[0]
	exec, err := NewExec(b, func(th, x *Node) *Node { return m.Forward(th, x) })
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	out, err := exec.Call(tensors.FromFlatDataAndDimensions(thetas, s, p),
		tensors.FromFlatDataAndDimensions(xs, len(xs)/in, in))
	if err != nil {
		return nil, err
	}
	flat, err := tensors.CopyFlatData[float32](out[0])
	if err != nil {
		return nil, err
	}
	res := make([][]float32, s)
	per := len(flat) / s
	for i := range res {
		res[i] = flat[i*per : (i+1)*per]
	}
	return res, nil
}
