package fiber

import (
	"fmt"
	"io"
	"math"
	"sort"
	"time"
)

// Control says how the walk keeps particles in the low-loss region.
type Control string

const (
	// ControlBudget (the default) scales each particle's drift by s = clip(1 − r/τ, 0, 1), where r is its
	// per-datum loss rise over the MAP: the drift fades as the particle spends its budget τ, and the gradient
	// holds it near the level set ℓ* + τ, along which it keeps sliding. Our choice.
	ControlBudget Control = "budget"

	// ControlNone is the paper's plain rule: the drift always acts at full strength (s = 1). With a fixed
	// drift and a long walk, particles leave curved valleys; use it with a small ε·T.
	ControlNone Control = "none"
)

// IndexRange is the half-open range [Start, End) of parameter indices (positions in the flat θ vector).
type IndexRange struct {
	Start, End int
}

// Progress is a snapshot of a running walk, passed to Options.ProgressFunc.
type Progress struct {
	Step, Steps int           // steps done, steps in total
	Alive       int           // particles still walking
	Stopped     int           // particles stopped (divergent or non-finite)
	MeanRise    float64       // mean per-datum loss rise ℓ − ℓ* over the walking particles
	MaxRise     float64       // largest rise over the walking particles
	MeanDist    float64       // mean distance ‖θ − θ*‖ over the walking particles
	Elapsed     time.Duration // wall time since this Run started
	StepsPerSec float64       // particle-steps per second in this Run (steps × particles / elapsed)
}

// Defaults of Options. A zero field in Options means "use the default".
const (
	DefaultParticles     = 64
	DefaultSteps         = 4000
	DefaultEpsilonGrowth = 0.03  // per step, while a particle has spent less than half its budget
	DefaultEtaFraction   = 0.5   // η = DefaultEtaFraction / λ_max(∇²ℓ(θ*))
	DefaultEpsilonStart  = 0.01  // ε₀ = DefaultEpsilonStart · √(2τ / λ_max): a small fraction of the stiffest width
	DefaultDivergeFactor = 100.0 // DivergeRise = DefaultDivergeFactor · τ
	DefaultRejectFactor  = 2.0   // ControlBudget rejects a step that leaves the particle above DefaultRejectFactor · τ
	DefaultRecords       = 50    // RecordEvery ≈ Steps / DefaultRecords
	DefaultProgressEvery = 2 * time.Second
	DefaultCheckpoints   = 10 // CheckpointEvery ≈ Steps / DefaultCheckpoints
)

// Options configures a walk. The zero value of every field selects its documented default.
type Options struct {
	// Particles is N, the number of walkers. Default 64.
	Particles int

	// Steps is T, the number of steps. Default 4000. Must be a multiple of RecordEvery.
	Steps int

	// Control is the loss-rise control. Default ControlBudget.
	Control Control

	// Tau is the per-datum loss-rise budget τ: particles are kept at ℓ(θ) − ℓ(θ*) ≲ τ (ControlBudget).
	// Default P_walk/(2·n): the mean rise of a posterior sample in the Laplace approximation, with P_walk the
	// number of walking parameters and n the number of data (1 without data).
	Tau float64

	// Eta is η, the step on the per-datum loss gradient ∇ℓ = ∇U/n. Default 0.5/λ_max, with λ_max the largest
	// eigenvalue of ∇²ℓ at θ* (restricted to the walking parameters), found by power iteration.
	Eta float64

	// Epsilon is the initial drift step ε (a length in parameter space). Default 0.01·√(2τ/λ_max), a
	// hundredth of the width of the stiffest direction at the budget.
	Epsilon float64

	// EpsilonGrowth γ: while a particle has spent less than half its budget (r < τ/2), its ε is multiplied by
	// (1+γ) each step, so it reaches the level set whatever the scale of the valley; afterwards ε stays.
	// Default 0.03 under ControlBudget, 0 (fixed ε, the paper's rule) under ControlNone. FixedEpsilon turns it
	// off.
	EpsilonGrowth float64

	// FixedEpsilon keeps ε constant (the paper's rule).
	FixedEpsilon bool

	// Project removes from the drift its component along ∇ℓ before each step (d ← d − (d·ĝ)ĝ), so the drift
	// only moves along the current level set. A variant the method leaves open. Default false.
	Project bool

	// NoiseTemperature adds Gaussian noise √(2·η·T_noise/n)·ξ each step (restricted to the walking
	// parameters): with T_noise = 1 this is the noise of unadjusted Langevin dynamics on the posterior at
	// step η/n. Default 0 (no noise).
	NoiseTemperature float64

	// BatchSize is the number of examples per gradient step (drawn with replacement, shared by all particles,
	// fresh every step). 0, the default, or ≥ NumData means the full batch. With minibatches the controls use
	// the paired rise ℓ_B(θ) − ℓ_B(θ*) on the step's batch (one extra forward pass at θ*); diagnostics always
	// use the full batch. The minibatch gradient noise adds to the walk's spread: keep the full batch where
	// it fits.
	BatchSize int

	// Walk lists the parameter ranges that walk; the other parameters stay at θ*. Default: all.
	Walk []IndexRange

	// RejectFactor (ControlBudget only): a particle found with a rise above RejectFactor·τ returns to its
	// previous position and halves its ε and η (the step was unstable: η too large for the curvature met
	// along the fiber, or ε too large for the gate). Default 2. Must be > 1.
	RejectFactor float64

	// DivergeRise: a particle whose per-datum rise exceeds it is stopped as divergent. Default 100·τ; use
	// math.Inf(1) to stop only non-finite particles.
	DivergeRise float64

	// RecordEvery is the number of steps between recorded diagnostics (and the number of steps per executed
	// call). Default: the largest divisor of Steps not above Steps/50.
	RecordEvery int

	// KeepEvery keeps the positions every KeepEvery steps (a multiple of RecordEvery) from step KeepAfter on,
	// in addition to the final ones. Default 0: final positions only.
	KeepEvery int

	// KeepAfter is the first step whose positions KeepEvery keeps. Default Steps/2.
	KeepAfter int

	// Seed selects the drifts and, with minibatches or noise, the random stream of the walk. Same seed, same
	// backend → same numbers.
	Seed int64

	// Progress, when not nil, receives a one-line report at most every ProgressEvery, and at the end.
	Progress io.Writer

	// ProgressFunc, when not nil, is called after every recorded step.
	ProgressFunc func(Progress)

	// ProgressEvery is the least time between two lines written to Progress. Default 2 s.
	ProgressEvery time.Duration

	// CheckpointPath, when set, is where Run saves the walk (atomically) every CheckpointEvery steps, at the
	// end, and when its context is cancelled. Walk resumes from it when the file exists.
	CheckpointPath string

	// CheckpointEvery is the number of steps between checkpoints (a multiple of RecordEvery). Default: about
	// Steps/10.
	CheckpointEvery int
}

// Settings are the resolved, validated values of Options for one target: what a walk actually used, with
// every default filled in. They are stored in checkpoints and reported in Result.
type Settings struct {
	Particles, Steps int
	Control          Control
	Tau              float64 // per-datum loss-rise budget
	Eta              float64 // step on ∇ℓ
	Epsilon          float64 // initial drift step
	EpsilonGrowth    float64 // 0: fixed ε
	Project          bool
	NoiseTemperature float64
	BatchSize        int // 0: full batch
	Walk             []IndexRange
	WalkParams       int // P_walk, the number of walking parameters
	DivergeRise      float64
	RejectFactor     float64
	RecordEvery      int
	KeepEvery        int
	KeepAfter        int
	Seed             int64
	CheckpointEvery  int
	NumParams        int     // P
	NumData          int     // n (0 for a target without data)
	LambdaMax        float64 // estimated λ_max(∇²ℓ(θ*)) on the walking parameters (0 when not needed)
	EtaAuto          bool    // Eta was chosen automatically
	EpsilonAuto      bool    // Epsilon was chosen automatically
	TauAuto          bool    // Tau was chosen automatically
	DivergeRiseAuto  bool    // DivergeRise was chosen automatically
}

func finitePositive(name string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fmt.Errorf("fiber: Options.%s = %g: must be a finite number ≥ 0 (0 selects the default)", name, v)
	}
	return nil
}

// validate checks the options that do not depend on the target, and resolves the walk ranges against P.
func (o *Options) validate(numParams, numData int) (Settings, error) {
	s := Settings{NumParams: numParams, NumData: numData}
	if numParams < 1 {
		return s, fmt.Errorf("fiber: the target has %d parameters; need at least 1", numParams)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"Tau", o.Tau}, {"Eta", o.Eta}, {"Epsilon", o.Epsilon}, {"EpsilonGrowth", o.EpsilonGrowth},
		{"NoiseTemperature", o.NoiseTemperature}} {
		if err := finitePositive(f.name, f.v); err != nil {
			return s, err
		}
	}
	if math.IsNaN(o.DivergeRise) || o.DivergeRise < 0 {
		return s, fmt.Errorf("fiber: Options.DivergeRise = %g: must be ≥ 0 (0 selects 100·τ, +Inf disables)", o.DivergeRise)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"Particles", o.Particles}, {"Steps", o.Steps}, {"BatchSize", o.BatchSize}, {"RecordEvery", o.RecordEvery},
		{"KeepEvery", o.KeepEvery}, {"KeepAfter", o.KeepAfter}, {"CheckpointEvery", o.CheckpointEvery}} {
		if f.v < 0 {
			return s, fmt.Errorf("fiber: Options.%s = %d: must be ≥ 0 (0 selects the default)", f.name, f.v)
		}
	}
	if o.ProgressEvery < 0 {
		return s, fmt.Errorf("fiber: Options.ProgressEvery = %v: must be ≥ 0", o.ProgressEvery)
	}
	s.Particles = orInt(o.Particles, DefaultParticles)
	s.Steps = orInt(o.Steps, DefaultSteps)
	switch o.Control {
	case "":
		s.Control = ControlBudget
	case ControlBudget, ControlNone:
		s.Control = o.Control
	default:
		return s, fmt.Errorf("fiber: Options.Control = %q: want %q or %q", o.Control, ControlBudget, ControlNone)
	}
	if o.FixedEpsilon {
		if o.EpsilonGrowth != 0 {
			return s, fmt.Errorf("fiber: Options.FixedEpsilon is set together with EpsilonGrowth = %g: choose one", o.EpsilonGrowth)
		}
	} else if o.EpsilonGrowth > 0 || s.Control == ControlBudget {
		// Growth needs the budget to stop it: under ControlNone it is off unless asked for.
		s.EpsilonGrowth = orFloat(o.EpsilonGrowth, DefaultEpsilonGrowth)
	}
	s.Project = o.Project
	s.NoiseTemperature = o.NoiseTemperature
	if o.BatchSize > 0 && (numData == 0 || o.BatchSize < numData) {
		if numData == 0 {
			return s, fmt.Errorf("fiber: Options.BatchSize = %d but the target has no data; leave it 0", o.BatchSize)
		}
		s.BatchSize = o.BatchSize
	}
	walk, pw, err := resolveRanges(o.Walk, numParams)
	if err != nil {
		return s, err
	}
	s.Walk, s.WalkParams = walk, pw

	s.RecordEvery = o.RecordEvery
	if s.RecordEvery == 0 {
		s.RecordEvery = largestDivisorAtMost(s.Steps, max(1, s.Steps/DefaultRecords))
	}
	if s.Steps%s.RecordEvery != 0 {
		return s, fmt.Errorf("fiber: Options.Steps = %d is not a multiple of RecordEvery = %d: change one of them",
			s.Steps, s.RecordEvery)
	}
	s.KeepEvery = o.KeepEvery
	if s.KeepEvery%s.RecordEvery != 0 {
		return s, fmt.Errorf("fiber: Options.KeepEvery = %d is not a multiple of RecordEvery = %d", s.KeepEvery, s.RecordEvery)
	}
	s.KeepAfter = o.KeepAfter
	if s.KeepAfter == 0 {
		s.KeepAfter = s.Steps / 2
	}
	s.CheckpointEvery = o.CheckpointEvery
	if s.CheckpointEvery == 0 {
		s.CheckpointEvery = max(1, (s.Steps/DefaultCheckpoints)/s.RecordEvery) * s.RecordEvery
	}
	if s.CheckpointEvery%s.RecordEvery != 0 {
		return s, fmt.Errorf("fiber: Options.CheckpointEvery = %d is not a multiple of RecordEvery = %d",
			s.CheckpointEvery, s.RecordEvery)
	}
	s.Seed = o.Seed

	n := float64(max(numData, 1))
	s.Tau, s.TauAuto = o.Tau, o.Tau == 0
	if s.TauAuto {
		s.Tau = float64(s.WalkParams) / (2 * n)
	}
	s.DivergeRise, s.DivergeRiseAuto = o.DivergeRise, o.DivergeRise == 0
	if s.DivergeRiseAuto {
		s.DivergeRise = DefaultDivergeFactor * s.Tau
	}
	s.RejectFactor = orFloat(o.RejectFactor, DefaultRejectFactor)
	if math.IsNaN(s.RejectFactor) || s.RejectFactor <= 1 {
		return s, fmt.Errorf("fiber: Options.RejectFactor = %g: must be > 1 (0 selects %g)", o.RejectFactor, DefaultRejectFactor)
	}
	if s.DivergeRise <= s.RejectFactor*s.Tau && s.Control == ControlBudget {
		return s, fmt.Errorf("fiber: Options.DivergeRise = %g must exceed RejectFactor·τ = %g", s.DivergeRise, s.RejectFactor*s.Tau)
	}
	s.Eta, s.EtaAuto = o.Eta, o.Eta == 0
	s.Epsilon, s.EpsilonAuto = o.Epsilon, o.Epsilon == 0
	return s, nil
}

// resolveRanges checks and merges the walking ranges; nil means all parameters.
func resolveRanges(rs []IndexRange, p int) ([]IndexRange, int, error) {
	if len(rs) == 0 {
		return []IndexRange{{0, p}}, p, nil
	}
	c := append([]IndexRange(nil), rs...)
	for i, r := range c {
		if r.Start < 0 || r.End > p || r.Start >= r.End {
			return nil, 0, fmt.Errorf("fiber: Options.Walk[%d] = [%d, %d): want 0 ≤ Start < End ≤ %d (the number of parameters)",
				i, r.Start, r.End, p)
		}
	}
	sort.Slice(c, func(i, j int) bool { return c[i].Start < c[j].Start })
	merged := []IndexRange{c[0]}
	for _, r := range c[1:] {
		last := &merged[len(merged)-1]
		if r.Start <= last.End {
			last.End = max(last.End, r.End)
		} else {
			merged = append(merged, r)
		}
	}
	n := 0
	for _, r := range merged {
		n += r.End - r.Start
	}
	return merged, n, nil
}

// walkMask returns the [P] mask with 1 on the walking parameters.
func (s *Settings) walkMask() []float32 {
	m := make([]float32, s.NumParams)
	for _, r := range s.Walk {
		for i := r.Start; i < r.End; i++ {
			m[i] = 1
		}
	}
	return m
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func orFloat(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

func largestDivisorAtMost(n, k int) int {
	for d := min(k, n); d > 1; d-- {
		if n%d == 0 {
			return d
		}
	}
	return 1
}
