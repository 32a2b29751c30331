package fiber

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"

	"github.com/fiberbnn/fiberbnn/fiberlib/internal/gloop"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// Reasons a particle stops, as stored in the walk state.
const (
	reasonNone      = 0
	reasonNonFinite = 1 // potential, gradient or new position not finite
	reasonDiverged  = 2 // per-datum rise above DivergeRise
)

// Positions of the walk state in the inputs and outputs of a chunk computation.
const (
	stTheta    = iota // [N, P] float32: positions
	stPrev            // [N, P] float32: positions one step earlier (where a rejected step returns to)
	stEps             // [N] float32: per-particle ε
	stEta             // [N] float32: per-particle η
	stStopped         // [N] int32: step at which the particle stopped, −1 while it walks
	stReason          // [N] int32: reason code
	stHalvings        // [N] int32: number of times ε and η were halved
	stStep            // scalar int32: global step count
	numState
)

// Positions of the constants (after the state) in the inputs of a chunk computation; the target's data
// tensors follow.
const (
	cThetaStar = iota // [P]
	cDrift            // [N, P] unit drifts (zero outside the walking parameters)
	cMask             // [P] 1 on the walking parameters
	cLossStar         // scalar: ℓ(θ*) on the full data
	numConsts
)

// Positions of the diagnostics in the outputs of a chunk computation (after the state).
const (
	dLoss     = iota // [N] per-datum loss ℓ on the full data
	dDist            // [N] ‖θ − θ*‖
	dGradNorm        // [N] ‖∇ℓ‖ on the walking parameters
	dTangent         // [N] ‖d − (d·ĝ)ĝ‖: the share of the drift orthogonal to the gradient
	dGate            // [N] drift gate s ∈ [0, 1] (1 under ControlNone)
	dProgress        // [N] displacement along d over the chunk, divided by (steps · ε)
	numDiag
)

// stepper builds the graph of the walk for one target and one resolved setting.
type stepper struct {
	s      Settings
	target posterior.Target
	keys   streamKeys
}

// perDatum returns the per-datum loss ℓ [N] and its gradient masked to the walking parameters [N, P].
func (st *stepper) perDatum(theta, mask *Node, data []*Node) (loss, grad *Node) {
	u, g := posterior.PotentialAndGrad(st.target, theta, data)
	inv := 1.0 / float64(max(st.s.NumData, 1))
	return MulScalar(u, inv), Mul(MulScalar(g, inv), ExpandAxes(mask, 0))
}

// unitOrZero returns v/‖v‖ along the last axis, or 0 where ‖v‖ = 0. v: [N, P].
func unitOrZero(v *Node) *Node {
	norm := L2Norm(v, -1) // [N, 1]
	safe := Where(GreaterThan(norm, ScalarZero(v.Graph(), v.DType())), norm, OnesLike(norm))
	return Div(v, safe)
}

// rowDot returns Σ_p a[n,p]·b[n,p] as [N].
func rowDot(a, b *Node) *Node { return ReduceSum(Mul(a, b), -1) }

// gate returns the drift multiplier s [N] for rises r [N].
func (st *stepper) gate(r *Node) *Node {
	if st.s.Control == ControlNone {
		return OnesLike(r)
	}
	return ClipScalar(OneMinus(DivScalar(r, st.s.Tau)), 0, 1)
}

// batch returns the data nodes step t uses: all of them, or B rows drawn with replacement (shared by all
// particles).
func (st *stepper) batch(t *Node, data []*Node) []*Node {
	if st.s.BatchSize == 0 || len(data) == 0 {
		return data
	}
	idx := rowsAt(st.keys.Batch, t, st.s.NumData, st.s.BatchSize)
	out := make([]*Node, len(data))
	for i, d := range data {
		out[i] = Gather(d, idx)
	}
	return out
}

// step is one step of the walk: state and consts as laid out by the st*/c* constants.
//
// Order of the checks, per particle, on the rise r = ℓ(θ) − ℓ* at the current position:
//  1. non-finite potential, gradient or next position, or r > DivergeRise: the particle stops here for good;
//  2. ControlBudget and r > RejectFactor·τ: the last step is rejected (the particle returns to its previous
//     position) and its ε and η are halved;
//  3. ControlBudget and the move about to be taken points back against the previous one (cosine < −½) while
//     it is not a near-cancellation of drift and gradient (‖move‖ > ½·max(ε·s, η·‖∇ℓ‖)): the particle is
//     bouncing across the valley (η·λ > 1 for the curvature λ it met, which grows along many fibers), so ε
//     and η are halved and half the move is taken;
//  4. otherwise the step θ + ε·s·d − η·∇ℓ (+ noise) is taken, and ε grows by (1+γ) while r < τ/2.
func (st *stepper) step(consts, state, data []*Node) []*Node {
	theta, prev, eps, eta := state[stTheta], state[stPrev], state[stEps], state[stEta]
	stopped, reason, halvings, t := state[stStopped], state[stReason], state[stHalvings], state[stStep]
	drift, mask, lStar := consts[cDrift], consts[cMask], consts[cLossStar]
	g := theta.Graph()
	f32 := func(v float64) *Node { return Scalar(g, dtypes.Float32, v) }

	batch := st.batch(t, data)
	loss, grad := st.perDatum(theta, mask, batch)
	if st.s.BatchSize > 0 {
		// Paired estimate: the rise on this minibatch, ℓ_B(θ) − ℓ_B(θ*). The minibatch loss itself is far
		// too noisy for the controls (its spread is that of the per-datum losses); the difference only carries
		// the spread of the per-datum rises.
		u := st.target.Potential(ExpandAxes(consts[cThetaStar], 0), batch)
		lStar = Reshape(MulScalar(u, 1/float64(max(st.s.NumData, 1))))
	}
	rise := Sub(loss, lStar) // [N]
	s := st.gate(rise)

	dir := drift
	if st.s.Project {
		gh := unitOrZero(grad)
		dir = Sub(drift, Mul(ExpandAxes(rowDot(drift, gh), -1), gh))
	}
	driftLen := Mul(eps, s)                            // [N]
	gradLen := Mul(eta, Squeeze(L2Norm(grad, -1), -1)) // [N]
	move := Sub(Mul(ExpandAxes(driftLen, -1), dir), Mul(ExpandAxes(eta, -1), grad))
	if st.s.NoiseTemperature > 0 {
		xi := normalAt(st.keys.Noise1, st.keys.Noise2, t, theta.Shape().Dimensions...)
		// std_i = √(2·η_i·T/n)
		std := Sqrt(MulScalar(eta, 2*st.s.NoiseTemperature/float64(max(st.s.NumData, 1))))
		move = Add(move, Mul(Mul(xi, ExpandAxes(std, -1)), ExpandAxes(mask, 0)))
	}
	next := Add(theta, move)

	// 1. Freeze particles that become non-finite or diverge, at this step.
	walking := LessThan(stopped, ScalarZero(g, dtypes.Int32))
	// A row sum is finite iff every entry is (barring overflow of values near 1e38, which is a divergence
	// anyway). Logical reductions are avoided: XLA rejects them inside a While body (go-xla v0.4.1).
	finite := LogicalAnd(IsFinite(loss),
		LogicalAnd(IsFinite(ReduceSum(grad, -1)), IsFinite(ReduceSum(next, -1))))
	nonFinite := LogicalAnd(walking, LogicalNot(finite))
	diverged := LogicalAnd(walking, LogicalAnd(finite, GreaterThan(rise, f32(st.s.DivergeRise))))
	stopNow := LogicalOr(nonFinite, diverged)
	stopped = Where(stopNow, BroadcastToShape(t, stopped.Shape()), stopped)
	reason = Where(nonFinite, Const(g, int32(reasonNonFinite)),
		Where(diverged, Const(g, int32(reasonDiverged)), reason))
	still := LogicalAnd(walking, LogicalNot(stopNow))

	out := make([]*Node, numState)
	out[stStopped], out[stReason], out[stStep] = stopped, reason, AddScalar(t, 1)
	if st.s.Control != ControlBudget {
		out[stTheta] = Where(still, next, theta)
		out[stPrev] = Where(still, theta, prev)
		out[stEps], out[stEta], out[stHalvings] = eps, eta, halvings
		if st.s.EpsilonGrowth > 0 {
			grow := LogicalAnd(still, LessThan(rise, f32(st.s.Tau/2)))
			out[stEps] = Where(grow, MulScalar(eps, 1+st.s.EpsilonGrowth), eps)
		}
		return out
	}

	// 2. Reject a step that left the particle far above its budget.
	reject := LogicalAnd(still, GreaterThan(rise, f32(st.s.RejectFactor*st.s.Tau)))
	// 3. Halve a bouncing step.
	last := Sub(theta, prev)
	moveNorm, lastNorm := Squeeze(L2Norm(move, -1), -1), Squeeze(L2Norm(last, -1), -1)
	back := LessThan(rowDot(move, last), Mul(MulScalar(moveNorm, -0.5), lastNorm))
	real := GreaterThan(moveNorm, MulScalar(Max(driftLen, gradLen), 0.5))
	bounce := LogicalAnd(LogicalAnd(still, LogicalNot(reject)), LogicalAnd(back, real))
	halve := LogicalOr(reject, bounce)
	accept := LogicalAnd(still, LogicalNot(reject))
	taken := Where(bounce, Add(theta, MulScalar(move, 0.5)), next)
	out[stTheta] = Where(accept, taken, Where(reject, prev, theta))
	out[stPrev] = Where(accept, theta, prev)
	eps = Where(halve, MulScalar(eps, 0.5), eps)
	out[stEta] = Where(halve, MulScalar(eta, 0.5), eta)
	out[stHalvings] = Where(halve, AddScalar(halvings, 1), halvings)

	// 4. ε grows while less than half the budget is spent.
	if st.s.EpsilonGrowth > 0 {
		grow := LogicalAnd(LogicalAnd(accept, LogicalNot(bounce)), LessThan(rise, f32(st.s.Tau/2)))
		eps = Where(grow, MulScalar(eps, 1+st.s.EpsilonGrowth), eps)
	}
	out[stEps] = eps
	return out
}

// chunk builds the computation that runs `steps` steps. inputs: the numState state values, the numConsts
// constants, then the target's data tensors; outputs: the new state.
//
// Nothing else is computed in the same graph: in go-xla v0.4.1 a reduction (ReduceSum, ...) used inside a
// While body cannot be used again outside it (the cached reduction closure belongs to the body), so the
// diagnostics are a separate computation (diagnostics).
func (st *stepper) chunk(steps int, useWhile bool) func(inputs []*Node) []*Node {
	return func(inputs []*Node) []*Node {
		state := inputs[:numState]
		consts := inputs[numState:]
		return gloop.Repeat(steps, useWhile, consts, state, func(_ *Node, c, s []*Node) []*Node {
			return st.step(c[:numConsts], s, c[numConsts:])
		})
	}
}

// diagnostics builds the computation of the per-particle diagnostics on the full data after a chunk of
// `steps` steps. inputs: theta before the chunk [N, P], theta after [N, P], ε [N], the numConsts constants,
// then the data tensors; outputs: the numDiag diagnostics, each [N].
func (st *stepper) diagnostics(steps int) func(inputs []*Node) []*Node {
	return func(inputs []*Node) []*Node {
		theta0, theta, eps := inputs[0], inputs[1], inputs[2]
		consts := inputs[3:]
		thetaStar, drift, mask, lStar := consts[cThetaStar], consts[cDrift], consts[cMask], consts[cLossStar]
		loss, grad := st.perDatum(theta, mask, consts[numConsts:])
		gh := unitOrZero(grad)
		tangent := L2Norm(Sub(drift, Mul(ExpandAxes(rowDot(drift, gh), -1), gh)), -1)
		diag := make([]*Node, numDiag)
		diag[dLoss] = loss
		diag[dDist] = Squeeze(L2Norm(Sub(theta, ExpandAxes(thetaStar, 0)), -1), -1)
		diag[dGradNorm] = Squeeze(L2Norm(grad, -1), -1)
		diag[dTangent] = Squeeze(tangent, -1)
		diag[dGate] = st.gate(Sub(loss, lStar))
		diag[dProgress] = Div(rowDot(Sub(theta, theta0), drift), MulScalar(eps, float64(steps)))
		return diag
	}
}
