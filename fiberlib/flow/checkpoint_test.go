package flow

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func sameFloats(t *testing.T, what string, a, b []float32) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d vs %d values", what, len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("%s[%d]: %g vs %g (not bit-identical)", what, i, a[i], b[i])
		}
	}
}

// A fit interrupted (context cancelled after 3 of 8 calls) leaves a checkpoint; the same fit run again
// resumes from it and ends with bit-identical parameters and the same loss history as an uninterrupted
// fit. A checkpoint of another run (another seed) is refused.
func TestCheckpointResumeMatchesUninterrupted(t *testing.T) {
	x := banana(600, 1, 1)
	opts := Options{Coupling: Affine, Layers: 2, Hidden: []int{16}, Seed: 3}
	to := TrainOptions{MaxSteps: 800, StepsPerCall: 100, Seed: 4, Patience: -1}
	fit := func(to TrainOptions) (*Flow, error) {
		return Fit([]float32{0, 0}, x, SubspaceOptions{Rank: 2}, opts, to)
	}
	want, err := fit(to)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "train.ckpt")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	ti := to
	ti.CheckpointPath, ti.CheckpointEvery, ti.Context = path, 2, ctx
	ti.Progress = func(r TrainReport) {
		if calls++; calls == 3 {
			cancel()
		}
	}
	if _, err := fit(ti); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted fit: error %v, want context.Canceled", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no checkpoint after the interruption: %v", err)
	}
	resumed := 0
	tr := to
	tr.CheckpointPath, tr.CheckpointEvery = path, 2
	tr.Progress = func(TrainReport) { resumed++ }
	got, err := fit(tr)
	if err != nil {
		t.Fatal(err)
	}
	if resumed != 5 {
		t.Errorf("the resumed fit ran %d calls, want the 5 left", resumed)
	}
	sameFloats(t, "params", want.Params, got.Params)
	if got.Report.Steps != want.Report.Steps || got.Report.BestStep != want.Report.BestStep ||
		len(got.Report.ValidLoss) != len(want.Report.ValidLoss) {
		t.Fatalf("report: %+v vs %+v", got.Report, want.Report)
	}
	for i := range want.Report.ValidLoss {
		if got.Report.ValidLoss[i] != want.Report.ValidLoss[i] || got.Report.TrainLoss[i] != want.Report.TrainLoss[i] {
			t.Fatalf("call %d: losses %g/%g vs %g/%g", i, got.Report.TrainLoss[i], got.Report.ValidLoss[i],
				want.Report.TrainLoss[i], want.Report.ValidLoss[i])
		}
	}
	// The finished run's checkpoint gives the same flow at once.
	again, err := fit(tr)
	if err != nil {
		t.Fatal(err)
	}
	sameFloats(t, "params (from the final checkpoint)", want.Params, again.Params)
	other := tr
	other.Seed = 5
	if _, err := fit(other); err == nil {
		t.Error("a checkpoint of another run (seed 4) was used for seed 5")
	}
}

// A NaN loss at step 357 (a test hook) stops training there: the report names the step, the call holding
// it is dropped, and the parameters are those of an uninterrupted 300-step fit (the best of the calls
// before).
func TestNonFiniteStepStopsTraining(t *testing.T) {
	x := banana(600, 1, 1)
	opts := Options{Coupling: Affine, Layers: 2, Hidden: []int{16}, Seed: 3}
	fit := func(to TrainOptions) (*Flow, error) {
		return Fit([]float32{0, 0}, x, SubspaceOptions{Rank: 2}, opts, to)
	}
	want, err := fit(TrainOptions{MaxSteps: 300, StepsPerCall: 100, Seed: 4, Patience: -1})
	if err != nil {
		t.Fatal(err)
	}
	got, err := fit(TrainOptions{MaxSteps: 800, StepsPerCall: 100, Seed: 4, Patience: -1, nanAtStep: 357})
	if err != nil {
		t.Fatal(err)
	}
	if got.Report.NonFiniteStep != 357 || got.Report.Steps != 400 || len(got.Report.ValidLoss) != 3 {
		t.Fatalf("report: non-finite step %d (want 357), %d steps (want 400), %d held-out losses (want 3)",
			got.Report.NonFiniteStep, got.Report.Steps, len(got.Report.ValidLoss))
	}
	sameFloats(t, "params", want.Params, got.Params)
	// In the first call nothing finite is kept: an error naming the step.
	if _, err := fit(TrainOptions{MaxSteps: 300, StepsPerCall: 100, Seed: 4, nanAtStep: 7}); err == nil {
		t.Error("a NaN in the first call: no error")
	}
}
