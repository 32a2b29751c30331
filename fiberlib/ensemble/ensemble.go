// Package ensemble trains deep ensembles (Lakshminarayanan, Pritzel & Blundell, "Simple and Scalable
// Predictive Uncertainty Estimation using Deep Ensembles", NeurIPS 2017): M MAP estimates of the same
// network from different random initialisations and minibatch orders, whose predictions are averaged.
//
// The M members train in ONE compiled computation, on the particle axis of every weight tensor
// (fiberlib/train with Members = M): member i starts from nets' InitBatch row i (PCG stream (Seed, i)) and
// shuffles with its own stream (Seed, 2³² + i), so member 0 is exactly the MAP train.MAP gives for Seed
// alone, and every member is reproducible from (Seed, i). The result is a samples.Set with M rows (method
// "ensemble"), each member's per-datum training loss U(θ)/n, and, when the Gaussian noise is fitted, each
// member's σ in Diagnostics["sigma"].
//
// Our choices, relative to the paper: the members minimise the same potential as the other methods (NLL
// plus the Gaussian prior as weight decay) rather than a proper scoring rule with adversarial training; the
// Gaussian noise is either fixed (the network's σ) or fitted per member at its MAP (train's FitNoise), in
// place of the paper's heteroscedastic mean–variance networks (which Heteroscedastic likelihood networks
// also give, when the spec has 2T outputs); M defaults to 5, the paper's choice.
package ensemble

import (
	"fmt"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/fiberbnn/fiberbnn/fiberlib/samples"
	"github.com/fiberbnn/fiberbnn/fiberlib/train"
)

// Options configure Fit.
type Options struct {
	// Members is M (default 5).
	Members int
	// Train configures the training of every member (optimiser, learning rate, epochs, batch size, early
	// stopping, FitNoise, seed, backend). Its Members field must be 0 or equal to Members; Init, if given,
	// must be [M, P] (one start per member).
	Train train.Options
}

// Ensemble is a trained deep ensemble.
type Ensemble struct {
	// Set holds the members as samples, [M, P].
	Set *samples.Set
	// Result is the training record (loss history, best epochs, fitted σ).
	Result *train.Result
}

// Fit trains the ensemble on net's data. With early stopping on a held-out fraction, Result.Network is the
// network on the remaining rows.
func Fit(net *posterior.Network, opts Options) (*Ensemble, error) {
	start := time.Now()
	if net == nil {
		return nil, fmt.Errorf("ensemble.Fit: nil network")
	}
	m := opts.Members
	if m == 0 {
		m = 5
	}
	if m < 1 {
		return nil, fmt.Errorf("ensemble.Fit: Members=%d, want >= 1", opts.Members)
	}
	to := opts.Train
	if to.Members != 0 && to.Members != m {
		return nil, fmt.Errorf("ensemble.Fit: Train.Members=%d differs from Members=%d: set only Members", to.Members, m)
	}
	p := net.NumParams()
	if len(to.Init) != 0 && len(to.Init) != m*p {
		return nil, fmt.Errorf("ensemble.Fit: Train.Init has %d values, want M×P = %d×%d (one start per member; a shared start would make the members identical under full-batch training)",
			len(to.Init), m, p)
	}
	to.Members = m
	res, err := train.MAP(net, to)
	if err != nil {
		return nil, fmt.Errorf("ensemble.Fit: %w", err)
	}
	set := &samples.Set{N: m, P: p, Theta: append([]float32(nil), res.Theta...)}
	set.Method = "ensemble"
	set.Seed = int64(to.Seed)
	set.Dataset = res.Network.Dataset().Name
	set.FitSeconds = time.Since(start).Seconds()
	if err := set.SetNetwork(net.Spec); err != nil {
		return nil, err
	}
	set.Extras = map[string]any{"members": m, "epochs": res.Epochs, "steps": res.Steps, "likelihood": string(net.Likelihood),
		"prior_precision": net.PriorPrecision, "sigma": res.Network.Sigma}
	if res.Sigma != nil {
		s := make([]float32, m)
		for i, v := range res.Sigma {
			s[i] = float32(v)
		}
		set.Diagnostics = map[string][]float32{"sigma": s}
	}
	if err := set.Validate(); err != nil {
		return nil, fmt.Errorf("ensemble.Fit: %w", err)
	}
	ev, err := res.Network.Evaluator()
	if err != nil {
		return nil, fmt.Errorf("ensemble.Fit: %w", err)
	}
	u, err := ev.Potential(set.Theta)
	if err != nil {
		return nil, fmt.Errorf("ensemble.Fit: training loss: %w", err)
	}
	set.Loss = make([]float32, m)
	for i, v := range u {
		set.Loss[i] = v / float32(res.Network.NumData())
	}
	return &Ensemble{Set: set, Result: res}, set.Validate()
}

// MustFit is Fit that panics on error; for notebooks.
func MustFit(net *posterior.Network, opts Options) *Ensemble {
	e, err := Fit(net, opts)
	if err != nil {
		panic(err)
	}
	return e
}
