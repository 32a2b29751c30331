package hmc

import (
	"fmt"

	"github.com/fiberbnn/fiberbnn/fiberlib/diagnostics"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// FunctionSummary returns the convergence diagnostics of the network's predictive quantities at the inputs
// x [B, D] (row-major): rank-normalised split-R̂ and bulk ESS of every output of every input, computed over
// the chains and draws of r, [B·K] "parameters" ordered input-major (K outputs per input, see
// posterior.Network.Predict). Summary.Mean and Summary.SD are the posterior mean and standard deviation of
// each output.
//
// For a neural network this is the diagnostic to read: the posterior over weights is multimodal through
// symmetries (permuting hidden units, flipping signs of tanh units), so chains that agree on the function
// disagree on the weights and the R̂ of parameters stays far above 1; the R̂ of function values does not
// suffer from that.
func (r *Result) FunctionSummary(net *posterior.Network, x []float32) (*diagnostics.Summary, error) {
	if net == nil {
		return nil, fmt.Errorf("hmc.FunctionSummary: nil network")
	}
	if net.NumParams() != r.NumParams {
		return nil, fmt.Errorf("hmc.FunctionSummary: network has %d parameters, the draws %d", net.NumParams(), r.NumParams)
	}
	if r.NumDraws < 8 {
		return nil, fmt.Errorf("hmc.FunctionSummary: %d draws per chain, want >= 8 for split-R̂", r.NumDraws)
	}
	out, err := net.Predict(r.Draws, x)
	if err != nil {
		return nil, fmt.Errorf("hmc.FunctionSummary: %w", err)
	}
	// Predict's [chains·draws, B, K] (chain-major) is [chains, draws, B·K] as Summarize wants it.
	s, err := diagnostics.Summarize(out.Values, r.Chains, r.NumDraws, out.B*out.O)
	if err != nil {
		return nil, fmt.Errorf("hmc.FunctionSummary: %w", err)
	}
	return s, nil
}
