package fiber

import (
	"fmt"
	"math"

	"github.com/fiberbnn/fiberbnn/fiberlib/samples"
)

// ToSamples returns the walk's samples (Samples: the kept snapshots of the finished particles, then their
// final positions) as a samples.Set with Method "fiber", the walk's seed, the MAP, and per sample: Loss =
// the per-datum loss ℓ = U/n on the full data, and the diagnostics "rise" (ℓ − ℓ*), "distance" (‖θ − θ*‖),
// "particle" (index of the particle) and "step" (step of the position). Extras hold the resolved settings
// and the number of stopped particles. Network, Dataset and timings are left for the caller to fill.
// It fails when no particle finished.
func (r *Result) ToSamples() (*samples.Set, error) {
	if len(r.Finished) == 0 {
		return nil, fmt.Errorf("fiber: no particle finished the walk (%d stopped): no samples", len(r.Stopped))
	}
	p := r.NumParams()
	theta := r.Samples()
	n := len(theta) / p
	rowOf := map[int]int{}
	for k, s := range r.Trace.Steps {
		rowOf[s] = k
	}
	loss := make([]float32, 0, n)
	rise, dist, particle, step := make([]float32, 0, n), make([]float32, 0, n), make([]float32, 0, n), make([]float32, 0, n)
	add := func(at int, losses []float32, positions []float32, i int) {
		l := losses[i]
		loss = append(loss, l)
		rise = append(rise, l-float32(r.LossMAP))
		var ss float64
		for j := 0; j < p; j++ {
			d := float64(positions[j] - r.MAP[j])
			ss += d * d
		}
		dist = append(dist, float32(math.Sqrt(ss)))
		particle = append(particle, float32(i))
		step = append(step, float32(at))
	}
	for _, s := range r.Snapshots {
		k, ok := rowOf[s.Step]
		if !ok {
			return nil, fmt.Errorf("fiber: snapshot at step %d has no recorded diagnostics", s.Step)
		}
		for _, i := range r.Finished {
			add(s.Step, r.Trace.Loss[k], s.Positions[i*p:(i+1)*p], i)
		}
	}
	final := make([]float32, r.Particles)
	for k, i := range r.Finished {
		final[i] = r.FinalLoss[k]
	}
	for k, i := range r.Finished {
		add(r.Steps, final, r.Positions[k*p:(k+1)*p], i)
	}
	set, err := samples.New(n, p, theta, samples.Meta{Method: "fiber", Seed: r.Settings.Seed, Extras: map[string]any{
		"settings":         r.Settings,
		"loss":             "per-datum U/n on the full data",
		"loss_map":         r.LossMAP,
		"particles":        r.Particles,
		"stopped":          len(r.Stopped),
		"steps":            r.Steps,
		"halvings_total":   sumInts(r.Halvings),
		"samples_per_walk": len(r.Snapshots) + 1,
	}})
	if err != nil {
		return nil, err
	}
	set.Loss = loss
	set.MAP = append([]float32(nil), r.MAP...)
	set.Diagnostics = map[string][]float32{"rise": rise, "distance": dist, "particle": particle, "step": step}
	return set, set.Validate()
}

// MustToSamples is ToSamples that panics on error, for notebooks.
func (r *Result) MustToSamples() *samples.Set {
	s, err := r.ToSamples()
	if err != nil {
		panic(err)
	}
	return s
}

func sumInts(v []int) int {
	s := 0
	for _, x := range v {
		s += x
	}
	return s
}
