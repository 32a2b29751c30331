package flow

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
	"os"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/internal/binfile"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Training checkpoints: a binfile container of kind "fiberbnn.flow.train", version 1, holding the whole
// state of trainAdam after a call, so that a resumed run continues with the same numbers:
//
//	header (JSON)   {"fingerprint", "calls", "t", "pos", "bad", "report": {...}}
//	"params", "m", "v", "best"   float32 [nParams]   current parameters, Adam moments, kept parameters
//	"rng"                        int64 [3]           the graph RNG state (uint64 bits)
//	"pcg"                        uint8 [*]           the minibatch stream's PCG state (MarshalBinary)
//	"perm"                       int32 [*]           the current epoch's permutation
//
// The fingerprint (sizes, training options and a CRC-32C of the initial parameters and of the training and
// held-out rows) must match the run that resumes: a checkpoint of another run is refused with an error.
const (
	// CheckpointKind is the binfile kind of flow training checkpoints.
	CheckpointKind = "fiberbnn.flow.train"
	// CheckpointVersion is the checkpoint format version this build reads and writes.
	CheckpointVersion = 1
)

// trainState is what a checkpoint holds.
type trainState struct {
	Calls              int // calls completed
	T                  float32
	RNG                []uint64
	Params, M, V, Best []float32
	PCG                []byte
	Perm               []int
	Pos, Bad           int
	Report             TrainReport
}

type checkpointHeader struct {
	Fingerprint string       `json:"fingerprint"`
	Calls       int          `json:"calls"`
	T           float32      `json:"t"`
	Pos         int          `json:"pos"`
	Bad         int          `json:"bad"`
	Report      reportOnDisk `json:"report"`
}

// checkpointer saves and loads one run's checkpoints.
type checkpointer struct {
	path        string
	every       int
	fingerprint string
	before      time.Duration // wall time of the runs before a resume
}

// runFingerprint identifies a training run: what must be equal for a checkpoint to continue it.
func runFingerprint(init, train, valid []float32, dim int, o TrainOptions, spc, calls, bs int) string {
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	for _, x := range [][]float32{init, train, valid} {
		buf := make([]byte, 4*len(x))
		for i, v := range x {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		h.Write(buf)
	}
	return fmt.Sprintf("n=%d/%d/%d dim=%d bs=%d spc=%d calls=%d seed=%d lr=%g clip=%g cos=%v pat=%d lambda=%g level=%g rate=%g m=%d crc=%08x",
		len(init), len(train)/dim, len(valid)/dim, dim, bs, spc, calls, o.Seed, o.LearningRate, o.ClipNorm,
		o.CosineDecay, o.Patience, o.Lambda, o.TargetLevel, o.LambdaRate, o.PotentialSamples, h.Sum32())
}

func (c *checkpointer) save(st *trainState) error {
	r := st.Report
	h := checkpointHeader{Fingerprint: c.fingerprint, Calls: st.Calls, T: st.T, Pos: st.Pos, Bad: st.Bad,
		Report: reportToDisk(r)}
	bf := &binfile.File{Kind: CheckpointKind, Version: CheckpointVersion}
	if err := bf.SetHeader(h); err != nil {
		return fmt.Errorf("flow: not saving checkpoint %s: %w", c.path, err)
	}
	rng := make([]int64, len(st.RNG))
	for i, v := range st.RNG {
		rng[i] = int64(v)
	}
	perm := make([]int32, len(st.Perm))
	for i, v := range st.Perm {
		perm[i] = int32(v)
	}
	for _, a := range []struct {
		name string
		data any
		n    int
	}{
		{"params", st.Params, len(st.Params)}, {"m", st.M, len(st.M)}, {"v", st.V, len(st.V)},
		{"best", st.Best, len(st.Best)}, {"rng", rng, len(rng)}, {"pcg", st.PCG, len(st.PCG)},
		{"perm", perm, len(perm)},
	} {
		if err := bf.Add(a.name, []int{a.n}, a.data); err != nil {
			return fmt.Errorf("flow: not saving checkpoint %s: %w", c.path, err)
		}
	}
	if err := binfile.Write(c.path, bf); err != nil {
		return fmt.Errorf("flow: saving checkpoint: %w", err)
	}
	return nil
}

// load returns the checkpoint's state, nil when the file does not exist, or an error when it is damaged or
// belongs to another run.
func (c *checkpointer) load() (*trainState, error) {
	if _, err := os.Stat(c.path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	bf, err := binfile.Read(c.path, CheckpointKind, CheckpointVersion)
	if err != nil {
		return nil, fmt.Errorf("flow: checkpoint: %w", err)
	}
	var h checkpointHeader
	if err := bf.DecodeHeader(&h); err != nil {
		return nil, fmt.Errorf("flow: checkpoint: %w", err)
	}
	if h.Fingerprint != c.fingerprint {
		return nil, fmt.Errorf("flow: checkpoint %s belongs to another training run (%s; this run: %s): delete it or set another CheckpointPath",
			c.path, h.Fingerprint, c.fingerprint)
	}
	st := &trainState{Calls: h.Calls, T: h.T, Pos: h.Pos, Bad: h.Bad, Report: reportFromDisk(h.Report)}
	f32 := func(name string) ([]float32, error) {
		v, _, err := bf.Float32(name)
		if err != nil {
			return nil, fmt.Errorf("flow: checkpoint: %w", err)
		}
		return v, nil
	}
	for _, a := range []struct {
		name string
		dst  *[]float32
	}{{"params", &st.Params}, {"m", &st.M}, {"v", &st.V}, {"best", &st.Best}} {
		if *a.dst, err = f32(a.name); err != nil {
			return nil, err
		}
	}
	n := len(st.Params)
	if len(st.M) != n || len(st.V) != n || len(st.Best) != n {
		return nil, fmt.Errorf("flow: checkpoint %s: arrays of %d, %d, %d, %d parameters", c.path, n, len(st.M), len(st.V), len(st.Best))
	}
	ra, ok := bf.Lookup("rng")
	if !ok {
		return nil, fmt.Errorf("flow: checkpoint %s: no \"rng\" array", c.path)
	}
	rng, ok := ra.Data.([]int64)
	if !ok {
		return nil, fmt.Errorf("flow: checkpoint %s: \"rng\" is not int64", c.path)
	}
	for _, v := range rng {
		st.RNG = append(st.RNG, uint64(v))
	}
	a, ok := bf.Lookup("pcg")
	if !ok {
		return nil, fmt.Errorf("flow: checkpoint %s: no \"pcg\" array", c.path)
	}
	if st.PCG, ok = a.Data.([]uint8); !ok {
		return nil, fmt.Errorf("flow: checkpoint %s: \"pcg\" is not uint8", c.path)
	}
	perm, _, err := bf.Int32("perm")
	if err != nil {
		return nil, fmt.Errorf("flow: checkpoint: %w", err)
	}
	for _, v := range perm {
		st.Perm = append(st.Perm, int(v))
	}
	if st.Pos < 0 || st.Pos > len(st.Perm) {
		return nil, fmt.Errorf("flow: checkpoint %s: position %d in a permutation of %d", c.path, st.Pos, len(st.Perm))
	}
	c.before = st.Report.Duration
	return st, nil
}

func reportToDisk(r TrainReport) reportOnDisk {
	return reportOnDisk{Steps: r.Steps, BestStep: r.BestStep, NumTrain: r.NumTrain, NumValid: r.NumValid,
		TrainLoss: r.TrainLoss, ValidLoss: r.ValidLoss, BestValidLoss: r.BestValidLoss,
		SkippedSteps: r.SkippedSteps, EarlyStopped: r.EarlyStopped, Seconds: r.Duration.Seconds(),
		NonFiniteStep: r.NonFiniteStep, Lambda: r.Lambda, LambdaTrace: r.LambdaTrace, LevelTrace: r.LevelTrace}
}

func reportFromDisk(r reportOnDisk) TrainReport {
	return TrainReport{Steps: r.Steps, BestStep: r.BestStep, NumTrain: r.NumTrain, NumValid: r.NumValid,
		TrainLoss: r.TrainLoss, ValidLoss: r.ValidLoss, BestValidLoss: r.BestValidLoss,
		SkippedSteps: r.SkippedSteps, EarlyStopped: r.EarlyStopped,
		Duration:      time.Duration(r.Seconds * float64(time.Second)),
		NonFiniteStep: r.NonFiniteStep, Lambda: r.Lambda, LambdaTrace: r.LambdaTrace, LevelTrace: r.LevelTrace}
}

// scalar32 returns a float32 scalar held as a float32 or a tensor.
func scalar32(v any) float32 {
	if t, ok := v.(*tensors.Tensor); ok {
		return t.Value().(float32)
	}
	return v.(float32)
}

// floats returns the values of a rank-1 float32 tensor.
func floats(v any) []float32 { return flat32(v.(*tensors.Tensor)) }

// uint64s returns the values of the RNG state tensor.
func uint64s(v any) []uint64 {
	var out []uint64
	tensors.MustConstFlatData(v.(*tensors.Tensor), func(flat []uint64) { out = append([]uint64(nil), flat...) })
	return out
}

// rngTensor rebuilds the RNG state tensor.
func rngTensor(state []uint64) (*tensors.Tensor, error) {
	if len(state) != RNGStateShape.Size() {
		return nil, fmt.Errorf("flow: checkpoint: RNG state of %d values, want %d", len(state), RNGStateShape.Size())
	}
	return tensors.FromFlatDataAndDimensions(append([]uint64(nil), state...), len(state)), nil
}
