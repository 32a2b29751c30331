package hmc

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/diagnostics"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/gomlx/compute"
)

// Divergence is one divergent transition: its chain, its iteration (counted from 0 in the warm-up, and
// again from 0 in the sampling phase), whether it happened during warm-up, and whether the proposal was NaN
// or infinite (its potential, position or gradient) rather than merely too far off in energy. Either way
// the proposal was rejected and the chain stayed where it was; the other chains are not affected.
type Divergence struct {
	Chain, Iteration int
	Warmup           bool
	NonFinite        bool
}

// Result is what Sample returns: the draws of every chain with what the sampler did and the diagnostics.
type Result struct {
	// Chains, NumDraws and NumParams are C, S and P.
	Chains, NumDraws, NumParams int
	// Draws are the kept positions, row-major [chains, draws, params].
	Draws []float32
	// Potential is U(θ) of every draw, row-major [chains, draws].
	Potential []float32
	// AcceptProb is the acceptance probability of the transition that produced every draw, [chains, draws].
	AcceptProb []float32
	// StepSize is every chain's step size after warm-up, [chains].
	StepSize []float32
	// InverseMass is every chain's diagonal inverse mass matrix after warm-up, [chains][params].
	InverseMass [][]float32
	// AcceptRate is every chain's mean acceptance probability over the sampling transitions, [chains];
	// WarmupAcceptRate the same over the last warm-up phase (the terminal buffer).
	AcceptRate, WarmupAcceptRate []float64
	// EBFMI is every chain's energy Bayesian fraction of missing information over the sampling
	// transitions (Betancourt 2016): Σ(Eₙ − Eₙ₋₁)² / Σ(Eₙ − Ē)² of the energies Info.Energy. Values below
	// 0.3 say that momentum resampling explores the energy distribution poorly (heavy tails, funnels).
	EBFMI []float64
	// Divergences lists every divergent transition (warm-up and sampling); NumDivergent counts those of
	// the sampling phase per chain.
	Divergences  []Divergence
	NumDivergent []int
	// NumNonFinite counts, per chain, the transitions (warm-up and sampling) whose proposal was NaN or
	// infinite (a subset of the divergences; each is listed in Divergences with NonFinite set).
	NumNonFinite []int
	// GradEvals counts the gradient evaluations of all chains together (warm-up, heuristic and sampling),
	// and Transitions the transitions per chain.
	GradEvals   int64
	Transitions int
	// Summary holds split-R̂ (rank-normalised) and bulk ESS of every parameter.
	Summary *diagnostics.Summary
	// Elapsed is the wall time of Sample, compilation included; WarmupTime and SampleTime split it into
	// initialisation with warm-up, and sampling.
	Elapsed, WarmupTime, SampleTime time.Duration
	// Options are the options used, Seed included.
	Options Options
}

// Draw returns draw s of chain c, [params] (a view into Draws).
func (r *Result) Draw(c, s int) []float32 {
	i := (c*r.NumDraws + s) * r.NumParams
	return r.Draws[i : i+r.NumParams : i+r.NumParams]
}

// Flatten returns all draws of all chains as one sample set, [chains·draws][params] (views into Draws),
// chain after chain.
func (r *Result) Flatten() [][]float32 { return rows(r.Draws, r.NumParams) }

// NumDivergentDraws returns the number of divergent transitions of the sampling phase, all chains
// together (warm-up divergences, common while the step size is being tuned, are not counted).
func (r *Result) NumDivergentDraws() int {
	n := 0
	for _, d := range r.NumDivergent {
		n += d
	}
	return n
}

// String returns a short report.
func (r *Result) String() string {
	var acc float64
	for c := range r.Chains {
		acc += r.AcceptRate[c] / float64(r.Chains)
	}
	return fmt.Sprintf("hmc: %d chains × %d draws × %d params, accept %.3f, %d divergent (%d in warm-up), %s, %d gradient evals, %v",
		r.Chains, r.NumDraws, r.NumParams, acc, r.NumDivergentDraws(), len(r.Divergences)-r.NumDivergentDraws(),
		r.Summary, r.GradEvals, r.Elapsed.Round(time.Millisecond))
}

// InitAround returns chains starting points θ* + jitter·N(0, I), [chains][len(center)], from seed (drawn
// on the host: they are inputs, not part of the chains).
func InitAround(center []float32, chains int, jitter float64, seed int64) ([][]float32, error) {
	if chains < 1 || len(center) == 0 {
		return nil, fmt.Errorf("hmc.InitAround: chains=%d, len(center)=%d: both must be >= 1", chains, len(center))
	}
	if jitter < 0 || math.IsNaN(jitter) || math.IsInf(jitter, 0) {
		return nil, fmt.Errorf("hmc.InitAround: jitter=%v, want a finite value >= 0", jitter)
	}
	r := rand.New(rand.NewPCG(uint64(seed), 0x486d63)) //nolint:gosec // reproducible starting points
	out := make([][]float32, chains)
	for c := range out {
		out[c] = make([]float32, len(center))
		for i, x := range center {
			out[c][i] = x + float32(jitter*r.NormFloat64())
		}
	}
	return out, nil
}

// Sample runs HMC on target from init [chains][params] with opts: warm-up (Options.NumWarmup transitions
// per chain, adapting the step size and the diagonal mass matrix in Stan's windows), then
// Options.NumDraws·Options.Thin sampling transitions of which every Thin-th is kept. It uses the
// process-wide backend.
func Sample(target posterior.Target, init [][]float32, opts Options) (*Result, error) {
	s, err := New(target, opts)
	if err != nil {
		return nil, err
	}
	return s.Sample(init)
}

// MustSample is like Sample but panics on error; for notebooks.
func MustSample(target posterior.Target, init [][]float32, opts Options) *Result {
	r, err := Sample(target, init, opts)
	if err != nil {
		panic(err)
	}
	return r
}

// SampleWithBackend is Sample on backend b.
func SampleWithBackend(b compute.Backend, target posterior.Target, init [][]float32, opts Options) (*Result, error) {
	s, err := NewWithBackend(b, target, opts)
	if err != nil {
		return nil, err
	}
	return s.Sample(init)
}

// Sample runs warm-up and sampling from init with the sampler's options (see the package function Sample).
func (s *Sampler) Sample(init [][]float32) (*Result, error) {
	return s.SampleContext(context.Background(), init)
}

// SampleContext is Sample with a context and checkpoints. Between executed calls it checks ctx: when ctx
// is done it writes a checkpoint (if Options.CheckpointPath is set) and returns an error wrapping
// ctx.Err(). With Options.CheckpointPath it also writes a checkpoint every Options.CheckpointEvery
// transitions, and if the file exists when it starts, it resumes from it instead of starting afresh (the
// file must have been made with the same options, Seed included, and the same init; otherwise it returns an
// error). A resumed run gives bit-identical draws, potentials, step sizes, mass matrices and divergences to
// a run that was never interrupted (same backend). The checkpoint file is left in place when Sample
// finishes; delete it to start over.
func (s *Sampler) SampleContext(ctx context.Context, init [][]float32) (*Result, error) {
	t0 := time.Now()
	o := s.opts
	st, err := s.Init(init)
	if err != nil {
		return nil, err
	}
	C, P := st.chains, st.params
	d := &driver{res: &Result{Chains: C, NumDraws: o.NumDraws, NumParams: P, Options: o},
		samp: &Trace{Chains: C, NumParams: P}, init: init}
	d.res.GradEvals += int64(C) // Init
	if o.CheckpointPath != "" {
		ok, err := s.loadCheckpoint(o.CheckpointPath, d, &st)
		if err != nil {
			return nil, err
		}
		if ok {
			t0 = t0.Add(-d.prevElapsed)
		}
	}
	res := d.res
	stages := s.stages()
	sinceCkpt := 0
	for ; d.stage < len(stages); d.stage, d.done = d.stage+1, 0 {
		sg := stages[d.stage]
		switch sg.kind {
		case stageFindStep:
			var tries int
			if st, tries, err = s.findStepSize(st); err != nil {
				return nil, err
			}
			res.GradEvals += int64(C) * int64(tries)
		case stageMass:
			if st, err = s.adaptMass(st); err != nil {
				return nil, err
			}
		case stageFinish:
			st = st.finishWarmup()
		case stageRun:
			if !sg.warmup && d.done == 0 {
				d.warmupTime = time.Since(t0)
			}
			for d.done < sg.n {
				if err := ctx.Err(); err != nil {
					if o.CheckpointPath != "" {
						if cerr := s.saveCheckpoint(o.CheckpointPath, d, st, time.Since(t0)); cerr != nil {
							return nil, fmt.Errorf("hmc.Sample: interrupted (%w), and the checkpoint failed: %v", err, cerr)
						}
						return nil, fmt.Errorf("hmc.Sample: interrupted at stage %d, transition %d; checkpoint in %s: %w",
							d.stage, d.done, o.CheckpointPath, err)
					}
					return nil, fmt.Errorf("hmc.Sample: interrupted: %w", err)
				}
				m := min(s.maxTrans, sg.n-d.done)
				var tr *Trace
				if st, tr, err = s.run(st, m, sg.adaptStep, sg.accumulate); err != nil {
					return nil, fmt.Errorf("hmc.Sample: %s: %w", sg.name(), err)
				}
				if d.done == 0 {
					d.phaseAcc, d.phaseN = make([]float64, C), 0
				}
				for _, in := range tr.Info {
					for c, a := range in.AcceptProb {
						d.phaseAcc[c] += float64(a)
					}
				}
				d.phaseN += len(tr.Info)
				if sg.warmup {
					res.addTrace(tr, true, res.Transitions)
					d.warmAcc, d.warmN = d.phaseAcc, d.phaseN
				} else {
					res.addTrace(tr, false, len(d.samp.Info))
					d.samp.Draws = append(d.samp.Draws, tr.Draws...)
					d.samp.Info = append(d.samp.Info, tr.Info...)
				}
				d.done += m
				sinceCkpt += m
				if o.CheckpointPath != "" && (sinceCkpt >= o.CheckpointEvery || d.done == sg.n && d.stage == len(stages)-1) {
					if err := s.saveCheckpoint(o.CheckpointPath, d, st, time.Since(t0)); err != nil {
						return nil, err
					}
					sinceCkpt = 0
				}
			}
		}
	}
	if d.warmN > 0 {
		res.WarmupAcceptRate = make([]float64, C)
		for c := range C {
			res.WarmupAcceptRate[c] = d.warmAcc[c] / float64(d.warmN)
		}
	}
	res.WarmupTime = d.warmupTime
	tr := d.samp
	res.AcceptRate = meanAccept(tr)
	res.EBFMI = make([]float64, C)
	energy := make([]float64, len(tr.Info))
	for c := range C {
		for i, in := range tr.Info {
			energy[i] = float64(in.Energy[c])
		}
		res.EBFMI[c] = ebfmi(energy)
	}
	res.NumDivergent = make([]int, C)
	res.NumNonFinite = make([]int, C)
	for _, dv := range res.Divergences {
		if !dv.Warmup {
			res.NumDivergent[dv.Chain]++
		}
		if dv.NonFinite {
			res.NumNonFinite[dv.Chain]++
		}
	}
	res.StepSize = st.StepSizes()
	res.InverseMass = st.InverseMass()

	// [draws, chains, params] → [chains, draws, params].
	S := o.NumDraws
	res.Draws = make([]float32, C*S*P)
	res.Potential = make([]float32, C*S)
	res.AcceptProb = make([]float32, C*S)
	for d := range S {
		in := tr.Info[(d+1)*o.Thin-1]
		for c := range C {
			copy(res.Draws[(c*S+d)*P:(c*S+d+1)*P], tr.Draws[(d*C+c)*P:(d*C+c+1)*P])
			res.Potential[c*S+d] = in.Potential[c]
			res.AcceptProb[c*S+d] = in.AcceptProb[c]
		}
	}
	res.SampleTime = time.Since(t0) - res.WarmupTime
	if S >= 8 {
		if res.Summary, err = diagnostics.Summarize(res.Draws, C, S, P); err != nil {
			return nil, fmt.Errorf("hmc.Sample: diagnostics: %w", err)
		}
	}
	res.Elapsed = time.Since(t0)
	return res, nil
}

func (r *Result) addTrace(tr *Trace, warmup bool, offset int) {
	for i, in := range tr.Info {
		for c, d := range in.Divergent {
			if d {
				r.Divergences = append(r.Divergences, Divergence{Chain: c, Iteration: offset + i, Warmup: warmup,
					NonFinite: in.NonFinite[c]})
			}
		}
	}
	r.GradEvals += tr.GradEvals()
	r.Transitions += len(tr.Info)
}

func meanAccept(tr *Trace) []float64 {
	out := make([]float64, tr.Chains)
	for _, in := range tr.Info {
		for c, a := range in.AcceptProb {
			out[c] += float64(a) / float64(len(tr.Info))
		}
	}
	return out
}

// ebfmi returns Σ(Eₙ − Eₙ₋₁)² / Σ(Eₙ − Ē)² (NaN for fewer than 2 energies or constant energies).
func ebfmi(e []float64) float64 {
	if len(e) < 2 {
		return math.NaN()
	}
	var mean float64
	for _, v := range e {
		mean += v / float64(len(e))
	}
	var num, den float64
	for i, v := range e {
		den += (v - mean) * (v - mean)
		if i > 0 {
			num += (v - e[i-1]) * (v - e[i-1])
		}
	}
	if den == 0 {
		return math.NaN()
	}
	return num / den
}
