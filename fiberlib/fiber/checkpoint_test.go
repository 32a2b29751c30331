package fiber_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/fiber"
)

// A walk that uses the device random stream (minibatches and noise) and the step control.
func checkpointOptions() fiber.Options {
	return fiber.Options{Particles: 16, Steps: 200, RecordEvery: 20, BatchSize: 10, NoiseTemperature: 0.5,
		Seed: 9, KeepEvery: 40, KeepAfter: 40, Eta: 0.2, Epsilon: 0.05, Tau: 0.02}
}

func sameResults(t *testing.T, a, b *fiber.Result) {
	t.Helper()
	if !reflect.DeepEqual(a.Positions, b.Positions) {
		t.Errorf("final positions differ")
	}
	if !reflect.DeepEqual(a.Samples(), b.Samples()) {
		t.Errorf("samples differ")
	}
	if !reflect.DeepEqual(a.Halvings, b.Halvings) || !reflect.DeepEqual(a.Stopped, b.Stopped) {
		t.Errorf("halvings or stops differ: %v %v / %v %v", a.Halvings, a.Stopped, b.Halvings, b.Stopped)
	}
	// NaN ≠ NaN, so compare the traces as printed.
	if sa, sb := fmtTrace(a.Trace), fmtTrace(b.Trace); sa != sb {
		t.Errorf("traces differ")
	}
	if a.Steps != b.Steps {
		t.Errorf("steps %d vs %d", a.Steps, b.Steps)
	}
}

// fmtTrace prints a trace (NaN ≠ NaN, so traces are compared as text).
func fmtTrace(tr fiber.Trace) string { return fmt.Sprint(tr) }

// T steps in one go, and T/2 steps, a checkpoint, a reload and T/2 more, give identical numbers.
func TestCheckpointResumeIsIdentical(t *testing.T) {
	b := testBackend(t)
	lr := newLinreg(60, 3, 1, 1, 21)
	mapTheta := to32(lr.mapTheta())
	opts := checkpointOptions()
	full, err := fiber.Walk(context.Background(), b, lr, mapTheta, opts)
	if err != nil {
		t.Fatal(err)
	}
	if full.NumSamples() != 16*5 {
		t.Fatalf("%d samples, want 16 × (4 snapshots at 40, 80, 120, 160 + final)", full.NumSamples())
	}

	w, err := fiber.NewWalker(b, lr, mapTheta, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Advance(100); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "walk.ckpt")
	if err := w.SaveCheckpoint(path); err != nil {
		t.Fatal(err)
	}
	w2, err := fiber.LoadCheckpoint(b, lr, path, &opts)
	if err != nil {
		t.Fatal(err)
	}
	if w2.Step() != 100 {
		t.Fatalf("loaded walk at step %d, want 100", w2.Step())
	}
	resumed, err := w2.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sameResults(t, full, resumed)

	// The same through Walk: cancel mid-way (the walk saves a checkpoint), then call Walk again.
	path2 := filepath.Join(t.TempDir(), "walk2.ckpt")
	ctx, cancel := context.WithCancel(context.Background())
	o := opts
	o.CheckpointPath, o.CheckpointEvery = path2, 60
	o.ProgressFunc = func(p fiber.Progress) {
		if p.Step >= 120 {
			cancel()
		}
	}
	if _, err := fiber.Walk(ctx, b, lr, mapTheta, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted walk returned %v, want context.Canceled", err)
	}
	o.ProgressFunc = nil
	again, err := fiber.Walk(context.Background(), b, lr, mapTheta, o)
	if err != nil {
		t.Fatal(err)
	}
	sameResults(t, full, again)
	if matches, _ := filepath.Glob(path2 + ".tmp*"); len(matches) != 0 {
		t.Errorf("temporary files left behind: %v", matches)
	}

	// A checkpoint is refused for other options, another MAP or another target.
	moved := append([]float32(nil), mapTheta...)
	moved[0] += 0.5
	if _, err := fiber.Walk(context.Background(), b, lr, moved, o); err == nil || !strings.Contains(err.Error(), "another MAP") {
		t.Errorf("resuming from another MAP: err = %v", err)
	}
	o2 := opts
	o2.Seed = 10
	if _, err := fiber.LoadCheckpoint(b, lr, path, &o2); err == nil || !strings.Contains(err.Error(), "Seed") {
		t.Errorf("loading with another seed: err = %v, want one naming Seed", err)
	}
	other := newLinreg(60, 3, 1, 1, 22)
	if _, err := fiber.LoadCheckpoint(b, other, path, &opts); err == nil || !strings.Contains(err.Error(), "different target") {
		t.Errorf("loading for another data set: err = %v, want 'different target'", err)
	}
	// A damaged checkpoint (one byte flipped) is refused by its checksum before anything is decoded.
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), good...)
	bad[len(bad)/2] ^= 0x10
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fiber.LoadCheckpoint(b, lr, path, nil); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("loading a damaged checkpoint: err = %v, want a checksum mismatch", err)
	}
	if err := os.WriteFile(path, good[:len(good)-7], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fiber.LoadCheckpoint(b, lr, path, nil); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("loading a truncated checkpoint: err = %v, want 'truncated'", err)
	}
	if err := os.WriteFile(path, []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fiber.LoadCheckpoint(b, lr, path, nil); err == nil {
		t.Errorf("loading garbage succeeded")
	}
}
