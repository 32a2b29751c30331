package main

import (
	"fmt"
	"math"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/laplace"
	"github.com/fiberbnn/fiberbnn/fiberlib/metrics"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
)

// problem is one split of one data set, standardised, with the network every method uses.
type problem struct {
	study, set string
	split      int
	spec       nets.Spec
	// train, valid (classification: early stopping; may be nil) and test are standardised.
	train, valid, test *data.Dataset
	// ood is an out-of-distribution test set (Fashion-MNIST vs MNIST), or nil.
	ood *data.Dataset
	// std maps regression targets back to original units (nil for classification).
	std *data.Standardizer
	// seed of this split's random choices.
	seed uint64
}

// predictor returns the posterior predictive of a fitted method at inputs x [B, D].
type predictor func(x []float32) (*laplace.Predictive, error)

// evaluate computes the test metrics of a predictor and the time it took to predict the test set (and the OOD
// set, whose per-example score histograms it also returns).
func (p *problem) evaluate(pred predictor) (map[string]float64, float64, *oodHist, error) {
	var hist *oodHist
	m, el, err := p.evaluateTest(pred, &hist)
	return m, el, hist, err
}

func (p *problem) evaluateTest(pred predictor, hist **oodHist) (map[string]float64, float64, error) {
	t0 := time.Now()
	out, err := pred(p.test.X)
	el := time.Since(t0).Seconds()
	if err != nil {
		return nil, el, fmt.Errorf("predict: %w", err)
	}
	m := map[string]float64{}
	if p.test.Task == data.Regression {
		if out.Regression == nil {
			return nil, el, fmt.Errorf("predict: no regression predictive")
		}
		reg, err := out.Regression.Unstandardize(p.std.TargetShift(0), p.std.TargetScale(0))
		if err != nil {
			return nil, el, err
		}
		y, err := p.std.InverseTargets(p.test.Y)
		if err != nil {
			return nil, el, err
		}
		nll, err := reg.NLL(y)
		if err != nil {
			return nil, el, err
		}
		m["nll"] = mean(nll)
		if m["rmse"], err = reg.RMSE(y); err != nil {
			return nil, el, err
		}
		return m, el, nil
	}
	cl := out.Classification
	if cl == nil {
		return nil, el, fmt.Errorf("predict: no classification predictive")
	}
	labels := p.test.Labels
	acc, err := metrics.Accuracy(cl.Probs, cl.C, labels)
	if err != nil {
		return nil, el, err
	}
	m["acc"] = 100 * acc
	nll, err := cl.NLL(labels)
	if err != nil {
		return nil, el, err
	}
	m["nll"] = mean(nll)
	// metrics.ECE is in percent already (15 equal-width bins).
	if m["ece"], err = metrics.ECE(cl.Probs, cl.C, labels); err != nil {
		return nil, el, err
	}
	if m["brier"], err = metrics.Brier(cl.Probs, cl.C, labels); err != nil {
		return nil, el, err
	}
	if p.ood != nil {
		t1 := time.Now()
		oo, err := pred(p.ood.X)
		el += time.Since(t1).Seconds()
		if err != nil {
			return nil, el, fmt.Errorf("predict OOD set: %w", err)
		}
		if m["auroc_entropy"], err = metrics.OODAUROC(cl.Probs, oo.Classification.Probs, cl.C, metrics.OODEntropy); err != nil {
			return nil, el, err
		}
		if m["auroc_maxprob"], err = metrics.OODAUROC(cl.Probs, oo.Classification.Probs, cl.C, metrics.OODMaxProb); err != nil {
			return nil, el, err
		}
		if *hist, err = newOODHist(cl.Probs, oo.Classification.Probs, cl.C); err != nil {
			return nil, el, err
		}
	}
	return m, el, nil
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
