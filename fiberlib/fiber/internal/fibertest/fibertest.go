// Package fibertest holds what the fiber package's tests, benchmarks and experiments share: a full-batch
// Adam MAP fit for any posterior.Target (until fiberlib/train lands on main), the 1-D gap toy set-up with
// the project's network posterior, and the gap-toy evaluation (epistemic std in the gap and at the data,
// held-out predictive NLL).
package fibertest

import (
	"fmt"
	"math"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/internal/gloop"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/fiberbnn/fiberbnn/fiberlib/predict"
)

// FitMAP minimises U from theta0 by full-batch Adam on the per-datum loss U/n (β = 0.9, 0.999), with the
// learning rate decaying from lr to 0 along half a cosine period (a constant rate leaves Adam near saddle
// points), steps steps (a multiple of 500), 500 steps per executed call, and returns θ*.
func FitMAP(b compute.Backend, t posterior.Target, theta0 []float32, steps int, lr float64) ([]float32, error) {
	p := t.NumParams()
	const chunk = 500
	if steps%chunk != 0 || steps <= 0 {
		return nil, fmt.Errorf("fibertest.FitMAP: steps %d must be a positive multiple of %d", steps, chunk)
	}
	inv := 1 / float64(max(t.NumData(), 1))
	useWhile := gloop.UseWhile(b)
	exec, err := NewExec(b, func(inputs []*Node) []*Node {
		return gloop.Repeat(chunk, useWhile, inputs[4:], inputs[:4], func(_ *Node, c, s []*Node) []*Node {
			th, mo, ve, k := s[0], s[1], s[2], s[3]
			_, g := posterior.PotentialAndGrad(t, th, c)
			g = MulScalar(g, inv)
			k = AddScalar(k, 1)
			mo = Add(MulScalar(mo, 0.9), MulScalar(g, 0.1))
			ve = Add(MulScalar(ve, 0.999), MulScalar(Square(g), 0.001))
			f32 := func(v float64) *Node { return Scalar(th.Graph(), dtypes.Float32, v) }
			mh := Div(mo, OneMinus(Pow(f32(0.9), k)))
			vh := Div(ve, OneMinus(Pow(f32(0.999), k)))
			rate := MulScalar(AddScalar(Cos(MulScalar(k, math.Pi/float64(steps))), 1), lr/2)
			th = Sub(th, Mul(Div(mh, AddScalar(Sqrt(vh), 1e-8)), rate))
			return []*Node{th, mo, ve, k}
		})
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	state := []any{tensors.FromFlatDataAndDimensions(append([]float32(nil), theta0...), 1, p),
		tensors.FromFlatDataAndDimensions(make([]float32, p), 1, p),
		tensors.FromFlatDataAndDimensions(make([]float32, p), 1, p), float32(0)}
	for done := 0; done < steps; done += chunk {
		args := append([]any(nil), state...)
		for _, d := range t.Data() {
			args = append(args, d)
		}
		out, err := exec.Call(args...)
		if err != nil {
			return nil, err
		}
		state = []any{out[0], out[1], out[2], out[3]}
	}
	return tensors.CopyFlatData[float32](state[0].(*tensors.Tensor))
}

// Gap is the 1-D gap toy of the method notes with the project's network posterior: 80 points in
// [−2, −0.6] ∪ [0.6, 2], y = sin 2x + N(0, 0.1²), a 1×50 tanh MLP, Gaussian likelihood σ = 0.1, prior
// precision α = 1, and its MAP (Adam, 20000 steps, learning rate 0.01, from the spec's seeded init).
type Gap struct {
	Net  *posterior.Network
	MAP  []float32
	Opts data.GapOptions
	// Test holds 500 held-out points from the data distribution (seed + 1000).
	Test *data.Dataset
}

// NewGap builds the gap toy for a data seed; the backend must be the one the walks will use (data tensors
// live on the first backend that reads them).
func NewGap(b compute.Backend, seed uint64) (*Gap, error) {
	opts := data.GapOptions{Seed: seed}
	ds, err := data.GapRegression(opts)
	if err != nil {
		return nil, err
	}
	test, err := data.GapRegression(data.GapOptions{Seed: seed + 1000, N: 500})
	if err != nil {
		return nil, err
	}
	spec := nets.MLP(1, []int{50}, 1, nets.Tanh)
	net, err := posterior.NewNetwork(spec, ds, posterior.NetworkOptions{Sigma: 0.1, PriorPrecision: 1})
	if err != nil {
		return nil, err
	}
	init, err := spec.Init(seed)
	if err != nil {
		return nil, err
	}
	m, err := FitMAP(b, net, init, 20000, 0.01)
	if err != nil {
		return nil, err
	}
	return &Gap{Net: net, MAP: m, Opts: opts, Test: test}, nil
}

// GapEval is what Evaluate measures.
type GapEval struct {
	NLL    float64 // mean held-out NLL per point of the BMA mixture (σ = 0.1)
	StdGap float64 // mean epistemic std of f over 21 points in [−0.3, 0.3]
	StdDat float64 // mean epistemic std of f over 42 points in [−2, −0.6] ∪ [0.6, 2]
}

// Evaluate measures a sample set thetas [S, P] on the gap toy.
func (g *Gap) Evaluate(thetas []float32) (GapEval, error) {
	p := g.Net.NumParams()
	s := len(thetas) / p
	var gap, dat []float32
	for i := 0; i <= 20; i++ {
		gap = append(gap, float32(-0.3+0.6*float64(i)/20))
		dat = append(dat, float32(0.6+1.4*float64(i)/20), float32(-0.6-1.4*float64(i)/20))
	}
	xs := append(append(append([]float32(nil), g.Test.X...), gap...), dat...)
	out, err := g.Net.Predict(thetas, xs)
	if err != nil {
		return GapEval{}, err
	}
	nb := len(xs)
	reg, err := predict.NewRegression(out.Values, []float32{float32(g.Net.Sigma)}, s, nb)
	if err != nil {
		return GapEval{}, err
	}
	nt := g.Test.N
	nll, err := reg.NLL(append(append(append([]float32(nil), g.Test.Y...), make([]float32, len(gap))...), make([]float32, len(dat))...))
	if err != nil {
		return GapEval{}, err
	}
	var e GapEval
	for i := 0; i < nt; i++ {
		e.NLL += nll[i] / float64(nt)
	}
	mo := reg.Moments()
	for i := range gap {
		e.StdGap += math.Sqrt(mo.Epistemic[nt+i]) / float64(len(gap))
	}
	for i := range dat {
		e.StdDat += math.Sqrt(mo.Epistemic[nt+len(gap)+i]) / float64(len(dat))
	}
	return e, nil
}
