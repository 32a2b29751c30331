package hmc

import (
	"fmt"

	"github.com/fiberbnn/fiberbnn/fiberlib/samples"
)

// ToSamples returns the draws as a sample set of N = chains·draws samples (chain after chain), with
// Method "hmc", the seed, the warm-up time as FitSeconds and the sampling time per sample as
// SampleSeconds; Loss holds every draw's potential U(θ) (the negative log joint density); the per-sample
// diagnostics "chain" (its chain index) and "accept_prob" (of the transition that produced it); Extras the
// sampler's settings and its summary (acceptance, divergences, R̂, ESS, gradient evaluations). Set Network
// and Dataset on the result as needed.
func (r *Result) ToSamples() (*samples.Set, error) {
	n := r.Chains * r.NumDraws
	if n == 0 || len(r.Draws) != n*r.NumParams {
		return nil, fmt.Errorf("hmc.ToSamples: result has %d values for %d chains × %d draws × %d params",
			len(r.Draws), r.Chains, r.NumDraws, r.NumParams)
	}
	o := r.Options
	var acc float64
	div := 0
	for c := range r.Chains {
		acc += r.AcceptRate[c] / float64(r.Chains)
		div += r.NumDivergent[c]
	}
	extras := map[string]any{
		"chains": r.Chains, "draws_per_chain": r.NumDraws, "thin": o.Thin, "warmup": o.NumWarmup,
		"num_steps": o.NumSteps, "jitter_steps": o.JitterSteps, "target_accept": o.TargetAccept,
		"adapt_step_size": o.AdaptStepSize, "adapt_mass": o.AdaptMass, "pool_mass": o.PoolMass,
		"step_size": r.StepSize, "accept_rate": acc, "divergent": div, "grad_evals": r.GradEvals,
	}
	if r.Summary != nil {
		extras["max_rhat"], extras["min_ess"] = r.Summary.MaxRHat, r.Summary.MinESS
	}
	meta := samples.Meta{Method: "hmc", Seed: o.Seed, FitSeconds: r.WarmupTime.Seconds(),
		SampleSeconds: r.SampleTime.Seconds() / float64(n), Extras: extras}
	set, err := samples.New(n, r.NumParams, append([]float32(nil), r.Draws...), meta)
	if err != nil {
		return nil, fmt.Errorf("hmc.ToSamples: %w", err)
	}
	set.Loss = append([]float32(nil), r.Potential...)
	chain := make([]float32, n)
	for i := range chain {
		chain[i] = float32(i / r.NumDraws)
	}
	set.Diagnostics = map[string][]float32{"chain": chain, "accept_prob": append([]float32(nil), r.AcceptProb...)}
	if err := set.Validate(); err != nil {
		return nil, fmt.Errorf("hmc.ToSamples: %w", err)
	}
	return set, nil
}

// MustToSamples is like ToSamples but panics on error; for notebooks.
func (r *Result) MustToSamples() *samples.Set {
	s, err := r.ToSamples()
	if err != nil {
		panic(err)
	}
	return s
}
