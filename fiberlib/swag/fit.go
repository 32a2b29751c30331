package swag

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/internal/gloop"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// SWAG is a fitted SWAG posterior N(θ_SWA, s·(Σ_diag + DᵀD/(K−1))) (or N(θ_SWA, s·Σ_diag) for Diag).
type SWAG struct {
	// Mean is θ_SWA, the average of the collected iterates, [P].
	Mean []float32
	// Variance is Σ_diag, (1/T) Σ θ_t² − θ_SWA² clamped at VarianceClamp, [P].
	Variance []float32
	// Deviations is D, row-major [K', P] with K' = min(T, K) rows θ_t − θ̄_t of the last K' iterates (in
	// ring-buffer order; the order does not matter for sampling). Nil for Diag.
	Deviations []float32
	// Rank is K' (0 for Diag).
	Rank int
	// Collected is T, the number of iterates averaged.
	Collected int
	// Iterates holds the collected iterates, row-major [T, P], when Options.KeepIterates was set.
	Iterates []float32
	// P is the number of parameters.
	P int
	// FitSeconds is the wall time of Fit (compilation included).
	FitSeconds float64
	// LambdaMax is the largest Hessian eigenvalue of U/n at the start when the learning rate was chosen
	// automatically (Options().LearningRate holds the rate used), else 0.
	LambdaMax float64

	net     *posterior.Network
	opts    Options
	backend compute.Backend
	mapT    []float32
	mu      sync.Mutex
	smp     *Exec
}

// Options returns the options with the defaults filled in.
func (s *SWAG) Options() Options { return s.opts }

// Network returns the network SWAG was fitted for.
func (s *SWAG) Network() *posterior.Network { return s.net }

// Fit runs the SWAG phase from theta [P] (normally the MAP) on net's training data and returns the fitted
// moments.
func Fit(net *posterior.Network, theta []float32, opts Options) (*SWAG, error) {
	if net != nil && len(theta) != net.NumParams() {
		return nil, fmt.Errorf("swag.Fit: the start has %d values, the network has P=%d parameters", len(theta), net.NumParams())
	}
	out, err := fitStarts(net, theta, 1, opts)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// fitStarts runs m SWAG phases, one from each row of starts [m, P], in one compiled computation (the
// members share the minibatch order and the learning rate, chosen from the first start's curvature when
// automatic), and returns one SWAG per start.
func fitStarts(net *posterior.Network, starts []float32, m int, opts Options) ([]*SWAG, error) {
	start := time.Now()
	if net == nil {
		return nil, fmt.Errorf("swag.Fit: nil network")
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	p := net.NumParams()
	if m < 1 || len(starts) != m*p {
		return nil, fmt.Errorf("swag.Fit: %d start values for %d starts, the network has P=%d parameters", len(starts), m, p)
	}
	if err := nets.CheckFinite("start", starts, p); err != nil {
		return nil, fmt.Errorf("swag.Fit: %w", err)
	}
	theta := starts[:p]
	b := o.Backend
	if b == nil {
		if b, err = backend.New(); err != nil {
			return nil, fmt.Errorf("swag.Fit: %w", err)
		}
	}
	var lambdaMax float64
	if o.LearningRate == 0 {
		var ev *posterior.Evaluator
		if opts.Backend == nil {
			ev, err = net.Evaluator() // cached by the network: compiled once
		} else {
			ev, err = posterior.NewEvaluator(b, net)
		}
		if err != nil {
			return nil, fmt.Errorf("swag.Fit: %w", err)
		}
		eig, err := posterior.TopEigen(ev, theta, 1, posterior.EigenOptions{Iterations: 200, Tolerance: 1e-4, Seed: o.Seed})
		if err != nil {
			return nil, fmt.Errorf("swag.Fit: automatic learning rate: %w", err)
		}
		lambdaMax = eig.Values[0] / float64(net.NumData())
		if !(lambdaMax > 0) || math.IsInf(lambdaMax, 0) {
			return nil, fmt.Errorf("swag.Fit: the largest Hessian eigenvalue of U/n at the start is %g: set LearningRate", lambdaMax)
		}
	}
	auto := o.LearningRate == 0
	if auto {
		o.LearningRate = o.LRFraction * 2 * (1 + o.Momentum) / lambdaMax
	}
	if o.MinLearningRate == 0 {
		o.MinLearningRate = o.LearningRate / 10
	}
	// An automatic rate that diverges is halved and the phase rerun, up to maxHalvings times: the
	// stability limit comes from the full-data curvature at the start, and minibatch curvature or the
	// iterates' drift can exceed it (fraction 0.5 diverged on 9 of 20 concrete and all 20 wine splits).
	for halvings := 0; ; halvings++ {
		outs, err := sgdPhase(net, starts, m, p, o, b, lambdaMax, start)
		var div *divergedError
		if auto && errors.As(err, &div) && halvings < maxHalvings {
			o.LearningRate /= 2
			o.MinLearningRate /= 2
			continue
		}
		return outs, err
	}
}

// maxHalvings is the number of times a diverging automatic learning rate is halved.
const maxHalvings = 3

// divergedError reports SGD iterates that became non-finite.
type divergedError struct{ msg string }

func (e *divergedError) Error() string { return e.msg }

// sgdPhase runs the SGD phase of m starts at o's learning rate and collects the moments.
func sgdPhase(net *posterior.Network, starts []float32, m, p int, o Options, b compute.Backend, lambdaMax float64, start time.Time) ([]*SWAG, error) {
	n := net.NumData()
	batch := min(o.BatchSize, n)
	steps := max(1, n/batch) // per epoch
	k := 0
	if o.Covariance == LowRank {
		k = min(o.Rank, o.Epochs)
	}
	total := steps * o.Epochs
	useWhile := gloop.UseWhile(b)
	perCall := total
	if !useWhile { // unrolled: at most MaxUnrolledSteps per call, a divisor of the epoch so calls share a shape
		perCall = steps
		for perCall > o.MaxUnrolledSteps || steps%perCall != 0 {
			perCall--
		}
	}
	l := &loop{net: net, o: o, m: m, p: p, n: n, batch: batch, steps: steps, k: k, full: batch >= n}
	exec, err := l.exec(b, perCall, useWhile)
	if err != nil {
		return nil, fmt.Errorf("swag.Fit: %w", err)
	}
	idx := batchIndices(n, batch, steps, o.Epochs, o.Seed)
	keep := 0
	if o.KeepIterates {
		keep = o.Epochs
	}
	state := []*tensors.Tensor{
		tensors.FromFlatDataAndDimensions(append([]float32(nil), starts...), m, p),
		tensors.FromFlatDataAndDimensions(make([]float32, m*p), m, p),
		tensors.FromFlatDataAndDimensions(make([]float32, m*p), m, p),
		tensors.FromFlatDataAndDimensions(make([]float32, m*p), m, p),
		tensors.FromFlatDataAndDimensions(make([]float32, m*max(k, 1)*p), m, max(k, 1), p),
		tensors.FromFlatDataAndDimensions(make([]float32, m*max(keep, 1)*p), m, max(keep, 1), p),
	}
	data := dataTensors(net)
	for done := 0; done < total; done += perCall {
		rows := idx[done*batch : (done+perCall)*batch]
		args := []any{tensors.FromScalar(int32(done)), tensors.FromFlatDataAndDimensions(rows, perCall, batch)}
		for _, d := range data {
			args = append(args, d)
		}
		for _, s := range state {
			args = append(args, s)
		}
		res, err := exec.Call(args...)
		if err != nil {
			return nil, fmt.Errorf("swag.Fit: %w", err)
		}
		state = res
	}
	vals := make([][]float32, len(state))
	for i, s := range state {
		vals[i] = tensors.MustCopyFlatData[float32](s)
		s.FinalizeAll()
	}
	outs := make([]*SWAG, m)
	kk, kp := max(k, 1), max(keep, 1)
	for j := range m {
		out := &SWAG{Mean: vals[2][j*p : (j+1)*p], Variance: make([]float32, p), Rank: k, Collected: o.Epochs, P: p,
			LambdaMax: lambdaMax, net: net, opts: o, backend: b, mapT: append([]float32(nil), starts[j*p:(j+1)*p]...)}
		for i, mu := range out.Mean {
			out.Variance[i] = float32(math.Max(float64(vals[3][j*p+i])-float64(mu)*float64(mu), VarianceClamp))
		}
		if k > 0 {
			out.Deviations = vals[4][j*kk*p : (j+1)*kk*p]
		}
		if o.KeepIterates {
			out.Iterates = vals[5][j*kp*p : (j+1)*kp*p]
		}
		if err := nets.CheckFinite("SWAG mean", out.Mean, p); err != nil {
			return nil, &divergedError{fmt.Sprintf("swag.Fit: SGD diverged from start %d (lower LearningRate=%v): %v", j, o.LearningRate, err)}
		}
		out.FitSeconds = time.Since(start).Seconds()
		outs[j] = out
	}
	return outs, nil
}

// MustFit is Fit that panics on error; for notebooks.
func MustFit(net *posterior.Network, theta []float32, opts Options) *SWAG {
	s, err := Fit(net, theta, opts)
	if err != nil {
		panic(err)
	}
	return s
}

// batchIndices returns the rows of every step's minibatch, [epochs·steps, batch] row-major: each epoch takes
// the first steps·batch entries of a fresh permutation drawn from the PCG stream (seed, epoch); a full batch
// is the rows in order.
func batchIndices(n, batch, steps, epochs int, seed uint64) []int32 {
	idx := make([]int32, 0, epochs*steps*batch)
	perm := make([]int32, n)
	for e := 0; e < epochs; e++ {
		for i := range perm {
			perm[i] = int32(i)
		}
		if batch < n {
			r := rand.New(rand.NewPCG(seed, uint64(e)))
			r.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		}
		idx = append(idx, perm[:steps*batch]...)
	}
	return idx
}

// loop builds the SWAG phase's compiled steps.
type loop struct {
	net                      *posterior.Network
	o                        Options
	m, p, n, batch, steps, k int
	full                     bool
}

// loopKey identifies a compiled SWAG phase by everything its graph depends on.
type loopKey struct {
	spec, lik                          string
	sigma, alpha, lr, minLR, mom       float64
	schedule                           Schedule
	m, n, batch, steps, k, keep, calls int
	useWhile                           bool
	backend                            compute.Backend
}

var loopCache = struct {
	sync.Mutex
	m     map[loopKey]*Exec
	order []loopKey
}{m: map[loopKey]*Exec{}}

// exec returns the compiled phase of perCall steps, from a small cache (refits of the same model reuse it).
func (l *loop) exec(b compute.Backend, perCall int, useWhile bool) (*Exec, error) {
	keep := 0
	if l.o.KeepIterates {
		keep = l.o.Epochs
	}
	key := loopKey{spec: l.net.Spec.String(), lik: string(l.net.Likelihood), sigma: l.net.Sigma, alpha: l.net.PriorPrecision,
		lr: l.o.LearningRate, minLR: l.o.MinLearningRate, mom: l.o.Momentum, schedule: l.o.Schedule, m: l.m, n: l.n, batch: l.batch,
		steps: l.steps, k: l.k, keep: keep, calls: perCall, useWhile: useWhile, backend: b}
	loopCache.Lock()
	defer loopCache.Unlock()
	if ex, ok := loopCache.m[key]; ok {
		return ex, nil
	}
	ex, err := NewExec(b, func(in []*Node) []*Node { return l.build(perCall, useWhile, in) })
	if err != nil {
		return nil, err
	}
	ex = ex.WithName("swag.sgd")
	if len(loopCache.order) >= 16 {
		delete(loopCache.m, loopCache.order[0])
		loopCache.order = loopCache.order[1:]
	}
	loopCache.m[key] = ex
	loopCache.order = append(loopCache.order, key)
	return ex, nil
}

// build runs steps SGD steps from the state (θ, momentum, mean, second moment, D, iterates); inputs are
// the global index of the first step, the batch indices of this call's steps [steps, B], the data tensors,
// then the state. Nothing
// here creates a scalar constant (GoMLX v0.28.2 caches them per graph, and one first created outside the
// While body cannot be used inside it).
func (l *loop) build(steps int, useWhile bool, in []*Node) []*Node {
	nd := len(l.net.Data())
	first, idx, data, state := in[0], in[1], in[2:2+nd], in[2+nd:]
	consts := append([]*Node{first, idx}, data...)
	return gloop.Repeat(steps, useWhile, consts, state, l.body)
}

// body is one SGD step, followed by the collection of the iterate at the end of an epoch.
func (l *loop) body(step *Node, c, st []*Node) []*Node {
	first, idx, data := c[0], c[1], c[2:]
	g := step.Graph()
	t := Add(first, step) // global step index, int32 scalar
	if !l.full {
		var rows *Node
		if cv := step.ConstantValue(); cv != nil { // unrolled: a static slice (the Go backend has no DynamicSlice)
			i := int(cv.Value().(int32))
			rows = Slice(idx, AxisRange(i, i+1), AxisRange())
		} else {
			rows = DynamicSlice(idx, []*Node{step, Const(g, int32(0))}, []int{1, l.batch})
		}
		data = posterior.GatherRows(data, Reshape(rows, l.batch))
	}
	theta, buf, mean, sq, dev, iters := st[0], st[1], st[2], st[3], st[4], st[5]
	u := DivScalar(l.net.Potential(theta, data), float64(l.n)) // [m]
	grad := Gradient(ReduceAllSum(u), theta)[0]                // [m, P]
	buf = Add(MulScalar(buf, l.o.Momentum), grad)
	theta = Sub(theta, Mul(buf, l.learningRate(t)))

	// Collection after the last step of an epoch: c iterates so far → c+1.
	t1 := AddScalar(t, 1)
	inEpoch := Rem(t1, Const(g, int32(l.steps)))
	collect := Equal(inEpoch, Const(g, int32(0)))
	cNew := ConvertDType(Div(t1, Const(g, int32(l.steps))), dtypes.Float32) // c+1 if collecting
	w := Where(collect, Reciprocal(cNew), ZerosLike(cNew))                  // weight of the new iterate
	mean = Add(mean, Mul(w, Sub(theta, mean)))
	sq = Add(sq, Mul(w, Sub(Square(theta), sq)))
	if l.k > 0 {
		slot := Rem(Sub(Div(t1, Const(g, int32(l.steps))), Const(g, int32(1))), Const(g, int32(l.k)))
		rowMask := And(collect, Equal(Iota(g, shapes.Make(dtypes.Int32, 1, l.k, 1), 1), slot)) // [1, K, 1]
		d := BroadcastToDims(ExpandAxes(Sub(theta, mean), 1), l.m, l.k, l.p)
		dev = Where(BroadcastToDims(rowMask, l.m, l.k, l.p), d, dev)
	}
	if l.o.KeepIterates {
		tt := iters.Shape().Dimensions[1]
		slot := Sub(Div(t1, Const(g, int32(l.steps))), Const(g, int32(1)))
		rowMask := And(collect, Equal(Iota(g, shapes.Make(dtypes.Int32, 1, tt, 1), 1), slot))
		iters = Where(BroadcastToDims(rowMask, l.m, tt, l.p), BroadcastToDims(ExpandAxes(theta, 1), l.m, tt, l.p), iters)
	}
	return []*Node{theta, buf, mean, sq, dev, iters}
}

// learningRate returns the learning rate of global step t (int32 scalar) as a float32 scalar.
func (l *loop) learningRate(t *Node) *Node {
	g := t.Graph()
	if l.o.Schedule == Constant {
		return Scalar(g, dtypes.Float32, l.o.LearningRate)
	}
	// Position in the cycle: (t mod S + 1)/S ∈ (0, 1]; lr = (1−f)·lr_max + f·lr_min.
	f := DivScalar(ConvertDType(AddScalar(Rem(t, Const(g, int32(l.steps))), 1), dtypes.Float32), float64(l.steps))
	return AddScalar(MulScalar(f, l.o.MinLearningRate-l.o.LearningRate), l.o.LearningRate)
}

// dataTensors returns fresh host tensors of the network's training data (a tensor already used on one
// backend cannot be passed to another).
func dataTensors(net *posterior.Network) []*tensors.Tensor {
	ds := net.Dataset()
	x := tensors.FromFlatDataAndDimensions(append([]float32(nil), ds.X...), ds.N, ds.D)
	if ds.Task == data.Regression {
		return []*tensors.Tensor{x, tensors.FromFlatDataAndDimensions(append([]float32(nil), ds.Y...), ds.N, ds.T)}
	}
	return []*tensors.Tensor{x, tensors.FromFlatDataAndDimensions(append([]int32(nil), ds.Labels...), ds.N)}
}
