package main

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/laplace"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// The last-layer walk on images runs on the head alone: the MAP body's penultimate features φ(x) [n, H] are
// computed once, and the walk moves the head θ_h [P_h] of the posterior of a linear softmax layer on φ with the
// same prior precision. Its potential differs from the full network's with the body held at θ*_body only by
// the constant α/2 ‖θ*_body‖², so this is the same walk as fiber.Options.Walk = head range on the full
// network, at the cost of the head (a full-network forward pass per particle and step is what made the
// last-layer walk on 900 images take 21 minutes in the first quick run).

// featureChunk is the number of images per compiled feature call.
const featureChunk = 2000

// headProblem holds the head-only posterior of a split and the features of its test and OOD sets.
type headProblem struct {
	net             *posterior.Network
	theta           []float32 // the MAP head θ*_h [P_h]
	testX, oodX     []float32 // features [B, H]
	headStart, full int       // HeadStart and P of the full network
}

// features returns the MAP body's penultimate representation [B, H] of x [B, D].
func (f *fits) features(x []float32) ([]float32, error) {
	spec, l := f.mapNet.Spec, f.mapNet.Layout()
	b, err := backend.New()
	if err != nil {
		return nil, err
	}
	ex, err := NewExec(b, func(in []*Node) []*Node { return []*Node{spec.Features(in[0], in[1])} })
	if err != nil {
		return nil, err
	}
	d, h := spec.InputDim(), l.Features
	if len(x)%d != 0 {
		return nil, fmt.Errorf("features: %d input values are not a multiple of D = %d", len(x), d)
	}
	n := len(x) / d
	body := tensors.FromFlatDataAndDimensions(append([]float32(nil), f.theta[:l.HeadStart]...), 1, l.HeadStart)
	out := make([]float32, 0, n*h)
	for lo := 0; lo < n; lo += featureChunk {
		hi := min(n, lo+featureChunk)
		xt := tensors.FromFlatDataAndDimensions(append([]float32(nil), x[lo*d:hi*d]...), hi-lo, d)
		res, err := ex.Call(body, xt)
		if err != nil {
			return nil, fmt.Errorf("features: %w", err)
		}
		out = append(out, tensors.MustCopyFlatData[float32](res[0])...)
		res[0].FinalizeAll()
		xt.FinalizeAll()
	}
	return out, nil
}

// getHead builds the head-only posterior on the MAP's training features (once per split).
func (f *fits) getHead() (*headProblem, error) {
	if f.head != nil {
		return f.head, nil
	}
	if err := f.getMAP(); err != nil {
		return nil, err
	}
	l := f.mapNet.Layout()
	tr := f.mapNet.Dataset()
	phi, err := f.features(tr.X)
	if err != nil {
		return nil, err
	}
	fd := *tr
	fd.Name, fd.X, fd.D, fd.InputShape = tr.Name+"-features", phi, l.Features, []int{l.Features}
	if err := fd.Validate(); err != nil {
		return nil, fmt.Errorf("feature data set: %w", err)
	}
	spec := nets.MLP(l.Features, nil, f.mapNet.Spec.Outputs, nets.Tanh) // no hidden layer: the activation is unused
	if spec.MustLayout().P != l.P-l.HeadStart {
		return nil, fmt.Errorf("head network has %d parameters, the full network's head %d", spec.MustLayout().P, l.P-l.HeadStart)
	}
	net, err := posterior.NewNetwork(spec, &fd, posterior.NetworkOptions{Likelihood: f.mapNet.Likelihood,
		Sigma: f.mapNet.Sigma, PriorPrecision: f.mapNet.PriorPrecision})
	if err != nil {
		return nil, fmt.Errorf("head network: %w", err)
	}
	hp := &headProblem{net: net, theta: append([]float32(nil), f.theta[l.HeadStart:]...), headStart: l.HeadStart, full: l.P}
	if hp.testX, err = f.features(f.p.test.X); err != nil {
		return nil, err
	}
	if f.p.ood != nil {
		if hp.oodX, err = f.features(f.p.ood.X); err != nil {
			return nil, err
		}
	}
	f.head = hp
	return hp, nil
}

// predictor returns the BMA over head vectors thetas [S, P_h] with the MAP body. evaluate only ever passes
// the split's test or OOD inputs, whose features were computed once; the predictor recognises them by their
// backing array.
func (hp *headProblem) predictor(p *problem, thetas []float32) predictor {
	return func(x []float32) (*laplace.Predictive, error) {
		switch {
		case len(x) == len(p.test.X) && &x[0] == &p.test.X[0]:
			return laplace.NetworkPredictive(hp.net, thetas, hp.testX)
		case p.ood != nil && len(x) == len(p.ood.X) && &x[0] == &p.ood.X[0]:
			return laplace.NetworkPredictive(hp.net, thetas, hp.oodX)
		}
		return nil, fmt.Errorf("head predictor: inputs are neither the test nor the OOD set")
	}
}
