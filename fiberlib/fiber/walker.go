package fiber

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/fiberbnn/fiberbnn/fiberlib/internal/gloop"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// Walker is a walk in progress: NewWalker starts one at a MAP, LoadCheckpoint resumes a saved one, Advance
// and Run move it on, Result reads the samples and diagnostics out.
type Walker struct {
	backend compute.Backend
	target  posterior.Target
	set     Settings

	mapTheta []float32 // [P]
	drift    []float32 // [N, P]
	lossStar float64   // ℓ(θ*) on the full data

	state []*tensors.Tensor // numState values, see the st* constants
	step  int

	trace     Trace
	snapshots []Snapshot

	exec, diagExec *Exec
	// consts are the per-walk inputs of every call (MAP, drifts, mask, ℓ(θ*), data), made into tensors once
	// so that each call reuses their device buffers instead of uploading them again.
	consts []any

	// Progress reporting (not saved).
	progress      func(Progress)
	progressW     progressWriter
	checkpoint    string
	runStart      time.Time
	runStartStep  int
	lastProgressT time.Time
}

// NewWalker validates the options against the target, chooses the automatic settings (η, ε, τ; η and ε by
// a power iteration on the Hessian of ℓ at θ*), draws the drifts, and places all particles at mapTheta [P].
func NewWalker(b compute.Backend, target posterior.Target, mapTheta []float32, opts Options) (*Walker, error) {
	if b == nil || target == nil {
		return nil, fmt.Errorf("fiber.NewWalker: nil backend or target")
	}
	p := target.NumParams()
	if len(mapTheta) != p {
		return nil, fmt.Errorf("fiber.NewWalker: mapTheta has %d values, the target has %d parameters", len(mapTheta), p)
	}
	for i, v := range mapTheta {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("fiber.NewWalker: mapTheta[%d] = %g is not finite", i, v)
		}
	}
	if err := checkData(target); err != nil {
		return nil, err
	}
	set, err := opts.validate(p, target.NumData())
	if err != nil {
		return nil, err
	}
	w := &Walker{backend: b, target: target, mapTheta: append([]float32(nil), mapTheta...)}
	w.lossStar, err = perDatumLoss(b, target, mapTheta)
	if err != nil {
		return nil, err
	}
	if math.IsNaN(w.lossStar) || math.IsInf(w.lossStar, 0) {
		return nil, fmt.Errorf("fiber.NewWalker: the loss at mapTheta is %g; pass a finite MAP", w.lossStar)
	}
	if set.EtaAuto || set.EpsilonAuto {
		lam, err := LambdaMax(b, target, mapTheta, set.walkMask(), set.Seed)
		if err != nil {
			return nil, err
		}
		if !(lam > 0) || math.IsInf(lam, 0) {
			return nil, fmt.Errorf("fiber.NewWalker: the largest Hessian eigenvalue of the per-datum loss at θ* is %g, "+
				"so η and ε cannot be chosen automatically: set Options.Eta and Options.Epsilon", lam)
		}
		set.LambdaMax = lam
		if set.EtaAuto {
			set.Eta = DefaultEtaFraction / lam
		}
		if set.EpsilonAuto {
			set.Epsilon = DefaultEpsilonStart * math.Sqrt(2*set.Tau/lam)
		}
	}
	w.set = set
	w.drift = drawDrifts(set.Particles, set.walkMask(), set.Seed)
	if err := w.initState(); err != nil {
		return nil, err
	}
	w.setHooks(opts)
	return w, nil
}

// MustNewWalker is NewWalker that panics on error, for notebooks.
func MustNewWalker(b compute.Backend, target posterior.Target, mapTheta []float32, opts Options) *Walker {
	w, err := NewWalker(b, target, mapTheta, opts)
	if err != nil {
		panic(err)
	}
	return w
}

// Walk runs a whole walk: it resumes from opts.CheckpointPath when that file exists (made with the same
// target, MAP and options; anything else is an error), otherwise it starts at mapTheta. See Walker.Run.
func Walk(ctx context.Context, b compute.Backend, target posterior.Target, mapTheta []float32, opts Options) (*Result, error) {
	var w *Walker
	var err error
	if opts.CheckpointPath != "" && fileExists(opts.CheckpointPath) {
		w, err = LoadCheckpoint(b, target, opts.CheckpointPath, &opts)
		if err == nil && !slices.Equal(w.mapTheta, mapTheta) {
			return nil, fmt.Errorf("fiber.Walk: checkpoint %q started from another MAP; delete it or use another path",
				opts.CheckpointPath)
		}
	} else {
		w, err = NewWalker(b, target, mapTheta, opts)
	}
	if err != nil {
		return nil, err
	}
	return w.Run(ctx)
}

// MustWalk is Walk with a background context, panicking on error; for notebooks.
func MustWalk(b compute.Backend, target posterior.Target, mapTheta []float32, opts Options) *Result {
	r, err := Walk(context.Background(), b, target, mapTheta, opts)
	if err != nil {
		panic(err)
	}
	return r
}

// Settings returns the resolved settings of the walk.
func (w *Walker) Settings() Settings { return w.set }

// Step returns the number of steps done.
func (w *Walker) Step() int { return w.step }

// Done reports whether all Options.Steps steps are done.
func (w *Walker) Done() bool { return w.step >= w.set.Steps }

// checkData checks that the target's data tensors agree with NumData.
func checkData(t posterior.Target) error {
	n := t.NumData()
	for i, d := range t.Data() {
		if d == nil {
			return fmt.Errorf("fiber: target data tensor %d is nil", i)
		}
		dims := d.Shape().Dimensions
		if len(dims) == 0 || dims[0] != n {
			return fmt.Errorf("fiber: target data tensor %d has shape %s; want %d examples on axis 0 (NumData)", i, d.Shape(), n)
		}
	}
	if n > 0 && len(t.Data()) == 0 {
		return fmt.Errorf("fiber: target says NumData = %d but Data() is empty", n)
	}
	return nil
}

// drawDrifts returns N unit vectors [N, P] with uniform orientation on the masked coordinates (zero
// elsewhere): d = g/‖g‖, g ~ N(0, I). Drawn on the host with a PCG stream of the seed, so every backend walks
// with the same drifts.
func drawDrifts(n int, mask []float32, seed int64) []float32 {
	p := len(mask)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6669626572)) // "fiber"
	d := make([]float32, n*p)
	for i := 0; i < n; i++ {
		row := d[i*p : (i+1)*p]
		var ss float64
		for j := range row {
			if mask[j] == 0 {
				continue
			}
			v := rng.NormFloat64()
			row[j] = float32(v)
			ss += v * v
		}
		inv := 1 / math.Sqrt(ss)
		for j := range row {
			row[j] = float32(float64(row[j]) * inv)
		}
	}
	return d
}

// perDatumLoss returns ℓ(θ) = U(θ)/n on the full data for one parameter vector.
func perDatumLoss(b compute.Backend, t posterior.Target, theta []float32) (float64, error) {
	p := len(theta)
	k := execKey{backend: b, target: t, graph: fmt.Sprintf("loss|%d", p)}
	execMu.Lock()
	pair, ok := execCache[k]
	if !ok {
		exec, err := NewExec(b, func(inputs []*Node) *Node {
			th := Reshape(inputs[0], 1, p)
			return MulScalar(t.Potential(th, inputs[1:]), 1/float64(max(t.NumData(), 1)))
		})
		if err != nil {
			execMu.Unlock()
			return 0, err
		}
		pair = execPair{walk: exec.WithName("fiber_loss")}
		execCache[k] = pair
	}
	execMu.Unlock()
	args := []any{theta}
	for _, d := range t.Data() {
		args = append(args, d)
	}
	out, err := callSafe(pair.walk, args...)
	if err != nil {
		return 0, fmt.Errorf("fiber: evaluating the potential at θ*: %w", err)
	}
	v := out[0].Value().([]float32)
	return float64(v[0]), nil
}

// callSafe runs exec, turning panics from graph building into errors.
func callSafe(exec *Exec, args ...any) (out []*tensors.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return exec.Call(args...)
}

func (w *Walker) initState() error {
	n, p := w.set.Particles, w.set.NumParams
	h := &hostState{Theta: make([]float32, n*p), Eps: make([]float32, n), Eta: make([]float32, n),
		Stopped: make([]int32, n), Reason: make([]int32, n), Halvings: make([]int32, n)}
	for i := 0; i < n; i++ {
		copy(h.Theta[i*p:], w.mapTheta)
		h.Eps[i], h.Eta[i], h.Stopped[i] = float32(w.set.Epsilon), float32(w.set.Eta), -1
	}
	h.Prev = h.Theta
	w.state = h.tensors(n, p)
	w.step = 0
	w.trace = Trace{}
	w.snapshots = nil
	return nil
}

// Advance runs steps more steps (a multiple of RecordEvery), recording diagnostics every RecordEvery steps.
// It may go beyond Options.Steps.
func (w *Walker) Advance(steps int) error {
	k := w.set.RecordEvery
	if steps < 0 || steps%k != 0 {
		return fmt.Errorf("fiber: Advance(%d): the number of steps must be a non-negative multiple of RecordEvery = %d", steps, k)
	}
	for done := 0; done < steps; done += k {
		if err := w.advanceChunk(); err != nil {
			return err
		}
	}
	return nil
}

func (w *Walker) advanceChunk() error {
	if w.exec == nil {
		p, err := w.walkExecs()
		if err != nil {
			return err
		}
		w.exec, w.diagExec = p.walk, p.diag
	}
	if w.consts == nil {
		p := w.set.NumParams
		w.consts = []any{tensors.FromFlatDataAndDimensions(w.mapTheta, p),
			tensors.FromFlatDataAndDimensions(w.drift, w.set.Particles, p),
			tensors.FromFlatDataAndDimensions(w.set.walkMask(), p), float32(w.lossStar)}
		for _, d := range w.target.Data() {
			w.consts = append(w.consts, d)
		}
	}
	consts := w.consts
	args := make([]any, 0, numState+len(consts))
	for i, t := range w.state {
		// On XLA the state's buffers are donated to the call, which writes the new state into them instead of
		// allocating; θ is kept, because the diagnostics compare it with the new positions.
		if i != stTheta && gloop.UseWhile(w.backend) {
			d, err := DonateTensorBuffer(t, w.backend, 0)
			if err != nil {
				return fmt.Errorf("fiber: walk step %d: donating the state: %w", w.step, err)
			}
			args = append(args, d)
			continue
		}
		args = append(args, t)
	}
	out, err := callSafe(w.exec, append(args, consts...)...)
	if err != nil {
		return fmt.Errorf("fiber: walk step %d: %w", w.step, err)
	}
	theta0 := w.state[stTheta]
	w.state = out[:numState]
	w.step += w.set.RecordEvery
	diag, err := callSafe(w.diagExec, append([]any{theta0, w.state[stTheta], w.state[stEps]}, consts...)...)
	if err != nil {
		return fmt.Errorf("fiber: diagnostics at step %d: %w", w.step, err)
	}
	return w.record(diag)
}

// record appends the diagnostics of one chunk, with NaN for particles that had stopped, and keeps the
// positions when due.
func (w *Walker) record(diag []*tensors.Tensor) error {
	stopped, err := tensors.CopyFlatData[int32](w.state[stStopped])
	if err != nil {
		return err
	}
	eps, err := tensors.CopyFlatData[float32](w.state[stEps])
	if err != nil {
		return err
	}
	eta, err := tensors.CopyFlatData[float32](w.state[stEta])
	if err != nil {
		return err
	}
	rows := make([][]float32, numDiag)
	for i, d := range diag {
		if rows[i], err = tensors.CopyFlatData[float32](d); err != nil {
			return err
		}
	}
	nan := float32(math.NaN())
	for j, s := range stopped {
		if s >= 0 {
			for i := range rows {
				rows[i][j] = nan
			}
			eps[j], eta[j] = nan, nan
		}
	}
	t := &w.trace
	t.Steps = append(t.Steps, w.step)
	t.Loss = append(t.Loss, rows[dLoss])
	t.Distance = append(t.Distance, rows[dDist])
	t.GradNorm = append(t.GradNorm, rows[dGradNorm])
	t.Tangent = append(t.Tangent, rows[dTangent])
	t.Gate = append(t.Gate, rows[dGate])
	t.Progress = append(t.Progress, rows[dProgress])
	t.Epsilon = append(t.Epsilon, eps)
	t.Eta = append(t.Eta, eta)
	if w.set.KeepEvery > 0 && w.step >= w.set.KeepAfter && w.step%w.set.KeepEvery == 0 && w.step < w.set.Steps {
		theta, err := tensors.CopyFlatData[float32](w.state[stTheta])
		if err != nil {
			return err
		}
		w.snapshots = append(w.snapshots, Snapshot{Step: w.step, Positions: theta})
	}
	return nil
}

// Run advances the walk to Options.Steps, reporting progress and saving checkpoints as configured, and
// returns the result. When ctx is cancelled it stops between two executed calls, saves a checkpoint (if a
// path is set) and returns ctx.Err(); the walk can be resumed with LoadCheckpoint or Walk.
func (w *Walker) Run(ctx context.Context) (*Result, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	w.runStart, w.runStartStep = time.Now(), w.step
	for !w.Done() {
		if err := ctx.Err(); err != nil {
			if w.checkpoint != "" {
				if serr := w.SaveCheckpoint(w.checkpoint); serr != nil {
					return nil, fmt.Errorf("%w (and saving the checkpoint failed: %v)", err, serr)
				}
			}
			return nil, err
		}
		if err := w.advanceChunk(); err != nil {
			return nil, err
		}
		w.report(w.Done())
		if w.checkpoint != "" && (w.step%w.set.CheckpointEvery == 0 || w.Done()) {
			if err := w.SaveCheckpoint(w.checkpoint); err != nil {
				return nil, err
			}
		}
	}
	return w.Result()
}

// MustRun is Run with a background context that panics on error.
func (w *Walker) MustRun() *Result {
	r, err := w.Run(context.Background())
	if err != nil {
		panic(err)
	}
	return r
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Drifts returns a copy of the particles' unit drift directions, [N, P] row-major (zero outside the walking
// parameters).
func (w *Walker) Drifts() []float32 { return append([]float32(nil), w.drift...) }

// LossMAP returns ℓ(θ*), the per-datum loss at the MAP on the full data.
func (w *Walker) LossMAP() float64 { return w.lossStar }
