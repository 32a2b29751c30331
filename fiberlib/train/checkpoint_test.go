package train_test

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/fiberbnn/fiberbnn/fiberlib/train"
)

// childEnv, when set in the environment, makes TestKilledRunResumesIdentically act as the child that is
// killed: it trains with the checkpoint path given there and slows itself down on every progress line.
const childEnv = "FIBERBNN_TRAIN_KILL_CHILD"

// killNet is a small ensemble problem that exercises every part of the saved state: two members,
// minibatches (random streams), a held-out validation fraction with early stopping (best parameters, waits).
func killNet() (*posterior.Network, train.Options) {
	ds := sineData(60, -2, 2, 0.1, 21)
	net := posterior.MustNewNetwork(nets.MLP(1, []int{16}, 1, nets.Tanh), ds, posterior.NetworkOptions{Sigma: 0.1})
	return net, train.Options{LearningRate: 0.01, Epochs: 40, BatchSize: 8, Members: 2, Seed: 3,
		ValidationFraction: 0.25, Patience: 1000}
}

// slowWriter sleeps on every write, so that the killed child is still running when the parent kills it.
type slowWriter struct{}

func (slowWriter) Write(p []byte) (int, error) {
	time.Sleep(250 * time.Millisecond)
	return len(p), nil
}

// TestKilledRunResumesIdentically starts a training run in a child process (this test binary again),
// SIGKILLs it once it has written a checkpoint, resumes from the checkpoint, and checks that the result is
// bit for bit the one of an uninterrupted run: parameters, loss histories and best epochs.
func TestKilledRunResumesIdentically(t *testing.T) {
	net, o := killNet()
	if path := os.Getenv(childEnv); path != "" {
		o.CheckpointPath, o.Progress, o.ProgressEvery = path, slowWriter{}, 1.0/float64(o.Epochs)
		_, err := train.MAP(net, o)
		t.Fatalf("the child was not killed (err=%v)", err)
	}
	path := filepath.Join(t.TempDir(), "map.ckpt")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledRunResumesIdentically$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("the child wrote no checkpoint in 2 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(600 * time.Millisecond) // a few more evaluations, to kill it at some random point midway
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the child ended by itself (%v) instead of being killed", err)
	}

	want, err := train.MAP(net, o)
	if err != nil {
		t.Fatal(err)
	}
	o.CheckpointPath = path
	got, err := train.MAP(net, o)
	if err != nil {
		t.Fatal(err)
	}
	if got.ResumedEpoch < 1 || got.ResumedEpoch >= o.Epochs {
		t.Fatalf("resumed at epoch %d, want one inside [1, %d)", got.ResumedEpoch, o.Epochs)
	}
	t.Logf("killed child resumed at epoch %d of %d", got.ResumedEpoch, o.Epochs)
	sameResult(t, got, want)

	// The finished checkpoint resumes to the same result at once.
	again, err := train.MAP(net, o)
	if err != nil {
		t.Fatal(err)
	}
	if again.ResumedEpoch != o.Epochs {
		t.Errorf("finished checkpoint resumed at epoch %d, want %d", again.ResumedEpoch, o.Epochs)
	}
	sameResult(t, again, want)
}

var errInterrupt = errors.New("interrupted")

// panicWriter panics with errInterrupt on write number after.
type panicWriter struct{ n, after int }

func (w *panicWriter) Write(p []byte) (int, error) {
	if w.n++; w.n >= w.after {
		panic(errInterrupt)
	}
	return len(p), nil
}

// sameResult fails unless got and want hold bit-identical parameters and histories.
func sameResult(t *testing.T, got, want *train.Result) {
	t.Helper()
	for i := range want.Theta {
		if math.Float32bits(got.Theta[i]) != math.Float32bits(want.Theta[i]) {
			t.Fatalf("θ[%d] = %v after resuming, %v uninterrupted", i, got.Theta[i], want.Theta[i])
		}
	}
	if got.Epochs != want.Epochs || got.Steps != want.Steps || len(got.EvalEpochs) != len(want.EvalEpochs) {
		t.Fatalf("epochs/steps/evaluations %d/%d/%d after resuming, %d/%d/%d uninterrupted", got.Epochs, got.Steps,
			len(got.EvalEpochs), want.Epochs, want.Steps, len(want.EvalEpochs))
	}
	for k := range want.TrainLoss {
		for i := range want.TrainLoss[k] {
			g, w := got.TrainLoss[k][i], want.TrainLoss[k][i]
			gv, wv := got.ValLoss[k][i], want.ValLoss[k][i]
			if math.Float64bits(g) != math.Float64bits(w) || math.Float64bits(gv) != math.Float64bits(wv) {
				t.Fatalf("evaluation %d member %d: losses %v/%v after resuming, %v/%v uninterrupted", k, i, g, gv, w, wv)
			}
		}
	}
	for i := range want.BestEpoch {
		if got.BestEpoch[i] != want.BestEpoch[i] || got.Stopped[i] != want.Stopped[i] {
			t.Fatalf("member %d: best epoch %d stopped %v after resuming, %d %v uninterrupted", i,
				got.BestEpoch[i], got.Stopped[i], want.BestEpoch[i], want.Stopped[i])
		}
	}
}

// An early-stopping run split at every evaluation (resumed from its checkpoint each time, in process)
// matches the uninterrupted one; a checkpoint of other options, or a damaged one, is refused with a message
// naming the difference and the fix.
func TestCheckpointResumeInProcessAndMismatch(t *testing.T) {
	net, o := killNet()
	o.Epochs, o.Patience, o.EvalEvery = 12, 2, 2
	want, err := train.MAP(net, o)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "map.ckpt")
	o.CheckpointPath = path
	// Interrupt the run in process: the progress writer panics on its third line, before the third
	// checkpoint is written.
	o.Progress, o.ProgressEvery = &panicWriter{after: 3}, 1.0/float64(o.Epochs)
	func() {
		defer func() {
			if r := recover(); r != errInterrupt {
				t.Fatalf("recovered %v, want the writer's interruption", r)
			}
		}()
		_, _ = train.MAP(net, o)
	}()
	o.Progress = nil
	got, err := train.MAP(net, o)
	if err != nil {
		t.Fatal(err)
	}
	if got.ResumedEpoch != 4 {
		t.Errorf("resumed at epoch %d, want 4 (2 evaluations of 2 epochs)", got.ResumedEpoch)
	}
	sameResult(t, got, want)

	o2 := o
	o2.LearningRate = 0.02
	if _, err := train.MAP(net, o2); err == nil || !strings.Contains(err.Error(), "LearningRate: now 0.02, saved 0.01") ||
		!strings.Contains(err.Error(), "delete it or use another CheckpointPath") {
		t.Errorf("other learning rate: err = %v", err)
	}
	o2 = o
	o2.Seed = 4
	if _, err := train.MAP(net, o2); err == nil || !strings.Contains(err.Error(), "Seed: now 4, saved 3") {
		t.Errorf("other seed: err = %v", err)
	}
	other := posterior.MustNewNetwork(nets.MLP(1, []int{16}, 1, nets.Tanh), sineData(60, -2, 2, 0.1, 22),
		posterior.NetworkOptions{Sigma: 0.1})
	if _, err := train.MAP(other, o); err == nil || !strings.Contains(err.Error(), "DataCRC") {
		t.Errorf("other data: err = %v", err)
	}
	raw, _ := os.ReadFile(path)
	raw[len(raw)/2] ^= 0x40
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := train.MAP(net, o); err == nil || !strings.Contains(err.Error(), "checksum mismatch") ||
		!strings.Contains(err.Error(), "delete the file") {
		t.Errorf("damaged checkpoint: err = %v", err)
	}
	if err := os.WriteFile(path, raw[:len(raw)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := train.MAP(net, o); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated checkpoint: err = %v", err)
	}
}

// A member whose starting parameters overflow the objective diverges at step 1: the error names it and
// the step, the others are unaffected, and its parameters are the last finite ones (its Init).
func TestDivergenceAtFirstStepKeepsInit(t *testing.T) {
	ds := linearData(10, 2, 0.1, 1)
	net := posterior.MustNewNetwork(nets.MLP(2, nil, 1, nets.Identity), ds, posterior.NetworkOptions{})
	p := net.NumParams()
	init := make([]float32, 3*p)
	for j := p; j < 2*p; j++ {
		init[j] = 1e20 // θ² overflows float32
	}
	_, err := train.MAP(net, train.Options{Members: 3, Init: init, Epochs: 5})
	var de *train.DivergenceError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want a *DivergenceError", err)
	}
	if de.Member != 1 || de.Step != 1 || de.Epoch != 1 {
		t.Errorf("member %d step %d epoch %d, want 1, 1, 1", de.Member, de.Step, de.Epoch)
	}
	if !strings.Contains(err.Error(), "member 1 diverged at step 1 (epoch 1)") {
		t.Errorf("message %q", err)
	}
	for j, v := range de.Result.Member(1) {
		if v != 1e20 {
			t.Fatalf("diverged member θ[%d] = %v, want its Init 1e20", j, v)
		}
	}
	for _, i := range []int{0, 2} {
		moved := false
		for _, v := range de.Result.Member(i) {
			moved = moved || v != 0
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("member %d has θ = %v", i, v)
			}
		}
		if !moved {
			t.Errorf("member %d did not train", i)
		}
	}
}

// Full-batch SGD with a far too large learning rate diverges at some step s; the parameters kept are
// bit for bit those of the same run stopped after s−1 steps.
func TestDivergenceKeepsLastFiniteStep(t *testing.T) {
	ds := linearData(10, 2, 0.1, 1)
	net := posterior.MustNewNetwork(nets.MLP(2, nil, 1, nets.Identity), ds, posterior.NetworkOptions{})
	o := train.Options{Optimizer: train.SGD, LearningRate: 1e4, Epochs: 200, EvalEvery: 1, Seed: 2}
	_, err := train.MAP(net, o)
	var de *train.DivergenceError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want a *DivergenceError", err)
	}
	if de.Step < 3 {
		t.Fatalf("diverged at step %d: the test wants a few finite steps first", de.Step)
	}
	t.Logf("diverged at step %d", de.Step)
	o.Epochs = de.Step - 1
	short, err := train.MAP(net, o)
	if err != nil {
		t.Fatal(err)
	}
	for j, v := range short.Theta {
		if math.Float32bits(v) != math.Float32bits(de.Result.Theta[j]) {
			t.Fatalf("θ[%d] = %v kept, %v after %d steps", j, de.Result.Theta[j], v, o.Epochs)
		}
	}
}
