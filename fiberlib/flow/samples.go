package flow

import (
	"fmt"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/samples"
)

// FitSamples fits a flow to a sample set (from any method), using its MAP as θ*.
func FitSamples(set *samples.Set, subOpts SubspaceOptions, opts Options, train TrainOptions) (*Flow, error) {
	if set == nil {
		return nil, fmt.Errorf("flow.FitSamples: nil sample set")
	}
	if err := set.Validate(); err != nil {
		return nil, fmt.Errorf("flow.FitSamples: %w", err)
	}
	if set.MAP == nil {
		return nil, fmt.Errorf("flow.FitSamples: the %q set has no MAP: set its MAP (θ*, the origin of the displacements) or call Fit with a center", set.Method)
	}
	if particle, ok := set.Diagnostics["particle"]; ok && train.Groups == nil && len(particle) == set.N {
		// Hold out whole walk particles (or chains): their snapshots are correlated.
		groups := make([]int, set.N)
		for i, v := range particle {
			groups[i] = int(v)
		}
		if checkGroups(groups, set.N) == nil { // a single particle: hold out rows
			train.Groups = groups
		}
	}
	f, err := Fit(set.MAP, set.Theta, subOpts, opts, train)
	if err != nil {
		return nil, err
	}
	if set.Loss != nil {
		f.Levels = append([]float32(nil), set.Loss...)
	}
	return f, nil
}

// MustFitSamples is FitSamples that panics on error, for notebooks.
func MustFitSamples(set *samples.Set, subOpts SubspaceOptions, opts Options, train TrainOptions) *Flow {
	f, err := FitSamples(set, subOpts, opts, train)
	if err != nil {
		panic(err)
	}
	return f
}

// SampleSet draws n samples as a sample set of method "flow": MAP θ*, the per-sample log density as the
// diagnostic "log_q", the fit time and the wall time per sample (of this call, compilation included on a
// first call), and the flow's rank, variance kept and held-out NLL as extras.
func (f *Flow) SampleSet(n int, seed uint64) (*samples.Set, error) {
	start := time.Now()
	d, err := f.Sample(n, seed)
	if err != nil {
		return nil, err
	}
	el := time.Since(start)
	set, err := samples.New(n, f.Subspace.P, d.Theta, samples.Meta{
		Method: "flow", Seed: int64(seed),
		FitSeconds: f.Report.Duration.Seconds(), SampleSeconds: el.Seconds() / float64(n),
		Extras: map[string]any{"rank": f.Rank(), "variance_kept": f.Subspace.VarianceKept,
			"coupling": string(f.Options.Coupling), "layers": f.Options.Layers,
			"heldout_nll": f.Report.BestValidLoss},
	})
	if err != nil {
		return nil, fmt.Errorf("flow.SampleSet: %w", err)
	}
	set.MAP = append([]float32(nil), f.Subspace.Center...)
	set.Diagnostics = map[string][]float32{"log_q": d.LogQ}
	return set, nil
}
