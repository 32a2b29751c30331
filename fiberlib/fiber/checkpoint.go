package fiber

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"reflect"

	"github.com/gomlx/compute"

	"github.com/fiberbnn/fiberbnn/fiberlib/internal/binfile"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// CheckpointKind names walk checkpoints in the binfile container (docs/formats.md): the container gives the
// atomic write, the version and the CRC-32C checksum over the whole file; its one uint8 array "state" holds
// the walk's state encoded with encoding/gob, which is decoded only after the checksum has been verified.
const CheckpointKind = "fiberbnn.fiber-checkpoint"

const checkpointVersion = 3

// checkpointFile is what a checkpoint holds: everything that determines the rest of the walk (settings,
// drifts, positions, per-particle ε, stop marks, the step, which also fixes the random streams) and what was recorded.
type checkpointFile struct {
	Version   int
	Settings  Settings
	MAP       []float32
	Drift     []float32
	LossStar  float64
	State     hostState
	Trace     Trace
	Snapshots []Snapshot
}

// SaveCheckpoint writes the walk to path atomically (a temporary file in the same directory, synced, then
// renamed over path), so an interruption never leaves a half-written checkpoint.
func (w *Walker) SaveCheckpoint(path string) error {
	h, err := readState(w.state)
	if err != nil {
		return err
	}
	c := checkpointFile{Version: checkpointVersion, Settings: w.set, MAP: w.mapTheta, Drift: w.drift,
		LossStar: w.lossStar, State: *h, Trace: w.trace, Snapshots: w.snapshots}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&c); err != nil {
		return fmt.Errorf("fiber: saving checkpoint %q: %w", path, err)
	}
	f := &binfile.File{Kind: CheckpointKind, Version: checkpointVersion}
	if err := f.SetHeader(map[string]int{"particles": w.set.Particles, "params": w.set.NumParams, "step": h.Step}); err != nil {
		return fmt.Errorf("fiber: saving checkpoint %q: %w", path, err)
	}
	if err := f.Add("state", []int{buf.Len()}, buf.Bytes()); err != nil {
		return fmt.Errorf("fiber: saving checkpoint %q: %w", path, err)
	}
	if err := binfile.Write(path, f); err != nil {
		return fmt.Errorf("fiber: saving checkpoint: %w", err)
	}
	return nil
}

// LoadCheckpoint resumes a walk saved by SaveCheckpoint, for the same target. When opts is not nil, its
// settings must resolve to the saved ones (the automatically chosen η and ε are taken from the file), and
// its progress and checkpoint options are used; with nil opts the saved settings are used as they are.
// Continuing a loaded walk gives the same numbers as a walk that was never interrupted (same backend).
func LoadCheckpoint(b compute.Backend, target posterior.Target, path string, opts *Options) (*Walker, error) {
	f, err := binfile.Read(path, CheckpointKind, checkpointVersion)
	if err != nil {
		return nil, fmt.Errorf("fiber: loading checkpoint (delete it to start the walk afresh): %w", err)
	}
	if f.Version != checkpointVersion {
		return nil, fmt.Errorf("fiber: checkpoint %q has version %d, this code reads version %d; delete it to start afresh", path, f.Version, checkpointVersion)
	}
	a, ok := f.Lookup("state")
	raw, isBytes := []byte(nil), false
	if ok {
		raw, isBytes = a.Data.([]uint8)
	}
	if !isBytes {
		return nil, fmt.Errorf("fiber: checkpoint %q has no uint8 array \"state\"; delete it to start afresh", path)
	}
	var c checkpointFile
	if err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&c); err != nil {
		return nil, fmt.Errorf("fiber: loading checkpoint %q: its state does not decode (%v); delete it to start afresh", path, err)
	}
	if c.Version != checkpointVersion {
		return nil, fmt.Errorf("fiber: checkpoint %q has version %d, this code reads version %d", path, c.Version, checkpointVersion)
	}
	s := c.Settings
	if target.NumParams() != s.NumParams || target.NumData() != s.NumData {
		return nil, fmt.Errorf("fiber: checkpoint %q is for a target with P = %d, n = %d; this target has P = %d, n = %d",
			path, s.NumParams, s.NumData, target.NumParams(), target.NumData())
	}
	n, p := s.Particles, s.NumParams
	if len(c.MAP) != p || len(c.Drift) != n*p || c.State.check(n, p) != nil {
		return nil, fmt.Errorf("fiber: checkpoint %q is inconsistent (array lengths do not match N = %d, P = %d)", path, n, p)
	}
	if err := checkData(target); err != nil {
		return nil, err
	}
	if opts != nil {
		want, err := opts.validate(target.NumParams(), target.NumData())
		if err != nil {
			return nil, err
		}
		if err := sameSettings(want, s); err != nil {
			return nil, fmt.Errorf("fiber: checkpoint %q was made with other options (%v); delete it or use another path", path, err)
		}
	}
	loss, err := perDatumLoss(b, target, c.MAP)
	if err != nil {
		return nil, err
	}
	if math.Abs(loss-c.LossStar) > 1e-5*math.Max(1, math.Abs(c.LossStar)) {
		return nil, fmt.Errorf("fiber: checkpoint %q: the loss at its MAP is %.7g now but was %.7g: a different target or data",
			path, loss, c.LossStar)
	}
	w := &Walker{backend: b, target: target, set: s, mapTheta: c.MAP, drift: c.Drift, lossStar: c.LossStar,
		step: c.State.Step, trace: c.Trace, snapshots: c.Snapshots}
	w.state = c.State.tensors(n, p)
	if opts != nil {
		w.setHooks(*opts)
	} else {
		w.setHooks(Options{})
	}
	return w, nil
}

// sameSettings compares resolved options with saved settings, ignoring what is chosen from the target
// (λ_max and the automatic η and ε, which the saved file provides).
func sameSettings(want, got Settings) error {
	want.LambdaMax = got.LambdaMax
	if want.EtaAuto && got.EtaAuto {
		want.Eta = got.Eta
	}
	if want.EpsilonAuto && got.EpsilonAuto {
		want.Epsilon = got.Epsilon
	}
	if reflect.DeepEqual(want, got) {
		return nil
	}
	wv, gv := reflect.ValueOf(want), reflect.ValueOf(got)
	for i := 0; i < wv.NumField(); i++ {
		if !reflect.DeepEqual(wv.Field(i).Interface(), gv.Field(i).Interface()) {
			return fmt.Errorf("%s: now %v, saved %v", wv.Type().Field(i).Name, wv.Field(i).Interface(), gv.Field(i).Interface())
		}
	}
	return fmt.Errorf("settings differ")
}
