package flow

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// OutputTarget is a posterior whose network outputs can be evaluated, so that the fiber corrector can
// hold them fixed. *posterior.Network implements it.
type OutputTarget interface {
	posterior.Target
	// Outputs returns the raw outputs [N, B, O] for theta [N, P] and x [B, ...] or [N, B, ...].
	Outputs(theta, x *Node) *Node
}

// CorrectOptions control CorrectToFiber and SampleCorrected. The zero value gives the defaults.
type CorrectOptions struct {
	// Iterations is the number of damped Gauss–Newton (Levenberg–Marquardt) iterations, per cycle when
	// moving onto levels. Default 5, or 3 per cycle with levels.
	Iterations int
	// Damping μ₀ is the relative damping: each step solves (J Jᵀ + μ·tr(J Jᵀ)/M·I) y = r, M the number
	// of pinned outputs, with μ starting at μ₀ and never below it (divided by 3 after an accepted step,
	// multiplied by 4 after a rejected one). A larger μ₀ corrects only the stiffest directions of the
	// outputs, a smaller one pins the outputs more exactly. Default 0.03.
	Damping float64
	// CGIterations is the number of conjugate-gradient iterations per linear solve. Default 30.
	CGIterations int
	// MaxRows caps the training rows whose outputs are pinned (a seeded subset when the data has more).
	// Default 256. The rows are also capped so that one draw's Jacobian has at most 2²² entries.
	MaxRows int
	// Seed chooses the pinned rows when the data has more than MaxRows, and each draw's level.
	Seed uint64
	// Levels are per-datum loss levels ℓ = U/n. When set, each draw gets one (drawn uniformly with
	// replacement, seeded) and, after the Gauss–Newton iterations, moves along the fiber-tangent part of
	// the prior's gradient (of ∇U for targets without a separate prior; the pinned-output directions
	// projected out, same damping) until ℓ equals it, by a bracketed root search on that line: the
	// walk's budget control holds its particles on such a level, so this puts the draws where the
	// walk's are. SampleCorrected uses Flow.Levels (the
	// fitted samples' losses) when Levels is nil, unless SkipLevels is set; CorrectToFiber moves onto
	// levels only when Levels is set.
	Levels []float32
	// SkipLevels turns the level step off in SampleCorrected (outputs pinned only).
	SkipLevels bool
	// LevelCycles is the number of (Gauss–Newton iterations, level step) rounds when levels are used:
	// the level step moves the outputs at second order, the next round's Gauss–Newton iterations pin
	// them again, and every round ends on the level. Default 2.
	LevelCycles int
}

// Defaults of CorrectOptions.
const (
	DefaultCorrectIterations       = 5
	DefaultCorrectDamping          = 0.03
	DefaultCGIterations            = 30
	DefaultCorrectMaxRows          = 256
	DefaultLevelCycles             = 2
	DefaultLevelIterationsPerCycle = 3
	levelSearchIterations          = 30      // Illinois iterations of the level step
	maxJacobianEntries             = 1 << 22 // per draw
	maxChunkEntries                = 1 << 24 // Jacobian entries per compiled call (64 MiB in float32)
)

func (o CorrectOptions) withDefaults() (CorrectOptions, error) {
	if o.Iterations == 0 {
		o.Iterations = DefaultCorrectIterations
		if len(o.Levels) > 0 {
			o.Iterations = DefaultLevelIterationsPerCycle
		}
	}
	if o.Damping == 0 {
		o.Damping = DefaultCorrectDamping
	}
	if o.CGIterations == 0 {
		o.CGIterations = DefaultCGIterations
	}
	if o.MaxRows == 0 {
		o.MaxRows = DefaultCorrectMaxRows
	}
	if o.LevelCycles == 0 {
		o.LevelCycles = DefaultLevelCycles
	}
	switch {
	case o.Iterations < 1 || o.Iterations > 1000:
		return o, fmt.Errorf("flow: CorrectOptions.Iterations=%d, want 1..1000", o.Iterations)
	case !(o.Damping > 0) || math.IsInf(o.Damping, 0):
		return o, fmt.Errorf("flow: CorrectOptions.Damping=%g, want a finite value > 0 (e.g. %g)", o.Damping, DefaultCorrectDamping)
	case o.CGIterations < 1 || o.CGIterations > 1000:
		return o, fmt.Errorf("flow: CorrectOptions.CGIterations=%d, want 1..1000", o.CGIterations)
	case o.MaxRows < 1:
		return o, fmt.Errorf("flow: CorrectOptions.MaxRows=%d, want ≥ 1", o.MaxRows)
	case o.LevelCycles < 1 || o.LevelCycles > 100:
		return o, fmt.Errorf("flow: CorrectOptions.LevelCycles=%d, want 1..100", o.LevelCycles)
	}
	if i := firstNonFinite(o.Levels); i >= 0 {
		return o, fmt.Errorf("flow: CorrectOptions.Levels[%d]=%g is not finite", i, o.Levels[i])
	}
	return o, nil
}

// CorrectReport says what CorrectToFiber did.
type CorrectReport struct {
	// Rows are the training rows whose outputs were pinned (indices into the target's data).
	Rows []int
	// Outputs is the number of pinned outputs M = len(Rows)·O.
	Outputs int
	// Accepted [N] counts each draw's accepted Gauss–Newton steps.
	Accepted []int
	// ShiftBefore and ShiftAfter [N] are the root-mean-square differences between each draw's outputs and
	// the center's on the pinned rows, before and after the correction.
	ShiftBefore, ShiftAfter []float32
	// Level [N] is the per-datum loss level each draw was moved to (nil without levels), LevelReached
	// [N] whether it reached it: a draw whose last fiber-tangent line never crosses its level stays at
	// the point of that line closest to it (Draws.Loss says where), LevelMissed counts those.
	Level        []float32
	LevelReached []bool
	LevelMissed  int
}

// CorrectToFiber moves each parameter vector of thetas [N, P] onto the fiber of center θ* [P]: the set
// of parameters whose network outputs on the training inputs equal θ*'s. It runs damped Gauss–Newton
// (Levenberg–Marquardt) iterations on r(θ) = f(X; θ) − f(X; θ*): θ ← θ − Jᵀ (J Jᵀ + μ I)⁻¹ r, the
// smallest step that removes the linearised output error, solved by conjugate gradients; a step is kept
// only if it lowers ‖r‖. All draws of a chunk move in one compiled call per iteration (the Jacobian of
// every draw on every pinned row comes from one backward pass over per-row copies of θ).
//
// Why: a density fitted to a few hundred samples of a curved, thin valley puts most of its draws outside
// it (on the gap toy, the plain flow's draws have a training loss 10³ times the walk's). The corrector
// removes the error in the stiff directions, which the outputs on the training data see, and keeps the
// directions the data leave free (what a Bayesian posterior varies along); the damping decides where
// the line between them falls. It needs no walk and no gradient steps on the loss; it costs Iterations
// Jacobians of M outputs per draw. The corrected draws have no tractable density.
func CorrectToFiber(target OutputTarget, center, thetas []float32, opts CorrectOptions) ([]float32, *CorrectReport, error) {
	b, err := backend.New()
	if err != nil {
		return nil, nil, err
	}
	execs := map[string]*Exec{}
	return correctToFiber(target, center, thetas, opts, func(key string, build func(*Graph, []*Node) []*Node) (*Exec, error) {
		if e, ok := execs[key]; ok {
			return e, nil
		}
		e, err := NewExec(b, build)
		execs[key] = e
		return e, err
	})
}

// execCache returns the compiled executable for key, building it on first use.
type execCache func(key string, build func(*Graph, []*Node) []*Node) (*Exec, error)

// correctToFiber is CorrectToFiber with a cache of compiled executables (a Flow keeps its own, so that
// repeated SampleCorrected calls compile once).
func correctToFiber(target OutputTarget, center, thetas []float32, opts CorrectOptions, getExec execCache) ([]float32, *CorrectReport, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	if target == nil {
		return nil, nil, fmt.Errorf("flow.CorrectToFiber: nil target: pass the posterior (network and data) the samples belong to")
	}
	p := target.NumParams()
	if len(center) != p {
		return nil, nil, fmt.Errorf("flow.CorrectToFiber: center has %d values, the target %d parameters", len(center), p)
	}
	if len(thetas) == 0 || len(thetas)%p != 0 {
		return nil, nil, fmt.Errorf("flow.CorrectToFiber: thetas has %d values, want a positive multiple of P=%d", len(thetas), p)
	}
	if i := firstNonFinite(center); i >= 0 {
		return nil, nil, fmt.Errorf("flow.CorrectToFiber: center[%d]=%g is not finite", i, center[i])
	}
	if i := firstNonFinite(thetas); i >= 0 {
		return nil, nil, fmt.Errorf("flow.CorrectToFiber: draw %d, parameter %d is %g (not finite): remove it before correcting", i/p, i%p, thetas[i])
	}
	data := target.Data()
	nd := target.NumData()
	if len(data) == 0 || nd == 0 {
		return nil, nil, fmt.Errorf("flow.CorrectToFiber: the target has no data: the fiber is defined by the outputs on the training inputs")
	}
	x := data[0]
	tag := fmt.Sprintf("%p/%d", target, len(center))
	// Number of outputs per row, from the graph.
	nOut, err := outputsPerRow(getExec, tag, target, center, x)
	if err != nil {
		return nil, nil, fmt.Errorf("flow.CorrectToFiber: %w", err)
	}
	m := min(o.MaxRows, nd, max(1, maxJacobianEntries/(nOut*p)))
	rows := make([]int, nd)
	for i := range rows {
		rows[i] = i
	}
	if m < nd {
		rows = rand.New(rand.NewPCG(o.Seed, 0x6a09e667f3bcc909)).Perm(nd)[:m]
		slices.Sort(rows)
	}
	idx := make([]int32, m)
	for i, r := range rows {
		idx[i] = int32(r)
	}
	idxT := tensors.FromFlatDataAndDimensions(idx, m, 1)
	mo := m * nOut

	// f(X_m; θ*) [m·O].
	fmExec, err := getExec(fmt.Sprintf("correct-fm/%s/%d", tag, m), func(g *Graph, in []*Node) []*Node {
		xm := Gather(in[2], in[1])
		return []*Node{Reshape(target.Outputs(ExpandAxes(in[0], 0), xm), mo)}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("flow.CorrectToFiber: %w", err)
	}
	fmOut, err := fmExec.Call(vec(center), idxT, x)
	if err != nil {
		return nil, nil, fmt.Errorf("flow.CorrectToFiber: %w", err)
	}
	fm := fmOut[0]

	n := len(thetas) / p
	chunk := max(1, min(n, maxChunkEntries/(mo*p)))
	out := slices.Clone(thetas)
	rep := &CorrectReport{Rows: rows, Outputs: mo, Accepted: make([]int, n), ShiftBefore: make([]float32, n), ShiftAfter: make([]float32, n)}
	cycles := 1
	var lv *levelMover
	if len(o.Levels) > 0 {
		cycles = o.LevelCycles
		rep.Level, rep.LevelReached = make([]float32, n), make([]bool, n)
		rng := rand.New(rand.NewPCG(o.Seed, 0xbb67ae8584caa73b))
		for i := range rep.Level {
			rep.Level[i] = o.Levels[rng.IntN(len(o.Levels))]
		}
		lv = &levelMover{target: target, center: center, getExec: getExec, tag: tag, idx: idxT, fm: fm, m: m, nOut: nOut, o: o}
	}
	for lo := 0; lo < n; lo += chunk {
		s := min(chunk, n-lo)
		e, err := getExec(fmt.Sprintf("correct-step/%s/%d/%d/%g/%d", tag, s, m, o.Damping, o.CGIterations), func(g *Graph, in []*Node) []*Node {
			return gaussNewtonStep(target, in, s, m, nOut, p, o)
		})
		if err != nil {
			return nil, nil, fmt.Errorf("flow.CorrectToFiber: %w", err)
		}
		th := tensors.FromFlatDataAndDimensions(out[lo*p:(lo+s)*p], s, p)
		mus := make([]float32, s)
		for i := range mus {
			mus[i] = float32(o.Damping)
		}
		mu := vec(mus)
		for c := 0; c < cycles; c++ {
			for it := 0; it < o.Iterations; it++ {
				res, err := e.Call(th, mu, fm, idxT, x)
				if err != nil {
					return nil, nil, fmt.Errorf("flow.CorrectToFiber: %w", err)
				}
				th, mu = res[0], res[1]
				before, after, acc := flat32(res[2]), flat32(res[3]), flat32(res[4])
				for i := 0; i < s; i++ {
					if c == 0 && it == 0 {
						rep.ShiftBefore[lo+i] = float32(math.Sqrt(float64(before[i]) / float64(mo)))
					}
					rep.ShiftAfter[lo+i] = float32(math.Sqrt(float64(after[i]) / float64(mo)))
					if acc[i] > 0 {
						rep.Accepted[lo+i]++
					}
				}
			}
			if lv == nil {
				continue
			}
			moved, shift, reached, err := lv.move(th, rep.Level[lo:lo+s], c == cycles-1)
			if err != nil {
				return nil, nil, fmt.Errorf("flow.CorrectToFiber: level step: %w", err)
			}
			th = tensors.FromFlatDataAndDimensions(moved, s, p)
			if c == cycles-1 {
				copy(rep.ShiftAfter[lo:lo+s], shift)
				copy(rep.LevelReached[lo:lo+s], reached)
				for _, ok := range reached {
					if !ok {
						rep.LevelMissed++
					}
				}
			}
		}
		copy(out[lo*p:(lo+s)*p], flat32(th))
	}
	if i := firstNonFinite(out); i >= 0 {
		return nil, nil, fmt.Errorf("flow.CorrectToFiber: draw %d became non-finite (parameter %d): raise CorrectOptions.Damping", i/p, i%p)
	}
	return out, rep, nil
}

// outputsPerRow returns O, the number of network outputs per example.
func outputsPerRow(getExec execCache, tag string, target OutputTarget, center []float32, x *tensors.Tensor) (int, error) {
	e, err := getExec("correct-outputs/"+tag, func(g *Graph, in []*Node) []*Node {
		first := Slice(in[1], AxisRange(0, 1))
		return []*Node{target.Outputs(ExpandAxes(in[0], 0), first)}
	})
	if err != nil {
		return 0, err
	}
	res, err := e.Call(vec(center), x)
	if err != nil {
		return 0, err
	}
	d := res[0].Shape().Dimensions
	return d[len(d)-1], nil
}

// fiberJacobian returns the outputs [s, M] of theta [s, P] on the pinned rows xm [m, ...] and their
// Jacobian [s, M, P], M = m·O with rows ordered (row, output). One copy of θ per (draw, row): the gradient
// of the summed outputs with respect to the copies is the Jacobian, one backward pass per output channel.
func fiberJacobian(target OutputTarget, theta, xm *Node, s, m, nOut, p int) (outs, jac *Node) {
	mo := m * nOut
	copies := Reshape(BroadcastToDims(ExpandAxes(theta, 1), s, m, p), s*m, p)
	xDims := xm.Shape().Dimensions
	xr := BroadcastToDims(ExpandAxes(xm, 0), append([]int{s}, xDims...)...)
	xr = Reshape(xr, append([]int{s * m, 1}, xDims[1:]...)...)
	o := target.Outputs(copies, xr) // [s·m, 1, O]
	jacs := make([]*Node, nOut)
	for k := 0; k < nOut; k++ {
		jk := Gradient(ReduceAllSum(Slice(o, AxisRange(), AxisRange(), AxisElem(k))), copies)[0]
		jacs[k] = Reshape(jk, s, m, 1, p)
	}
	jac = jacs[0]
	if nOut > 1 {
		jac = Concatenate(jacs, 2)
	}
	return Reshape(o, s, mo), Reshape(jac, s, mo, p)
}

// dampedDiag returns λ = μ·tr(J Jᵀ)/M [s, 1], the damping added to J Jᵀ, for jac [s, M, P] and mu [s].
func dampedDiag(jac, mu *Node) *Node {
	d := jac.Shape().Dimensions
	tr := DivScalar(ReduceSum(Square(Reshape(jac, d[0], d[1]*d[2])), -1), float64(d[1]))
	return ExpandAxes(Mul(mu, tr), 1)
}

// dampedSolve solves (J Jᵀ + λ I) y = rhs for every draw (jac [s, M, P], lam [s, 1], rhs [s, M]) by
// conjugate gradients from y = 0, unrolled (a handful of small batched products per iteration).
func dampedSolve(jac, lam, rhs *Node, iters int) *Node {
	apply := func(v *Node) *Node { // (J Jᵀ + λ I) v
		jtv := Einsum("smp,sm->sp", jac, v)
		return Add(Einsum("smp,sp->sm", jac, jtv), Mul(lam, v))
	}
	y := ZerosLike(rhs)
	res := rhs
	dir := rhs
	rr := ReduceSum(Square(res), -1)
	tiny := 1e-30
	for k := 0; k < iters; k++ {
		ad := apply(dir)
		den := ReduceSum(Mul(dir, ad), -1)
		alpha := Div(rr, Max(den, Scalar(den.Graph(), den.DType(), tiny)))
		alpha = Where(GreaterThan(den, ScalarZero(den.Graph(), den.DType())), alpha, ZerosLike(alpha))
		y = Add(y, Mul(ExpandAxes(alpha, 1), dir))
		res = Sub(res, Mul(ExpandAxes(alpha, 1), ad))
		rrNew := ReduceSum(Square(res), -1)
		beta := Div(rrNew, Max(rr, Scalar(rr.Graph(), rr.DType(), tiny)))
		dir = Add(res, Mul(ExpandAxes(beta, 1), dir))
		rr = rrNew
	}
	return y
}

// gaussNewtonStep builds one damped Gauss–Newton iteration for s draws. in: theta [s, P], μ [s], the
// center's outputs [m·O], row indices [m, 1], X [n, ...]. It returns the new theta and μ, ‖r‖² before
// and after (the kept point's), and 1 where the step was accepted.
func gaussNewtonStep(target OutputTarget, in []*Node, s, m, nOut, p int, o CorrectOptions) []*Node {
	theta, mu, fm, idx, x := in[0], in[1], in[2], in[3], in[4]
	xm := Gather(x, idx) // [m, ...]
	mo := m * nOut
	outs, jac := fiberJacobian(target, theta, xm, s, m, nOut, p)
	r := Sub(outs, ExpandAxes(fm, 0)) // [s, M]
	r0 := ReduceSum(Square(r), -1)    // [s]
	y := dampedSolve(jac, dampedDiag(jac, mu), r, o.CGIterations)
	cand := Sub(theta, Einsum("smp,sm->sp", jac, y))
	rc := ReduceSum(Square(Sub(Reshape(target.Outputs(cand, xm), s, mo), ExpandAxes(fm, 0))), -1)
	ok := And(LessThan(rc, r0), IsFinite(rc))
	newTheta := Where(ok, cand, theta) // ok [s] is a prefix of [s, P]
	floor := Scalar(mu.Graph(), mu.DType(), o.Damping)
	newMu := Where(ok, Max(DivScalar(mu, 3), floor), MulScalar(mu, 4))
	after := Where(ok, rc, r0)
	return []*Node{newTheta, newMu, r0, after, ConvertDType(ok, theta.DType())}
}

// SampleCorrected draws n samples from the flow (one forward pass) and moves each onto the fiber of θ*
// with CorrectToFiber: the outputs on the training inputs are pinned to the MAP's, the directions the
// data leave free are kept; then, in the same cycles, along the fiber onto a per-datum loss level drawn
// from opts.Levels, or from Flow.Levels (the losses of the samples the flow was fitted on) when that is
// nil, unless opts.SkipLevels. Draws.Loss holds the per-datum loss U/n after the move, Draws.Level the
// levels, Draws.Shift the RMS output difference from θ* on the pinned rows; LogQ is nil (no tractable
// density) and Coords are the flow's coordinates before the correction.
func (f *Flow) SampleCorrected(target OutputTarget, n int, seed uint64, opts CorrectOptions) (*Draws, *CorrectReport, error) {
	if target == nil {
		return nil, nil, fmt.Errorf("flow.SampleCorrected: nil target: pass the posterior the flow's samples came from")
	}
	if target.NumParams() != f.Subspace.P {
		return nil, nil, fmt.Errorf("flow.SampleCorrected: target has %d parameters, the flow %d", target.NumParams(), f.Subspace.P)
	}
	d, err := f.Sample(n, seed)
	if err != nil {
		return nil, nil, err
	}
	if opts.SkipLevels {
		opts.Levels = nil
	} else if opts.Levels == nil {
		opts.Levels = f.Levels
	}
	theta, rep, err := correctToFiber(target, f.Subspace.Center, d.Theta, opts, func(key string, build func(*Graph, []*Node) []*Node) (*Exec, error) {
		e, _, err := f.exec(key, build)
		return e, err
	})
	if err != nil {
		return nil, nil, err
	}
	loss, err := f.perDatumLosses(target, theta)
	if err != nil {
		return nil, nil, fmt.Errorf("flow.SampleCorrected: %w", err)
	}
	return &Draws{N: n, Theta: theta, Coords: d.Coords, Level: rep.Level, Loss: loss, Shift: rep.ShiftAfter}, rep, nil
}

// MustSampleCorrected is SampleCorrected that panics on error, for notebooks.
func (f *Flow) MustSampleCorrected(target OutputTarget, n int, seed uint64, opts CorrectOptions) *Draws {
	d, _, err := f.SampleCorrected(target, n, seed, opts)
	if err != nil {
		panic(err)
	}
	return d
}

// perDatumLosses returns U(θ)/n [N] for thetas [N, P] on the target's full data, in one call.
func (f *Flow) perDatumLosses(target posterior.Target, thetas []float32) ([]float32, error) {
	e, _, err := f.exec(fmt.Sprintf("loss/%p/%d", target, len(thetas)/target.NumParams()), lossGraph(target))
	if err != nil {
		return nil, err
	}
	return callLoss(e, target, thetas)
}
