package train

import (
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"os"
	"reflect"

	"github.com/fiberbnn/fiberbnn/fiberlib/internal/binfile"
	"github.com/gomlx/gomlx/core/tensors"
)

// CheckpointKind is the binfile kind of MAP training checkpoints (see docs/formats.md for the container).
//
// The JSON header holds "fingerprint" (the resolved options, seed, number of parameters, training and
// validation rows, and CRC-32C sums of the data and of Init: what a resuming run must match), "epochs" and
// "steps" done, "t" (the optimiser's step count) and "next_progress". The arrays are theta, mom1, mom2 and
// best_theta (float32 [M, P]: parameters, Adam moments or SGD momentum, best parameters by validation
// loss), active (float32 [M]), rng (uint8 [M, ·]: each member's PCG state, MarshalBinary form), best
// (float64 [M]), wait, best_epoch (int64 [M]), stopped (uint8 [M]), eval_epochs (int64 [K]), and
// train_loss and, with validation, val_loss (float64 [K, M]) for the K evaluations so far.
const CheckpointKind = "fiberbnn.train"

// CheckpointVersion is the version of the checkpoint schema this package writes and the newest it reads.
const CheckpointVersion = 1

// runState is everything that determines the rest of a run, as of the last evaluation: the optimiser state,
// the members' random streams, early-stopping bookkeeping and what was recorded so far.
type runState struct {
	theta, mom1, mom2 []float32 // [M, P]
	t                 float32   // optimiser steps taken
	active            []float32 // [M] 1 for members still training
	rngs              []*rand.PCG
	best              []float64 // [M] lowest validation loss so far (+Inf before any)
	bestTheta         []float32 // [M, P] parameters at that evaluation
	wait              []int     // [M] evaluations since the best one
	nextProgress      float64   // fraction of Epochs at which the next progress line is due
	res               *Result   // Epochs, Steps, histories, BestEpoch, Stopped, ResumedEpoch
}

// fingerprint is what a checkpoint must share with the run that resumes it.
type fingerprint struct {
	Optimizer                            Optimizer
	LearningRate                         float64
	Schedule                             Schedule
	FinalLRFraction, Momentum            float64
	Beta1, Beta2, Epsilon                float64
	BatchSize, Epochs, Members           int
	Seed                                 uint64
	ValidationFraction                   float64
	Patience, EvalEvery                  int
	NumParams, TrainRows, ValidationRows int
	DataCRC, InitCRC                     uint32
}

// checkpointHeader is the JSON header of a checkpoint file (the arrays hold the rest).
type checkpointHeader struct {
	Fingerprint  fingerprint `json:"fingerprint"`
	Epochs       int         `json:"epochs"`
	Steps        int         `json:"steps"`
	T            float32     `json:"t"`
	NextProgress float64     `json:"next_progress"`
}

// startState returns a fresh run state, or the one saved at o.CheckpointPath when that file exists.
func (tr *Trainer) startState(o Options) (*runState, error) {
	m, p := o.Members, tr.net.NumParams()
	if o.CheckpointPath != "" {
		if _, err := os.Stat(o.CheckpointPath); err == nil {
			return tr.loadCheckpoint(o)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("train.MAP: checkpoint %q: %w", o.CheckpointPath, err)
		}
	}
	theta, err := initialTheta(tr.net.Spec, o, m, p)
	if err != nil {
		return nil, err
	}
	rs := &runState{theta: theta, mom1: make([]float32, m*p), mom2: make([]float32, m*p),
		active: make([]float32, m), rngs: make([]*rand.PCG, m), best: make([]float64, m),
		bestTheta: append([]float32(nil), theta...), wait: make([]int, m),
		res: &Result{M: m, P: p, Network: tr.trainNet, BestEpoch: make([]int, m), Stopped: make([]bool, m)}}
	for i := range m {
		rs.active[i] = 1
		rs.rngs[i] = rand.NewPCG(o.Seed, 1<<32+uint64(i))
		rs.best[i] = math.Inf(1)
	}
	return rs, nil
}

// fingerprint returns what identifies the run of o.
func (tr *Trainer) fingerprint(o Options) fingerprint {
	f := fingerprint{Optimizer: o.Optimizer, LearningRate: o.LearningRate, Schedule: o.Schedule,
		FinalLRFraction: o.FinalLRFraction, Momentum: o.Momentum, Beta1: o.Beta1, Beta2: o.Beta2, Epsilon: o.Epsilon,
		BatchSize: o.BatchSize, Epochs: o.Epochs, Members: o.Members, Seed: o.Seed,
		ValidationFraction: o.ValidationFraction, Patience: o.Patience, EvalEvery: o.EvalEvery,
		NumParams: tr.net.NumParams(), TrainRows: tr.trainNet.NumData()}
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	hashTensors := func(ts []*tensors.Tensor) {
		for _, t := range ts {
			_ = t.ConstBytes(func(b []byte) { _, _ = h.Write(b) })
		}
	}
	hashTensors(tr.trainNet.Data())
	if tr.valNet != nil {
		f.ValidationRows = tr.valNet.NumData()
		hashTensors(tr.valNet.Data())
	}
	f.DataCRC = h.Sum32()
	h.Reset()
	for _, v := range o.Init {
		b := math.Float32bits(v)
		_, _ = h.Write([]byte{byte(b), byte(b >> 8), byte(b >> 16), byte(b >> 24)})
	}
	f.InitCRC = h.Sum32()
	return f
}

// saveCheckpoint writes rs to o.CheckpointPath atomically.
func (tr *Trainer) saveCheckpoint(o Options, rs *runState) error {
	m, p := o.Members, tr.net.NumParams()
	res := rs.res
	f := &binfile.File{Kind: CheckpointKind, Version: CheckpointVersion}
	err := f.SetHeader(checkpointHeader{Fingerprint: tr.fingerprint(o), Epochs: res.Epochs, Steps: res.Steps,
		T: rs.t, NextProgress: rs.nextProgress})
	k := len(res.EvalEpochs)
	ints := func(v []int) []int64 {
		out := make([]int64, len(v))
		for i, x := range v {
			out[i] = int64(x)
		}
		return out
	}
	stopped := make([]uint8, m)
	for i, s := range res.Stopped {
		if s {
			stopped[i] = 1
		}
	}
	var rngs []uint8
	for _, r := range rs.rngs {
		b, merr := r.MarshalBinary()
		if merr != nil {
			return fmt.Errorf("train.MAP: saving checkpoint %q: %w", o.CheckpointPath, merr)
		}
		rngs = append(rngs, b...)
	}
	add := func(name string, shape []int, data any) {
		if err == nil {
			err = f.Add(name, shape, data)
		}
	}
	add("theta", []int{m, p}, rs.theta)
	add("mom1", []int{m, p}, rs.mom1)
	add("mom2", []int{m, p}, rs.mom2)
	add("active", []int{m}, rs.active)
	add("rng", []int{m, len(rngs) / max(1, m)}, rngs)
	add("best", []int{m}, rs.best)
	add("best_theta", []int{m, p}, rs.bestTheta)
	add("wait", []int{m}, ints(rs.wait))
	add("best_epoch", []int{m}, ints(res.BestEpoch))
	add("stopped", []int{m}, stopped)
	add("eval_epochs", []int{k}, ints(res.EvalEpochs))
	add("train_loss", []int{k, m}, flatten(res.TrainLoss))
	if res.ValLoss != nil {
		add("val_loss", []int{k, m}, flatten(res.ValLoss))
	}
	if err == nil {
		err = binfile.Write(o.CheckpointPath, f)
	}
	if err != nil {
		return fmt.Errorf("train.MAP: saving checkpoint %q: %w", o.CheckpointPath, err)
	}
	return nil
}

// loadCheckpoint reads the run state saved at o.CheckpointPath and checks that it belongs to this run.
func (tr *Trainer) loadCheckpoint(o Options) (*runState, error) {
	path := o.CheckpointPath
	m, p := o.Members, tr.net.NumParams()
	f, err := binfile.Read(path, CheckpointKind, CheckpointVersion)
	if err != nil {
		return nil, fmt.Errorf("train.MAP: resuming: %w (delete the file to start afresh)", err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("train.MAP: checkpoint %q: %s; delete it or use another CheckpointPath", path, fmt.Sprintf(format, args...))
	}
	var h checkpointHeader
	if err := f.DecodeHeader(&h); err != nil {
		return nil, fmt.Errorf("train.MAP: resuming: %w", err)
	}
	if err := diffFields(tr.fingerprint(o), h.Fingerprint); err != nil {
		return nil, bad("it was made by another run (%v)", err)
	}
	rs := &runState{t: h.T, nextProgress: h.NextProgress,
		res: &Result{M: m, P: p, Network: tr.trainNet, Epochs: h.Epochs, Steps: h.Steps, ResumedEpoch: h.Epochs}}
	var k int
	get := func(name string, want dtypeShape) (any, error) {
		a, ok := f.Lookup(name)
		if !ok {
			return nil, bad("no array %q", name)
		}
		if dt, _ := a.DType(); dt != want.dtype || !equalInts(a.Shape, want.shape) {
			return nil, bad("array %q is %v %v, want %v %v", name, a.Shape, reflect.TypeOf(a.Data), want.shape, want.dtype)
		}
		return a.Data, nil
	}
	arrays := []struct {
		name string
		want dtypeShape
		dst  any
	}{
		{"theta", dtypeShape{binfile.Float32, []int{m, p}}, &rs.theta},
		{"mom1", dtypeShape{binfile.Float32, []int{m, p}}, &rs.mom1},
		{"mom2", dtypeShape{binfile.Float32, []int{m, p}}, &rs.mom2},
		{"active", dtypeShape{binfile.Float32, []int{m}}, &rs.active},
		{"best", dtypeShape{binfile.Float64, []int{m}}, &rs.best},
		{"best_theta", dtypeShape{binfile.Float32, []int{m, p}}, &rs.bestTheta},
	}
	for _, a := range arrays {
		d, err := get(a.name, a.want)
		if err != nil {
			return nil, err
		}
		reflect.ValueOf(a.dst).Elem().Set(reflect.ValueOf(d))
	}
	ev, ok := f.Lookup("eval_epochs")
	if !ok || len(ev.Shape) != 1 {
		return nil, bad("no 1-D array %q", "eval_epochs")
	}
	k = ev.Shape[0]
	intArrays := []struct {
		name  string
		shape []int
		dst   *[]int
	}{{"wait", []int{m}, &rs.wait}, {"best_epoch", []int{m}, &rs.res.BestEpoch}, {"eval_epochs", []int{k}, &rs.res.EvalEpochs}}
	for _, a := range intArrays {
		d, err := get(a.name, dtypeShape{binfile.Int64, a.shape})
		if err != nil {
			return nil, err
		}
		for _, v := range d.([]int64) {
			*a.dst = append(*a.dst, int(v))
		}
	}
	d, err := get("stopped", dtypeShape{binfile.Uint8, []int{m}})
	if err != nil {
		return nil, err
	}
	for _, v := range d.([]uint8) {
		rs.res.Stopped = append(rs.res.Stopped, v != 0)
	}
	if d, err = get("train_loss", dtypeShape{binfile.Float64, []int{k, m}}); err != nil {
		return nil, err
	}
	rs.res.TrainLoss = unflatten(d.([]float64), k, m)
	_, hasVal := f.Lookup("val_loss")
	if wantVal := tr.valNet != nil && k > 0; hasVal != wantVal {
		return nil, bad("array %q present: %v, want %v (validation set and evaluations)", "val_loss", hasVal, wantVal)
	}
	if hasVal {
		if d, err = get("val_loss", dtypeShape{binfile.Float64, []int{k, m}}); err != nil {
			return nil, err
		}
		rs.res.ValLoss = unflatten(d.([]float64), k, m)
	}
	ra, ok := f.Lookup("rng")
	var rb []uint8
	isBytes := false
	if ok {
		rb, isBytes = ra.Data.([]uint8)
	}
	if !ok || !isBytes || len(ra.Shape) != 2 || ra.Shape[0] != m {
		return nil, bad("array %q missing or not uint8 [%d, ·]", "rng", m)
	}
	w := ra.Shape[1]
	for i := range m {
		r := &rand.PCG{}
		if err := r.UnmarshalBinary(rb[i*w : (i+1)*w]); err != nil {
			return nil, bad("random stream of member %d: %v", i, err)
		}
		rs.rngs = append(rs.rngs, r)
	}
	for _, a := range [][]float32{rs.theta, rs.bestTheta} {
		for j, v := range a {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, bad("parameter %d of member %d is %v", j%p, j/p, v)
			}
		}
	}
	if h.Epochs < 0 || h.Epochs > o.Epochs || k > h.Epochs {
		return nil, bad("it records %d epochs and %d evaluations, the run has %d epochs", h.Epochs, k, o.Epochs)
	}
	return rs, nil
}

// dtypeShape is an expected element type and shape of a checkpoint array.
type dtypeShape struct {
	dtype binfile.DType
	shape []int
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func flatten(v [][]float64) []float64 {
	var out []float64
	for _, r := range v {
		out = append(out, r...)
	}
	return out
}

func unflatten(v []float64, k, m int) [][]float64 {
	out := make([][]float64, k)
	for i := range out {
		out[i] = v[i*m : (i+1)*m]
	}
	return out
}

// diffFields returns nil when want and got are equal, else an error naming the first field that differs.
func diffFields(want, got fingerprint) error {
	wv, gv := reflect.ValueOf(want), reflect.ValueOf(got)
	for i := 0; i < wv.NumField(); i++ {
		if !reflect.DeepEqual(wv.Field(i).Interface(), gv.Field(i).Interface()) {
			return fmt.Errorf("%s: now %v, saved %v", wv.Type().Field(i).Name, wv.Field(i).Interface(), gv.Field(i).Interface())
		}
	}
	return nil
}
