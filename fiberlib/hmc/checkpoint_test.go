package hmc

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// cancelAfter is a context whose Err turns into context.Canceled at its n-th call: Sample checks its
// context once before every executed call, so the interruption point is deterministic.
type cancelAfter struct {
	context.Context
	n, calls int
}

func (c *cancelAfter) Err() error {
	c.calls++
	if c.calls >= c.n {
		return context.Canceled
	}
	return nil
}

// checkpointOptions is a short run of 3 chains on a correlated 2-D Gaussian: 120 warm-up transitions (4
// phases) and 90 draws, in calls of 20 transitions.
func checkpointOptions() Options {
	o := DefaultOptions()
	o.NumWarmup, o.NumDraws, o.Seed, o.TransitionsPerCall, o.NumSteps = 120, 90, 11, 20, 8
	return o
}

// sameResult asserts that two results agree bit for bit in everything the chains determine.
func sameResult(t *testing.T, what string, got, want *Result) {
	t.Helper()
	bits := func(name string, a, b []float32) {
		t.Helper()
		if len(a) != len(b) {
			t.Fatalf("%s: %s has %d values, want %d", what, name, len(a), len(b))
		}
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s: %s[%d] = %v, uninterrupted run %v", what, name, i, a[i], b[i])
			}
		}
	}
	bits("Draws", got.Draws, want.Draws)
	bits("Potential", got.Potential, want.Potential)
	bits("AcceptProb", got.AcceptProb, want.AcceptProb)
	bits("StepSize", got.StepSize, want.StepSize)
	for c := range want.InverseMass {
		bits("InverseMass", got.InverseMass[c], want.InverseMass[c])
	}
	for _, f := range []struct {
		name string
		a, b any
	}{{"Divergences", got.Divergences, want.Divergences}, {"GradEvals", got.GradEvals, want.GradEvals},
		{"Transitions", got.Transitions, want.Transitions}, {"WarmupAcceptRate", got.WarmupAcceptRate, want.WarmupAcceptRate},
		{"AcceptRate", got.AcceptRate, want.AcceptRate}, {"EBFMI", got.EBFMI, want.EBFMI}} {
		if !reflect.DeepEqual(f.a, f.b) {
			t.Errorf("%s: %s = %v, uninterrupted run %v", what, f.name, f.a, f.b)
		}
	}
}

// A run cancelled during warm-up, and one cancelled during sampling, resume from their checkpoints to the
// same numbers, bit for bit, as a run that was never interrupted; a checkpoint of other options is refused.
func TestCheckpointResumeAfterCancel(t *testing.T) {
	tg := newGaussian([]float32{0, 1}, [][]float32{{2, 0.5}, {0.5, 1}})
	init, _ := InitAround([]float32{0, 1}, 3, 0.5, 2)
	o := checkpointOptions()
	want := mustSample(t, tg, init, o)
	// The plan: heuristic, warm-up phases of 18 | 90 | 12 transitions (Stan's schedule shrunk to 120), then 90
	// draws; in calls of at most 20 transitions, each preceded by a check of the context: checks 1–7 are in
	// warm-up, 8–12 in sampling. The 3rd falls inside the slow window, the 10th after 40 draws.
	for _, n := range []int{3, 10} {
		path := filepath.Join(t.TempDir(), "hmc.ckpt")
		oc := o
		oc.CheckpointPath = path
		s, err := New(tg, oc)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.SampleContext(&cancelAfter{Context: context.Background(), n: n}, init)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancel at check %d: error %v, want context.Canceled", n, err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("cancel at check %d: no checkpoint: %v", n, err)
		}
		got, err := s.Sample(init) // the Sampler keeps nothing but compiled code: the file carries the run
		if err != nil {
			t.Fatal(err)
		}
		sameResult(t, "resumed after cancel", got, want)

		other := oc
		other.Seed++ // same path, another seed
		if _, err := s.WithSeed(other.Seed).Sample(init); err == nil || !strings.Contains(err.Error(), "delete it") {
			t.Errorf("checkpoint of seed %d resumed with seed %d: error %v, want a refusal", oc.Seed, other.Seed, err)
		}
	}
}

// killOptions is a run long enough (several seconds) for the parent to kill it after its first checkpoint.
func killOptions(path string) Options {
	o := checkpointOptions()
	o.NumDraws, o.CheckpointPath, o.CheckpointEvery = 3000, path, 100
	return o
}

// TestCheckpointChild is the child process of TestCheckpointSurvivesSIGKILL (skipped otherwise).
func TestCheckpointChild(t *testing.T) {
	path := os.Getenv("FIBERBNN_HMC_CHECKPOINT_CHILD")
	if path == "" {
		t.Skip("child process of TestCheckpointSurvivesSIGKILL")
	}
	tg := newGaussian([]float32{0, 1}, [][]float32{{2, 0.5}, {0.5, 1}})
	init, _ := InitAround([]float32{0, 1}, 3, 0.5, 2)
	if _, err := Sample(tg, init, killOptions(path)); err != nil {
		t.Fatal(err)
	}
}

// A child process running a long HMC with checkpoints is killed with SIGKILL right after its first
// checkpoint appears; the run resumed from that file gives the numbers of an uninterrupted run.
func TestCheckpointSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	path := filepath.Join(t.TempDir(), "hmc.ckpt")
	cmd := exec.Command(os.Args[0], "-test.run", "^TestCheckpointChild$", "-test.count", "1")
	cmd.Env = append(os.Environ(), "FIBERBNN_HMC_CHECKPOINT_CHILD="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(3 * time.Minute)
	for killed := false; !killed; {
		select {
		case err := <-done:
			t.Fatalf("the child finished (%v) before its checkpoint was seen", err)
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatal("no checkpoint after 3 minutes")
		case <-time.After(20 * time.Millisecond):
			if _, err := os.Stat(path); err == nil {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
	}
	if err := <-done; err == nil {
		t.Fatal("the child exited cleanly after SIGKILL")
	}
	tg := newGaussian([]float32{0, 1}, [][]float32{{2, 0.5}, {0.5, 1}})
	init, _ := InitAround([]float32{0, 1}, 3, 0.5, 2)
	o := killOptions(path)
	var h checkpointHeader
	if f, err := readCheckpoint(path); err != nil {
		t.Fatal(err)
	} else if err := f.DecodeHeader(&h); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed at stage %d, transition %d (%d transitions done)", h.Stage, h.Done, h.Transitions)
	got, err := Sample(tg, init, o)
	if err != nil {
		t.Fatal(err)
	}
	o.CheckpointPath = ""
	want := mustSample(t, tg, init, o)
	sameResult(t, "resumed after SIGKILL", got, want)
}

// hole is a standard Gaussian in P dimensions whose potential is NaN where θ₀ > edge.
type hole struct {
	p    int
	edge float64
}

func (h *hole) NumParams() int          { return h.p }
func (h *hole) NumData() int            { return 0 }
func (h *hole) Data() []*tensors.Tensor { return nil }
func (h *hole) Potential(theta *Node, _ []*Node) *Node {
	g := theta.Graph()
	u := MulScalar(ReduceSum(Square(theta), -1), 0.5)
	x0 := Reshape(Slice(theta, AxisRange(), AxisRange(0, 1)), -1)
	nan := Const(g, tensors.FromFlatDataAndDimensions([]float32{float32(math.NaN())}))
	return Where(GreaterThan(x0, AddScalar(ZerosLike(x0), h.edge)), BroadcastToDims(nan, x0.Shape().Dimensions...), u)
}

// A chain that runs into NaN is reported (chain, iteration, NonFinite) and keeps its previous point; the
// chains that never meet the NaN region draw exactly what they draw on the plain Gaussian, and the chain
// that met it draws the same up to its first NaN proposal.
func TestNonFiniteProposalsReported(t *testing.T) {
	const p = 2
	o := DefaultOptions()
	o.NumWarmup, o.NumDraws, o.StepSize, o.NumSteps, o.Seed = 0, 300, 0.4, 8, 3
	init := [][]float32{{3.4, 0}, {0, 0}, {-1, 0.5}, {0.5, -1}}
	plain := mustSample(t, &hole{p: p, edge: math.Inf(1)}, init, o)
	holed := mustSample(t, &hole{p: p, edge: 3.5}, init, o)
	if plain.NumDivergentDraws() != 0 {
		t.Fatalf("plain Gaussian: %d divergences", plain.NumDivergentDraws())
	}
	first := make([]int, len(init))
	for c := range first {
		first[c] = o.NumDraws
	}
	for _, d := range holed.Divergences {
		if !d.NonFinite || d.Warmup {
			t.Errorf("%v: want a non-finite sampling divergence", d)
		}
		first[d.Chain] = min(first[d.Chain], d.Iteration)
	}
	if first[0] == o.NumDraws {
		t.Fatal("chain 0, started at θ₀ = 3.4 next to the NaN region θ₀ > 3.5, never met it")
	}
	for c := range init {
		if holed.NumNonFinite[c] != holed.NumDivergent[c] {
			t.Errorf("chain %d: %d non-finite, %d divergent: want equal", c, holed.NumNonFinite[c], holed.NumDivergent[c])
		}
		for s := range first[c] {
			a, b := holed.Draw(c, s), plain.Draw(c, s)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("chain %d draw %d (before its first NaN at %d) differs from the plain run", c, s, first[c])
				}
			}
		}
		for s := range o.NumDraws {
			if x := holed.Draw(c, s)[0]; !(x <= 3.5) {
				t.Fatalf("chain %d draw %d has θ₀ = %v: a NaN-region point was accepted", c, s, x)
			}
		}
	}
	t.Logf("first NaN proposal per chain: %v (of %d draws); non-finite counts %v", first, o.NumDraws, holed.NumNonFinite)
}
