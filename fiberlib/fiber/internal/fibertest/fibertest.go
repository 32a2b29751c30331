// Package fibertest holds what the fiber package's tests and experiments share: the 1-D gap toy set-up with
// the project's network posterior and its MAP, and the gap-toy evaluation (epistemic std in the gap and at
// the data, held-out predictive NLL).
package fibertest

import (
	"math"

	"github.com/gomlx/compute"

	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/fiberbnn/fiberbnn/fiberlib/predict"
	"github.com/fiberbnn/fiberbnn/fiberlib/train"
)

// Gap is the 1-D gap toy of the method notes with the project's network posterior: 80 points in
// [−2, −0.6] ∪ [0.6, 2], y = sin 2x + N(0, 0.1²), a 1×50 tanh MLP, Gaussian likelihood σ = 0.1, prior
// precision α = 1, and its MAP (train.MAP: full-batch Adam, 20000 steps, learning rate 0.01 with a cosine
// decay).
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
	res, err := train.MAP(net, train.Options{Epochs: 20000, BatchSize: ds.N, LearningRate: 0.01,
		Schedule: train.CosineLR, Seed: seed, Backend: b})
	if err != nil {
		return nil, err
	}
	return &Gap{Net: net, MAP: res.Theta, Opts: opts, Test: test}, nil
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
