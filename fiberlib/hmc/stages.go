package hmc

import (
	"fmt"
	"time"
)

// stageKind is what one stage of Sample does.
type stageKind int

const (
	stageFindStep stageKind = iota // the initial step-size heuristic (restarts dual averaging)
	stageRun                       // n transitions, in executed calls of at most maxTrans
	stageMass                      // set the mass matrix from the window accumulators
	stageFinish                    // end of warm-up: switch to the averaged step size ε̄
)

// stage is one step of Sample's fixed plan.
type stage struct {
	kind                  stageKind
	n                     int
	adaptStep, accumulate bool
	warmup                bool
}

func (s stage) name() string {
	if s.warmup {
		return "warm-up"
	}
	return "sampling"
}

// stages is Sample's plan for the sampler's options: the heuristic, the warm-up phases of Stan's schedule
// (each slow window followed by the mass update and the heuristic), the end of warm-up, and sampling. A
// checkpoint names a stage and the transitions done in it; the plan depends only on the options, so a
// resumed run follows the same plan.
func (s *Sampler) stages() []stage {
	o := s.opts
	adaptStep := o.AdaptStepSize && o.NumWarmup > 0
	var out []stage
	if adaptStep {
		out = append(out, stage{kind: stageFindStep})
	}
	for _, ph := range warmupSchedule(o.NumWarmup, o.AdaptMass) {
		if ph.n == 0 {
			continue
		}
		out = append(out, stage{kind: stageRun, n: ph.n, adaptStep: adaptStep, accumulate: ph.accumulate, warmup: true})
		if ph.updateMass {
			out = append(out, stage{kind: stageMass})
			if adaptStep {
				out = append(out, stage{kind: stageFindStep})
			}
		}
	}
	if adaptStep {
		out = append(out, stage{kind: stageFinish})
	}
	return append(out, stage{kind: stageRun, n: o.NumDraws * o.Thin})
}

// driver is the host-side progress of Sample: where in the plan it is and what it has gathered. It is what
// a checkpoint stores besides the chains' State.
type driver struct {
	stage, done int     // current stage and transitions done in it
	res         *Result // GradEvals, Transitions, Divergences so far
	samp        *Trace  // the sampling phase so far
	init        [][]float32

	phaseAcc []float64 // per-chain sum of acceptance probabilities in the current run stage
	phaseN   int
	warmAcc  []float64 // the same for the last warm-up run stage (for WarmupAcceptRate)
	warmN    int

	warmupTime, prevElapsed time.Duration
}

// describe names a divergence for error messages and reports.
func (d Divergence) String() string {
	what := "energy error above the threshold"
	if d.NonFinite {
		what = "NaN or infinite proposal"
	}
	phase := "sampling"
	if d.Warmup {
		phase = "warm-up"
	}
	return fmt.Sprintf("chain %d, %s transition %d: %s", d.Chain, phase, d.Iteration, what)
}
