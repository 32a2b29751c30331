package laplace_test

import (
	"math"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/laplace"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// gapSetup trains the MAP of a 1×50 tanh MLP on the 1-D gap toy (σ = 0.1, α = 1).
func gapSetup(t testing.TB) (*posterior.Network, []float32) {
	ds, err := data.GapRegression(data.GapOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	spec := nets.MLP(1, []int{50}, 1, nets.Tanh)
	net, err := posterior.NewNetwork(spec, ds, posterior.NetworkOptions{Sigma: 0.1, PriorPrecision: 1})
	if err != nil {
		t.Fatal(err)
	}
	return net, fitMAP(t, net, spec.MustInit(1), 3000, 0.01)
}

// gapEpistemic returns the mean epistemic standard deviation of a regression predictive over the test grid
// points in the gap and at the data (data.GapSpread); grid is x on [−2, 2].
func gapEpistemic(t *testing.T, grid []float32, epiVar []float64) (gap, at float64) {
	sd := make([]float64, len(epiVar))
	for i, v := range epiVar {
		sd[i] = math.Sqrt(math.Max(v, 0))
	}
	return data.GapSpread(grid, sd)
}

// The Laplace predictives on the 1-D gap toy are wider in the gap than at the data (in-between
// uncertainty): last layer (GLM and sampled), and all weights with the full or Kronecker GGN (GLM); the
// all-weights full GGN with the GLM predictive is the one to pick when P allows it (ratio 8.8, HMC's is
// 9.3). Two known failures are reproduced rather than hidden: the diagonal GGN gives no in-between
// uncertainty (asserted: ratio below 1.2, measured 0.85; correlations matter here, as Foong et al. 2019
// found for factorised Gaussians), and the
// sampled (NN) predictive of an all-weights GGN Laplace is far too wide at the data (Immer et al. 2021, who
// introduced the GLM predictive to fix it): asserted as at least 10× the GLM spread there.
func TestGapToyInBetweenUncertainty(t *testing.T) {
	net, theta := gapSetup(t)
	grid, err := data.Grid1D(-2, 2, 81)
	if err != nil {
		t.Fatal(err)
	}
	epistemic := func(la *laplace.Laplace, po laplace.PredictOptions) (gap, at float64) {
		p, err := la.Predictive(grid, po)
		if err != nil {
			t.Fatal(err)
		}
		m := p.Regression.Moments()
		epi := m.Epistemic
		if po.PredType != laplace.NN { // one Gaussian: total variance − σ²
			epi = make([]float64, len(grid))
			for i, v := range m.Total {
				epi[i] = v - la.Sigma()*la.Sigma()
			}
		}
		return gapEpistemic(t, grid, epi)
	}
	nn := laplace.PredictOptions{PredType: laplace.NN, Samples: 300, Seed: 3}
	for _, c := range []struct {
		name string
		opts laplace.Options
	}{
		{"last-layer full", laplace.Options{}},
		{"all kron", laplace.Options{SubsetOfWeights: laplace.AllWeights, HessianStructure: laplace.Kron}},
		{"all full", laplace.Options{SubsetOfWeights: laplace.AllWeights}},
		{"all diag", laplace.Options{SubsetOfWeights: laplace.AllWeights, HessianStructure: laplace.Diag}},
	} {
		la, err := laplace.Fit(net, theta, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		gap, at := epistemic(la, laplace.PredictOptions{})
		t.Logf("%-16s α=%7.3f log marglik %8.2f | GLM epistemic std: gap %.4f, data %.4f, ratio %.2f",
			c.name, la.PriorPrecision(), la.LogMarginalLikelihood(), gap, at, gap/at)
		if c.name == "all diag" {
			// The documented failure: no in-between uncertainty (measured ratio 0.85 with the tuned α ≈ 7.9).
			if gap > 1.2*at {
				t.Errorf("all diag GLM: epistemic std in the gap %.4f, at the data %.4f: the diagonal Laplace was "+
					"measured without in-between uncertainty (ratio 0.85); update the documentation if this changed", gap, at)
			}
			continue
		}
		if !(gap > 1.5*at) {
			t.Errorf("%s GLM: epistemic std in the gap %.4f is not 1.5× that at the data %.4f", c.name, gap, at)
		}
		if c.name == "all kron" {
			continue
		}
		gapNN, atNN := epistemic(la, nn)
		t.Logf("%-16s NN epistemic std: gap %.4f, data %.4f, ratio %.2f", c.name, gapNN, atNN, gapNN/atNN)
		switch c.name {
		case "last-layer full":
			if !(gapNN > 1.5*atNN) {
				t.Errorf("%s NN: epistemic std in the gap %.4f is not 1.5× that at the data %.4f", c.name, gapNN, atNN)
			}
		case "all full":
			if !(atNN > 10*at) {
				t.Errorf("%s: NN epistemic std at the data %.4f, GLM %.4f: expected the NN predictive to be > 10× wider", c.name, atNN, at)
			}
		}
	}
}
