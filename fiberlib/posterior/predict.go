package posterior

import (
	"fmt"
	"math"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
)

// forwardEvaluator returns the network's cached host forward evaluator on the process-wide backend.
func (n *Network) forwardEvaluator() (*nets.Evaluator, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.forward != nil {
		return n.forward, nil
	}
	b, err := backend.New()
	if err != nil {
		return nil, err
	}
	ev, err := nets.NewEvaluator(b, n.Spec)
	if err != nil {
		return nil, err
	}
	n.forward = ev
	return ev, nil
}

// Evaluator returns the network's cached host-side potential/gradient evaluator on the process-wide
// backend (see Evaluator).
func (n *Network) Evaluator() (*Evaluator, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.evalHost != nil {
		return n.evalHost, nil
	}
	b, err := backend.New()
	if err != nil {
		return nil, err
	}
	ev, err := NewEvaluator(b, n)
	if err != nil {
		return nil, err
	}
	n.evalHost = ev
	return ev, nil
}

// Evaluate returns the raw network outputs [N, B, O] for thetas, row-major [N, P], on inputs x, row-major
// [B, D]: all N parameter vectors in one compiled call per chunk of examples.
func (n *Network) Evaluate(thetas, x []float32) (nets.Outputs, error) {
	ev, err := n.forwardEvaluator()
	if err != nil {
		return nets.Outputs{}, err
	}
	return ev.Evaluate(thetas, x)
}

// Predict returns the per-parameter-vector predictive quantities [N, B, K] for thetas [N, P] on x [B, D]:
//   - GaussianLikelihood: the means (K = T); the noise scale is Network.Sigma.
//   - Heteroscedastic: means then standard deviations (K = 2T: μ_1..μ_T, σ_1..σ_T).
//   - Bernoulli: p(y = 1) (K = 1).
//   - Categorical: class probabilities (K = C).
//
// Bayesian model averaging is the mean over the N axis (of the probabilities, for classification).
func (n *Network) Predict(thetas, x []float32) (nets.Outputs, error) {
	out, err := n.Evaluate(thetas, x)
	if err != nil {
		return out, err
	}
	ApplyLink(n.Likelihood, out)
	return out, nil
}

// ApplyLink turns raw outputs into the quantities Predict documents, in place.
func ApplyLink(lik Likelihood, out nets.Outputs) {
	switch lik {
	case Heteroscedastic:
		t := out.O / 2
		for r := 0; r < out.N*out.B; r++ {
			row := out.Values[r*out.O : (r+1)*out.O]
			for k := t; k < out.O; k++ {
				row[k] = float32(math.Exp(float64(row[k])))
			}
		}
	case Bernoulli:
		for i, z := range out.Values {
			out.Values[i] = float32(1 / (1 + math.Exp(-float64(z))))
		}
	case Categorical:
		for r := 0; r < out.N*out.B; r++ {
			row := out.Values[r*out.O : (r+1)*out.O]
			m := math.Inf(-1)
			for _, z := range row {
				m = math.Max(m, float64(z))
			}
			var s float64
			for _, z := range row {
				s += math.Exp(float64(z) - m)
			}
			for k, z := range row {
				row[k] = float32(math.Exp(float64(z)-m) / s)
			}
		}
	}
}

// FitNoise returns, for each parameter vector of thetas (row-major [M, P]), the maximum-likelihood noise
// scale of the Gaussian likelihood on the network's data: σ² = mean over examples and targets of the
// squared residual (closed form for a fixed θ). Use it at the MAP, then WithSigma.
func FitNoise(n *Network, thetas []float32) ([]float64, error) {
	if n.Likelihood != GaussianLikelihood {
		return nil, fmt.Errorf("posterior.FitNoise: needs the gaussian likelihood, the network has %s", n.Likelihood)
	}
	out, err := n.Evaluate(thetas, n.ds.X)
	if err != nil {
		return nil, fmt.Errorf("posterior.FitNoise: %w", err)
	}
	sig := make([]float64, out.N)
	for i := range sig {
		var ss float64
		for b := 0; b < out.B; b++ {
			for k, f := range out.Row(i, b) {
				r := float64(f) - float64(n.ds.Y[b*n.ds.T+k])
				ss += r * r
			}
		}
		sig[i] = math.Sqrt(ss / float64(out.B*out.O))
		if sig[i] == 0 {
			return nil, fmt.Errorf("posterior.FitNoise: member %d fits the data exactly (σ = 0): use a fixed Sigma", i)
		}
	}
	return sig, nil
}
