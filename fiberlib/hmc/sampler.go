package hmc

import (
	"fmt"
	"math"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/internal/gloop"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// unrolledSteps is the number of leapfrog steps one call unrolls by default on the pure-Go backend.
const unrolledSteps = 160

// Sampler runs HMC transitions of several chains of one Target in compiled computations. It compiles its
// graphs on first use for a given number of chains. Not safe for concurrent use.
type Sampler struct {
	target   posterior.Target
	opts     Options
	backend  compute.Backend
	useWhile bool
	maxTrans int
	data     []*tensors.Tensor

	chains                                int // chains the executables were built for
	cfg                                   *kernelConfig
	transExec, initExec, stepExec, massEx *Exec
}

// New returns a Sampler for target with opts, on the process-wide backend (backend.New).
func New(target posterior.Target, opts Options) (*Sampler, error) {
	b, err := backend.New()
	if err != nil {
		return nil, err
	}
	return NewWithBackend(b, target, opts)
}

// MustNew is like New but panics on error; for notebooks.
func MustNew(target posterior.Target, opts Options) *Sampler {
	s, err := New(target, opts)
	if err != nil {
		panic(err)
	}
	return s
}

// NewWithBackend returns a Sampler on backend b.
func NewWithBackend(b compute.Backend, target posterior.Target, opts Options) (*Sampler, error) {
	if target == nil {
		return nil, fmt.Errorf("hmc.New: target is nil")
	}
	if target.NumParams() < 1 {
		return nil, fmt.Errorf("hmc.New: target has NumParams()=%d, want >= 1", target.NumParams())
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	data := target.Data()
	for i, d := range data {
		if d == nil || d.Shape().Rank() < 1 || d.Shape().Dimensions[0] != target.NumData() {
			return nil, fmt.Errorf("hmc.New: target data tensor %d has shape %v, want %d examples on axis 0 (NumData)",
				i, d.Shape(), target.NumData())
		}
	}
	s := &Sampler{target: target, opts: opts, backend: b, useWhile: gloop.UseWhile(b), data: data}
	s.maxTrans = opts.TransitionsPerCall
	if s.maxTrans == 0 {
		s.maxTrans = 100
		if !s.useWhile {
			s.maxTrans = max(1, unrolledSteps/opts.NumSteps)
		}
	}
	s.maxTrans = (s.maxTrans + opts.Thin - 1) / opts.Thin * opts.Thin
	return s, nil
}

// WithSeed returns a sampler that shares this one's compiled computations but starts its chains (Init,
// Sample) from seed.
func (s *Sampler) WithSeed(seed int64) *Sampler {
	c := *s
	c.opts.Seed = seed
	return &c
}

// Options returns the sampler's options.
func (s *Sampler) Options() Options { return s.opts }

// build compiles (lazily) the executables for C chains.
func (s *Sampler) build(chains int) {
	if s.cfg != nil && s.chains == chains {
		return
	}
	o := s.opts
	s.chains = chains
	s.cfg = &kernelConfig{target: s.target, chains: chains, params: s.target.NumParams(), steps: o.NumSteps,
		jitter: o.JitterSteps, maxTrans: s.maxTrans, thin: o.Thin, useWhile: s.useWhile,
		divergence: o.DivergenceThreshold, targetAccept: o.TargetAccept, gamma: o.Gamma, t0: o.T0, kappa: o.Kappa}
	s.transExec = MustNewExec(s.backend, s.cfg.transitions).WithName("hmc.transitions")
	s.initExec = MustNewExec(s.backend, potentialAndGrad(s.target)).WithName("hmc.init")
	s.stepExec = MustNewExec(s.backend, s.cfg.findStepSize).WithName("hmc.findStepSize")
	s.massEx = MustNewExec(s.backend, s.cfg.massFromWindow(o.PoolMass)).WithName("hmc.mass")
}

// Init starts len(position) chains at position [chains][params], with step size Options.StepSize, an
// identity mass matrix and the random state of Options.Seed. It returns an error naming the chain if a
// position, its potential or its gradient is NaN or infinite.
func (s *Sampler) Init(position [][]float32) (*State, error) {
	P := s.target.NumParams()
	C := len(position)
	if C == 0 {
		return nil, fmt.Errorf("hmc.Init: no chains (position is empty)")
	}
	flat := make([]float32, 0, C*P)
	for c, row := range position {
		if len(row) != P {
			return nil, fmt.Errorf("hmc.Init: chain %d has %d parameters, want %d (target.NumParams())", c, len(row), P)
		}
		for i, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("hmc.Init: chain %d starts with parameter %d = %v; give finite values", c, i, v)
			}
		}
		flat = append(flat, row...)
	}
	s.build(C)
	pos := tensors.FromFlatDataAndDimensions(flat, C, P)
	out, err := s.initExec.Call(append(s.dataArgs(), pos)...)
	if err != nil {
		return nil, fmt.Errorf("hmc.Init: evaluating the potential: %w", err)
	}
	u := tensors.MustCopyFlatData[float32](out[0])
	g := tensors.MustCopyFlatData[float32](out[1])
	for c := range C {
		if !finite32(u[c : c+1]) {
			return nil, fmt.Errorf("hmc.Init: chain %d starts where the potential is %v; start it elsewhere "+
				"(closer to the MAP, or with a smaller jitter)", c, u[c])
		}
		if !finite32(g[c*P : (c+1)*P]) {
			return nil, fmt.Errorf("hmc.Init: chain %d starts where the gradient of the potential is not finite; "+
				"start it elsewhere (closer to the MAP, or with a smaller jitter)", c)
		}
	}
	rng, err := RNGStateFromSeed(s.opts.Seed)
	if err != nil {
		return nil, fmt.Errorf("hmc.Init: random state: %w", err)
	}
	fill := func(v float32, dims ...int) *tensors.Tensor {
		t := tensors.FromShape(shapes.Make(dtypes.Float32, dims...))
		tensors.MutableFlatData(t, func(f []float32) {
			for i := range f {
				f[i] = v
			}
		})
		return t
	}
	logEps := float32(math.Log(s.opts.StepSize))
	st := &State{chains: C, params: P, t: []*tensors.Tensor{
		pos, out[0], out[1], rng, fill(logEps, C), fill(1, C, P),
		fill(0, C), fill(0, C), fill(float32(math.Log(10*s.opts.StepSize)), C), fill(0),
		fill(0, C, P), fill(0, C, P), fill(0)}}
	return st, nil
}

// MustInit is like Init but panics on error; for notebooks.
func (s *Sampler) MustInit(position [][]float32) *State {
	st, err := s.Init(position)
	if err != nil {
		panic(err)
	}
	return st
}

func (s *Sampler) dataArgs() []any {
	args := make([]any, len(s.data))
	for i, d := range s.data {
		args[i] = d
	}
	return args
}

func (s *Sampler) check(st *State) error {
	if st == nil || len(st.t) != numChainState {
		return fmt.Errorf("hmc: state is nil or not made by Sampler.Init")
	}
	if st.params != s.target.NumParams() {
		return fmt.Errorf("hmc: state has %d parameters, the target %d", st.params, s.target.NumParams())
	}
	s.build(st.chains)
	return nil
}

// Step runs one transition of every chain with the state's step sizes and mass matrices (no adaptation).
func (s *Sampler) Step(st *State) (*State, *Info, error) {
	ns, tr, err := s.run(st, 1, false, false)
	if err != nil {
		return nil, nil, err
	}
	return ns, &tr.Info[0], nil
}

// Run runs n transitions of every chain (no adaptation), in calls of at most Options.TransitionsPerCall
// transitions, and returns the new state with the trace (every Thin-th position is kept).
func (s *Sampler) Run(st *State, n int) (*State, *Trace, error) {
	return s.run(st, n, false, false)
}

// run executes n transitions; adaptStep and accumulate switch the warm-up updates on.
func (s *Sampler) run(st *State, n int, adaptStep, accumulate bool) (*State, *Trace, error) {
	if err := s.check(st); err != nil {
		return nil, nil, err
	}
	if n < 1 {
		return nil, nil, fmt.Errorf("hmc.Run: n=%d transitions, want >= 1", n)
	}
	C, P := st.chains, st.params
	tr := &Trace{Chains: C, NumParams: P}
	cur := st
	for done := 0; done < n; {
		m := min(s.maxTrans, n-done)
		args := []any{int32(m), adaptStep, accumulate}
		args = append(args, s.dataArgs()...)
		for _, t := range cur.t {
			args = append(args, t)
		}
		out, err := s.transExec.Call(args...)
		if err != nil {
			return nil, nil, fmt.Errorf("hmc: running transitions: %w", err)
		}
		cur = &State{chains: C, params: P, t: out[:numChainState]}
		rec := out[numChainState:]
		pos := tensors.MustCopyFlatData[float32](rec[0])
		tr.Draws = append(tr.Draws, pos[:(m/s.opts.Thin)*C*P]...)
		acc := tensors.MustCopyFlatData[float32](rec[1])
		div := tensors.MustCopyFlatData[float32](rec[2])
		u := tensors.MustCopyFlatData[float32](rec[3])
		e := tensors.MustCopyFlatData[float32](rec[4])
		eps := tensors.MustCopyFlatData[float32](rec[5])
		l := tensors.MustCopyFlatData[int32](rec[6])
		for i := range m {
			in := Info{AcceptProb: acc[i*C : (i+1)*C], Divergent: make([]bool, C), NonFinite: make([]bool, C),
				StepSize: eps[i*C : (i+1)*C], Potential: u[i*C : (i+1)*C], Energy: e[i*C : (i+1)*C], NumSteps: int(l[i])}
			for c := range C {
				in.Divergent[c] = div[i*C+c] != 0
				in.NonFinite[c] = div[i*C+c] > 1
			}
			tr.Info = append(tr.Info, in)
		}
		done += m
	}
	return cur, tr, nil
}

// FindStepSize runs the initial step-size heuristic (Hoffman & Gelman 2014, Algorithm 4, as in Stan) for
// every chain from its current position and mass matrix, and restarts dual averaging at μ = log(10 ε).
func (s *Sampler) FindStepSize(st *State) (*State, error) {
	ns, _, err := s.findStepSize(st)
	return ns, err
}

// findStepSize is FindStepSize, also returning the number of tries (leapfrog steps per chain).
func (s *Sampler) findStepSize(st *State) (*State, int, error) {
	if err := s.check(st); err != nil {
		return nil, 0, err
	}
	args := s.dataArgs()
	args = append(args, st.t[0], st.t[1], st.t[2], st.t[3], st.t[4], st.t[5])
	out, err := s.stepExec.Call(args...)
	if err != nil {
		return nil, 0, fmt.Errorf("hmc: step-size heuristic: %w", err)
	}
	ns := st.clone()
	ns.t[4], ns.t[3] = out[0], out[1]
	ns.restartDualAveraging()
	return ns, int(tensors.MustCopyFlatData[int32](out[2])[0]), nil
}

// adaptMass sets the inverse mass matrix from the window accumulators and clears them.
func (s *Sampler) adaptMass(st *State) (*State, error) {
	out, err := s.massEx.Call(st.t[10], st.t[11], st.t[12])
	if err != nil {
		return nil, fmt.Errorf("hmc: mass matrix: %w", err)
	}
	ns := st.clone()
	ns.t[5] = out[0]
	zero := func(t *tensors.Tensor) *tensors.Tensor { return tensors.FromShape(t.Shape()) }
	ns.t[10], ns.t[11], ns.t[12] = zero(st.t[10]), zero(st.t[11]), zero(st.t[12])
	return ns, nil
}

// finishWarmup sets every chain's step size to its dual-averaging average ε̄ (unless dual averaging has not
// run since its last restart, when ε̄ is undefined and the current ε stays).
func (st *State) finishWarmup() *State {
	if tensors.MustCopyFlatData[float32](st.t[9])[0] == 0 {
		return st
	}
	ns := st.clone()
	ns.t[4] = st.t[6]
	return ns
}

// restartDualAveraging resets the dual-averaging state at μ = log(10 ε) for the current ε (in place).
func (st *State) restartDualAveraging() {
	logEps := tensors.MustCopyFlatData[float32](st.t[4])
	mu := make([]float32, len(logEps))
	for i, x := range logEps {
		mu[i] = x + float32(math.Log(10))
	}
	C := st.chains
	st.t[6] = tensors.FromFlatDataAndDimensions(make([]float32, C), C)
	st.t[7] = tensors.FromFlatDataAndDimensions(make([]float32, C), C)
	st.t[8] = tensors.FromFlatDataAndDimensions(mu, C)
	st.t[9] = tensors.FromShape(shapes.Make(dtypes.Float32))
}

func (st *State) clone() *State {
	return &State{chains: st.chains, params: st.params, t: append([]*tensors.Tensor(nil), st.t...)}
}

func finite32(x []float32) bool {
	for _, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}
