package fiber

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Trace holds the diagnostics of every particle at every recorded step. Each field but Steps is
// [records][particles]; a particle that stopped has NaN from the record after its stop on, so that it is
// never averaged in by accident.
type Trace struct {
	Steps    []int       // [records] step number after which each record was taken
	Loss     [][]float32 // per-datum loss ℓ(θ) on the full data
	Distance [][]float32 // ‖θ − θ*‖
	GradNorm [][]float32 // ‖∇ℓ(θ)‖ on the walking parameters
	Tangent  [][]float32 // ‖d − (d·ĝ)ĝ‖ ∈ [0, 1]: the share of the drift orthogonal to the gradient
	Gate     [][]float32 // drift gate s = clip(1 − (ℓ − ℓ*)/τ, 0, 1) (1 under ControlNone)
	Progress [][]float32 // displacement along d over the last RecordEvery steps, over (RecordEvery·ε): 1 = the drift is not opposed
	Epsilon  [][]float32 // each particle's drift step ε
	Eta      [][]float32 // each particle's gradient step η (halved at each rejected step)
}

// Snapshot is the positions of all particles at one step, [particles, P] row-major (stopped particles
// included; Result.Samples leaves them out).
type Snapshot struct {
	Step      int
	Positions []float32
}

// Stop records a particle that was stopped: at which step and why.
type Stop struct {
	Particle int
	Step     int    // the step (0-based) at which it was frozen; its position is the one before that step
	Reason   string // "non-finite" (potential, gradient or position) or "diverged" (rise above DivergeRise)
}

// Result is the outcome of a walk: the final positions of the particles that finished, the diagnostics of
// all of them, and the particles that were stopped.
type Result struct {
	Settings  Settings
	MAP       []float32 // θ* [P]
	LossMAP   float64   // ℓ(θ*) on the full data, per datum
	Steps     int       // steps done
	Particles int       // N

	// Finished lists the particles that walked to the end (all but the stopped ones), in order.
	Finished []int
	// Positions are their final positions, [len(Finished), P] row-major.
	Positions []float32
	// FinalLoss is their per-datum loss ℓ at the end, [len(Finished)].
	FinalLoss []float32

	// Stopped lists the particles that were frozen, in order of particle; they are in no sample set.
	Stopped []Stop

	// Halvings is, for each of the N particles, how many times its ε and η were halved because a step
	// was unstable (ControlBudget: a rise above RejectFactor·τ, or a bounce across the valley).
	Halvings []int

	// Snapshots are the positions kept every KeepEvery steps (all N particles; see Samples).
	Snapshots []Snapshot

	// Trace is the per-particle diagnostics at every recorded step.
	Trace Trace
}

// Result returns the walk's current result (it can be read at any time, e.g. after Advance).
func (w *Walker) Result() (*Result, error) {
	n, p := w.set.Particles, w.set.NumParams
	h, err := readState(w.state)
	if err != nil {
		return nil, err
	}
	theta, stopped, reason := h.Theta, h.Stopped, h.Reason
	r := &Result{Settings: w.set, MAP: append([]float32(nil), w.mapTheta...), LossMAP: w.lossStar,
		Steps: w.step, Particles: n, Snapshots: w.snapshots, Trace: w.trace}
	for _, k := range h.Halvings {
		r.Halvings = append(r.Halvings, int(k))
	}
	var lastLoss []float32
	if len(w.trace.Loss) > 0 {
		lastLoss = w.trace.Loss[len(w.trace.Loss)-1]
	}
	for i := 0; i < n; i++ {
		if stopped[i] >= 0 {
			why := "non-finite"
			if reason[i] == reasonDiverged {
				why = "diverged"
			}
			r.Stopped = append(r.Stopped, Stop{Particle: i, Step: int(stopped[i]), Reason: why})
			continue
		}
		r.Finished = append(r.Finished, i)
		r.Positions = append(r.Positions, theta[i*p:(i+1)*p]...)
		if lastLoss != nil {
			r.FinalLoss = append(r.FinalLoss, lastLoss[i])
		} else {
			r.FinalLoss = append(r.FinalLoss, float32(w.lossStar))
		}
	}
	return r, nil
}

// NumParams returns P.
func (r *Result) NumParams() int { return len(r.MAP) }

// Samples returns the sample set [S, P] row-major: the kept snapshots of the finished particles (in step
// order), followed by their final positions. Stopped particles are never included.
func (r *Result) Samples() []float32 {
	p := r.NumParams()
	var out []float32
	for _, s := range r.Snapshots {
		for _, i := range r.Finished {
			out = append(out, s.Positions[i*p:(i+1)*p]...)
		}
	}
	return append(out, r.Positions...)
}

// NumSamples returns the number of rows of Samples.
func (r *Result) NumSamples() int { return len(r.Finished) * (len(r.Snapshots) + 1) }

// FinalRise returns each finished particle's per-datum loss rise ℓ − ℓ* at the end.
func (r *Result) FinalRise() []float64 {
	out := make([]float64, len(r.FinalLoss))
	for i, l := range r.FinalLoss {
		out[i] = float64(l) - r.LossMAP
	}
	return out
}

// Distances returns each finished particle's final distance ‖θ − θ*‖.
func (r *Result) Distances() []float64 {
	p := r.NumParams()
	out := make([]float64, len(r.Finished))
	for k := range r.Finished {
		var ss float64
		for j := 0; j < p; j++ {
			d := float64(r.Positions[k*p+j] - r.MAP[j])
			ss += d * d
		}
		out[k] = math.Sqrt(ss)
	}
	return out
}

// MeanOverFinished returns, for each record of a trace field (e.g. r.Trace.Loss), the mean over the
// particles that finished the walk: stopped particles are never averaged in.
func (r *Result) MeanOverFinished(field [][]float32) []float64 {
	out := make([]float64, len(field))
	for k, row := range field {
		var s float64
		for _, i := range r.Finished {
			s += float64(row[i])
		}
		out[k] = s / float64(max(len(r.Finished), 1))
	}
	return out
}

// Summary returns a few lines describing the walk: settings, the loss rise and distance of the finished
// particles, and the stopped ones.
func (r *Result) Summary() string {
	s := r.Settings
	var b strings.Builder
	fmt.Fprintf(&b, "fiber walk: %d particles × %d steps, control %s, τ %.4g, η %.4g, ε₀ %.4g (growth %g), P_walk %d/%d, n %d",
		s.Particles, r.Steps, s.Control, s.Tau, s.Eta, s.Epsilon, s.EpsilonGrowth, s.WalkParams, s.NumParams, s.NumData)
	if s.BatchSize > 0 {
		fmt.Fprintf(&b, ", batch %d", s.BatchSize)
	}
	if s.Project {
		b.WriteString(", projected drift")
	}
	if s.NoiseTemperature > 0 {
		fmt.Fprintf(&b, ", noise T %g", s.NoiseTemperature)
	}
	rise := r.FinalRise()
	dist := r.Distances()
	fmt.Fprintf(&b, "\n  loss at MAP %.5g per datum; finished %d: rise mean %.4g, median %.4g, max %.4g; distance mean %.4g, max %.4g",
		r.LossMAP, len(r.Finished), mean(rise), quantile(rise, 0.5), maxOf(rise), mean(dist), maxOf(dist))
	var rej, rejParticles int
	for _, k := range r.Halvings {
		rej += k
		if k > 0 {
			rejParticles++
		}
	}
	if rej > 0 {
		fmt.Fprintf(&b, "\n  ε and η halved %d times in %d particles (unstable steps)", rej, rejParticles)
	}
	if len(r.Stopped) > 0 {
		fmt.Fprintf(&b, "\n  stopped %d (excluded):", len(r.Stopped))
		for i, st := range r.Stopped {
			if i == 8 {
				fmt.Fprintf(&b, " …")
				break
			}
			fmt.Fprintf(&b, " #%d at step %d (%s)", st.Particle, st.Step, st.Reason)
		}
	}
	return b.String()
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

func maxOf(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	m := v[0]
	for _, x := range v[1:] {
		m = math.Max(m, x)
	}
	return m
}

func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	return c[int(math.Round(q*float64(len(c)-1)))]
}
