package hmc

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"reflect"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/internal/binfile"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
)

// checkpointKind and checkpointVersion identify HMC checkpoints in the binfile container.
const (
	checkpointKind    = "fiberbnn.hmc-checkpoint"
	checkpointVersion = 1
)

// checkpointHeader is the JSON header of a checkpoint: the options and the host-side progress. The arrays
// hold the starting points, the chains' State and the sampling phase recorded so far.
type checkpointHeader struct {
	Chains, Params int
	Options        Options
	Stage, Done    int
	GradEvals      int64
	Transitions    int
	Divergences    []Divergence
	PhaseAcc       []float64
	PhaseN         int
	WarmAcc        []float64
	WarmN          int
	WarmupNanos    int64
	ElapsedNanos   int64
}

// comparable returns o without the fields that do not change the chains (where and how often to
// checkpoint).
func (o Options) comparable() Options {
	o.CheckpointPath, o.CheckpointEvery = "", 0
	return o
}

// saveCheckpoint writes the sampler's progress d with the chains' state st to path atomically.
func (s *Sampler) saveCheckpoint(path string, d *driver, st *State, elapsed time.Duration) error {
	C, P := st.chains, st.params
	h := checkpointHeader{Chains: C, Params: P, Options: s.opts.comparable(), Stage: d.stage, Done: d.done,
		GradEvals: d.res.GradEvals, Transitions: d.res.Transitions, Divergences: d.res.Divergences,
		PhaseAcc: d.phaseAcc, PhaseN: d.phaseN, WarmAcc: d.warmAcc, WarmN: d.warmN,
		WarmupNanos: int64(d.warmupTime), ElapsedNanos: int64(elapsed)}
	f := &binfile.File{Kind: checkpointKind, Version: checkpointVersion}
	if err := f.SetHeader(h); err != nil {
		return fmt.Errorf("hmc: checkpoint: %w", err)
	}
	var errs []error
	add := func(name string, shape []int, data any) { errs = append(errs, f.Add(name, shape, data)) }
	initFlat := make([]float32, 0, C*P)
	for _, row := range d.init {
		initFlat = append(initFlat, row...)
	}
	add("init", []int{C, P}, initFlat)
	for i, t := range st.t {
		name, dims := fmt.Sprintf("state.%d", i), t.Shape().Dimensions
		switch t.DType() {
		case dtypes.Float32:
			add(name, dims, tensors.MustCopyFlatData[float32](t))
		case dtypes.Uint64:
			u := tensors.MustCopyFlatData[uint64](t)
			v := make([]int64, len(u))
			for j, x := range u {
				v[j] = int64(x)
			}
			add(name, dims, v)
		default:
			return fmt.Errorf("hmc: checkpoint: state tensor %d has dtype %s", i, t.DType())
		}
	}
	T := len(d.samp.Info)
	acc, eps, u, e := make([]float32, 0, T*C), make([]float32, 0, T*C), make([]float32, 0, T*C), make([]float32, 0, T*C)
	div, steps := make([]int32, 0, T*C), make([]int32, 0, T)
	for _, in := range d.samp.Info {
		acc, eps = append(acc, in.AcceptProb...), append(eps, in.StepSize...)
		u, e = append(u, in.Potential...), append(e, in.Energy...)
		for c := range C {
			code := int32(0)
			if in.NonFinite[c] {
				code = 2
			} else if in.Divergent[c] {
				code = 1
			}
			div = append(div, code)
		}
		steps = append(steps, int32(in.NumSteps))
	}
	add("sampling.draws", []int{len(d.samp.Draws)}, append([]float32(nil), d.samp.Draws...))
	for _, a := range []struct {
		name string
		v    []float32
	}{{"sampling.accept_prob", acc}, {"sampling.step_size", eps}, {"sampling.potential", u}, {"sampling.energy", e}} {
		add(a.name, []int{T, C}, a.v)
	}
	add("sampling.divergent", []int{T, C}, div)
	add("sampling.num_steps", []int{T}, steps)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("hmc: checkpoint: %w", err)
	}
	if err := binfile.Write(path, f); err != nil {
		return fmt.Errorf("hmc: writing the checkpoint: %w", err)
	}
	return nil
}

// loadCheckpoint restores d and *st from the checkpoint at path if it exists (false if it does not). The
// checkpoint must hold the same options (Seed included; CheckpointPath and CheckpointEvery aside), the
// same numbers of chains and parameters and bit-identical starting points.
func (s *Sampler) loadCheckpoint(path string, d *driver, st **State) (bool, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	f, err := readCheckpoint(path)
	if err != nil {
		return false, err
	}
	var h checkpointHeader
	if err := f.DecodeHeader(&h); err != nil {
		return false, fmt.Errorf("hmc: resuming: %w", err)
	}
	C, P := (*st).chains, (*st).params
	stale := func(why string) error {
		return fmt.Errorf("hmc: checkpoint %s is from another run (%s); delete it or set another Options.CheckpointPath", path, why)
	}
	if h.Chains != C || h.Params != P {
		return false, stale(fmt.Sprintf("%d chains × %d parameters, this run %d × %d", h.Chains, h.Params, C, P))
	}
	if !reflect.DeepEqual(h.Options, s.opts.comparable()) {
		return false, stale(fmt.Sprintf("options %+v, this run %+v", h.Options, s.opts.comparable()))
	}
	corrupt := func(what string) error {
		return fmt.Errorf("hmc: checkpoint %s is inconsistent: %s; delete it", path, what)
	}
	stages := s.stages()
	if h.Stage < 0 || h.Stage >= len(stages) || stages[h.Stage].kind != stageRun || h.Done < 0 || h.Done > stages[h.Stage].n {
		return false, corrupt(fmt.Sprintf("stage %d, transition %d", h.Stage, h.Done))
	}
	init, _, err := f.Float32("init")
	if err != nil {
		return false, fmt.Errorf("hmc: resuming: %w", err)
	}
	if len(init) != C*P {
		return false, corrupt("starting points")
	}
	for c, row := range d.init {
		for i, v := range row {
			if math.Float32bits(v) != math.Float32bits(init[c*P+i]) {
				return false, stale(fmt.Sprintf("chain %d starts elsewhere (parameter %d: %v, this run %v)", c, i, init[c*P+i], v))
			}
		}
	}
	ns := &State{chains: C, params: P, t: make([]*tensors.Tensor, numChainState)}
	for i, t := range (*st).t {
		name := fmt.Sprintf("state.%d", i)
		a, ok := f.Lookup(name)
		if !ok || !reflect.DeepEqual(append([]int{}, a.Shape...), append([]int{}, t.Shape().Dimensions...)) {
			return false, corrupt(fmt.Sprintf("array %s missing or of the wrong shape", name))
		}
		switch t.DType() {
		case dtypes.Float32:
			v, _, err := f.Float32(name)
			if err != nil {
				return false, fmt.Errorf("hmc: resuming: %w", err)
			}
			ns.t[i] = tensors.FromFlatDataAndDimensions(append([]float32(nil), v...), a.Shape...)
		case dtypes.Uint64:
			v, ok := a.Data.([]int64)
			if !ok {
				return false, corrupt(fmt.Sprintf("array %s is not int64", name))
			}
			u := make([]uint64, len(v))
			for j, x := range v {
				u[j] = uint64(x)
			}
			ns.t[i] = tensors.FromFlatDataAndDimensions(u, a.Shape...)
		}
	}
	draws, _, err := f.Float32("sampling.draws")
	if err != nil {
		return false, fmt.Errorf("hmc: resuming: %w", err)
	}
	get := func(name string) ([]float32, int, error) {
		v, shape, err := f.Float32(name)
		if err != nil {
			return nil, 0, fmt.Errorf("hmc: resuming: %w", err)
		}
		if len(shape) != 2 || shape[1] != C {
			return nil, 0, corrupt(fmt.Sprintf("array %s has shape %v", name, shape))
		}
		return v, shape[0], nil
	}
	acc, T, err := get("sampling.accept_prob")
	if err != nil {
		return false, err
	}
	var cols [3][]float32
	for j, name := range []string{"sampling.step_size", "sampling.potential", "sampling.energy"} {
		v, t, err := get(name)
		if err != nil {
			return false, err
		}
		if t != T {
			return false, corrupt(fmt.Sprintf("array %s has %d rows, want %d", name, t, T))
		}
		cols[j] = v
	}
	div, _, err := f.Int32("sampling.divergent")
	if err != nil {
		return false, fmt.Errorf("hmc: resuming: %w", err)
	}
	steps, _, err := f.Int32("sampling.num_steps")
	if err != nil {
		return false, fmt.Errorf("hmc: resuming: %w", err)
	}
	if len(div) != T*C || len(steps) != T || len(draws) != (T/s.opts.Thin)*C*P {
		return false, corrupt("sampling arrays of inconsistent lengths")
	}
	samp := &Trace{Chains: C, NumParams: P, Draws: append([]float32(nil), draws...)}
	for i := range T {
		in := Info{AcceptProb: acc[i*C : (i+1)*C], Divergent: make([]bool, C), NonFinite: make([]bool, C),
			StepSize: cols[0][i*C : (i+1)*C], Potential: cols[1][i*C : (i+1)*C], Energy: cols[2][i*C : (i+1)*C],
			NumSteps: int(steps[i])}
		for c := range C {
			in.Divergent[c], in.NonFinite[c] = div[i*C+c] != 0, div[i*C+c] > 1
		}
		samp.Info = append(samp.Info, in)
	}
	d.stage, d.done, d.samp = h.Stage, h.Done, samp
	d.res.GradEvals, d.res.Transitions, d.res.Divergences = h.GradEvals, h.Transitions, h.Divergences
	d.phaseAcc, d.phaseN, d.warmAcc, d.warmN = h.PhaseAcc, h.PhaseN, h.WarmAcc, h.WarmN
	d.warmupTime, d.prevElapsed = time.Duration(h.WarmupNanos), time.Duration(h.ElapsedNanos)
	*st = ns
	return true, nil
}

// readCheckpoint reads and verifies the checkpoint file at path.
func readCheckpoint(path string) (*binfile.File, error) {
	f, err := binfile.Read(path, checkpointKind, checkpointVersion)
	if err != nil {
		return nil, fmt.Errorf("hmc: resuming: %w", err)
	}
	return f, nil
}
