package hmc

import (
	"math"

	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
)

// kernelConfig is everything static about one compiled transition loop.
type kernelConfig struct {
	target   posterior.Target
	chains   int // C
	params   int // P
	steps    int // L (maximum with jitter)
	jitter   bool
	maxTrans int // K: most transitions per call (a multiple of thin)
	thin     int
	useWhile bool

	divergence   float64
	targetAccept float64
	gamma, t0    float64
	kappa        float64
}

// chainState is the state that persists between calls, in this order in the inputs and outputs of the
// transition executable.
type chainState struct {
	pos, u, grad *Node // [C,P], [C], [C,P]: the current point, its potential and gradient
	rng          *Node // RNG state
	logEps       *Node // [C]: log step size in use
	invMass      *Node // [C,P]: diagonal inverse mass matrix
	daXBar       *Node // [C]: dual averaging: averaged log step size
	daHBar       *Node // [C]: dual averaging: averaged acceptance error
	daMu         *Node // [C]: dual averaging: shrinkage point
	daCount      *Node // scalar float32: dual-averaging iterations since the last restart
	wMean, wM2   *Node // [C,P]: Welford accumulators of the positions in the current mass window
	wCount       *Node // scalar float32: draws in the current mass window
}

const numChainState = 13

func (s *chainState) list() []*Node {
	return []*Node{s.pos, s.u, s.grad, s.rng, s.logEps, s.invMass, s.daXBar, s.daHBar, s.daMu, s.daCount,
		s.wMean, s.wM2, s.wCount}
}

func chainStateFrom(x []*Node) *chainState {
	return &chainState{pos: x[0], u: x[1], grad: x[2], rng: x[3], logEps: x[4], invMass: x[5], daXBar: x[6],
		daHBar: x[7], daMu: x[8], daCount: x[9], wMean: x[10], wM2: x[11], wCount: x[12]}
}

// trajectory is the per-call part of the loop state: the trajectory in flight, counters and record buffers.
type trajectory struct {
	q, p, gq  *Node // [C,P]: position, momentum and gradient along the trajectory
	uq, h0    *Node // [C]: potential along the trajectory; Hamiltonian at its start
	logUAcc   *Node // [C]: log of the uniform draw for the accept/reject
	lf, lt, t *Node // int32 scalars: leapfrog steps done, steps of this trajectory, transitions done
	// Record buffers.
	recPos                             *Node // [K/thin, C, P]
	recAcc, recDiv, recU, recE, recEps *Node // [K, C]
	recL                               *Node // [K] int32
}

const numTrajectory = 16

func (t *trajectory) list() []*Node {
	return []*Node{t.q, t.p, t.gq, t.uq, t.h0, t.logUAcc, t.lf, t.lt, t.t, t.recPos, t.recAcc, t.recDiv, t.recU,
		t.recE, t.recEps, t.recL}
}

func trajectoryFrom(x []*Node) *trajectory {
	return &trajectory{q: x[0], p: x[1], gq: x[2], uq: x[3], h0: x[4], logUAcc: x[5], lf: x[6], lt: x[7], t: x[8],
		recPos: x[9], recAcc: x[10], recDiv: x[11], recU: x[12], recE: x[13], recEps: x[14], recL: x[15]}
}

// kinetic is ½ Σ p² M⁻¹ per chain: [C].
func kinetic(p, invMass *Node) *Node {
	return MulScalar(ReduceSum(Mul(Square(p), invMass), -1), 0.5)
}

// leapfrog does one leapfrog step from (q, p) with gradient gq and per-chain step size eps [C,1].
func leapfrog(tgt posterior.Target, data []*Node, q, p, gq, eps, invMass *Node) (q1, p1, u1, g1 *Node) {
	half := MulScalar(eps, 0.5)
	pHalf := Sub(p, Mul(half, gq))
	q1 = Add(q, Mul(eps, Mul(invMass, pHalf)))
	u1, g1 = posterior.PotentialAndGrad(tgt, q1, data)
	p1 = Sub(pHalf, Mul(half, g1))
	return
}

// rowsFinite is true for the chains whose row of x [C, ...] is all finite: [C].
func rowsFinite(x *Node) *Node {
	if x.Rank() == 1 {
		return IsFinite(x)
	}
	return LogicalNot(ReduceLogicalOr(LogicalNot(IsFinite(x)), -1))
}

// bcast broadcasts the Bool condition cond (a scalar or a prefix of x's shape) to x's shape.
func bcast(cond, x *Node) *Node {
	for cond.Rank() < x.Rank() {
		cond = InsertAxes(cond, -1)
	}
	return BroadcastToDims(cond, x.Shape().Dimensions...)
}

// sel is Where(cond, a, b) with cond broadcast to a's shape.
func sel(cond, a, b *Node) *Node { return Where(bcast(cond, a), a, b) }

// transitions builds the transition loop. inputs are n (int32 scalar: transitions to run, ≤ maxTrans),
// adaptStep and accumulate (Bool scalars: update dual averaging, and the mass-matrix accumulators, at every
// transition), the data nodes, then the chainState. It returns the new chainState followed by the record
// buffers (recPos, recAcc, recDiv, recU, recE, recEps, recL).
func (k *kernelConfig) transitions(inputs []*Node) []*Node {
	nData := len(inputs) - 3 - numChainState
	consts := inputs[:3+nData]
	cs := inputs[3+nData:]
	g := inputs[0].Graph()
	C, P, K := k.chains, k.params, k.maxTrans
	f32 := func(dims ...int) *Node { return zerosConst(g, shapes.Make(dtypes.Float32, dims...)) }
	zero := Const(g, int32(0))
	tr := &trajectory{q: f32(C, P), p: f32(C, P), gq: f32(C, P), uq: f32(C), h0: f32(C), logUAcc: f32(C),
		lf: zero, lt: zero, t: zero,
		recPos: f32(K/k.thin, C, P), recAcc: f32(K, C), recDiv: f32(K, C), recU: f32(K, C), recE: f32(K, C),
		recEps: f32(K, C), recL: zerosConst(g, shapes.Make(dtypes.Int32, K))}
	state := append(append([]*Node(nil), cs...), tr.list()...)
	cond := func(c, s []*Node) []*Node {
		return []*Node{LessThan(trajectoryFrom(s[numChainState:]).t, c[0])}
	}
	body := func(c, s []*Node) []*Node {
		ns, nt := k.iteration(c[1], c[2], c[3:], chainStateFrom(s), trajectoryFrom(s[numChainState:]))
		return append(ns.list(), nt.list()...)
	}
	// Unrolled: K transitions of at most L leapfrog steps each.
	out := loop(K*k.steps, k.useWhile, consts, state, cond, body)
	t := trajectoryFrom(out[numChainState:])
	return append(out[:numChainState], t.recPos, t.recAcc, t.recDiv, t.recU, t.recE, t.recEps, t.recL)
}

// iteration is one leapfrog step of the flattened loop, with the start of a trajectory before it and its
// end (accept/reject, adaptation, records) after it when due.
func (k *kernelConfig) iteration(adaptStep, accumulate *Node, data []*Node, s *chainState, tr *trajectory) (
	*chainState, *trajectory) {
	g := s.pos.Graph()
	C, P := k.chains, k.params

	// Start of a trajectory: momentum p ~ N(0, M), number of steps, accept uniform. The RNG advances only here.
	start := Equal(tr.lf, Const(g, int32(0)))
	rng1, z := RandomNormal(s.rng, shapes.Make(dtypes.Float32, C, P))
	rng2, uni := RandomUniform(rng1, shapes.Make(dtypes.Float32, C+1))
	p0 := Mul(z, Rsqrt(s.invMass))
	lt := Const(g, int32(k.steps))
	if k.jitter {
		lj := ConvertDType(Floor(MulScalar(Slice(uni, AxisRange(C, C+1)), float64(k.steps))), dtypes.Int32)
		lt = AddScalar(MinScalar(Reshape(lj), float64(k.steps-1)), 1)
	}
	logUniAcc := Log(Max(Slice(uni, AxisRange(0, C)), Const(g, float32(1e-30))))
	rng := sel(start, rng2, s.rng)
	q := sel(start, s.pos, tr.q)
	p := sel(start, p0, tr.p)
	gq := sel(start, s.grad, tr.gq)
	h0 := sel(start, Add(s.u, kinetic(p0, s.invMass)), tr.h0)
	logUAcc := sel(start, logUniAcc, tr.logUAcc)
	ltNow := sel(start, lt, tr.lt)

	// One leapfrog step.
	eps := InsertAxes(Exp(s.logEps), -1) // [C,1]
	q1, p1, u1, g1 := leapfrog(k.target, data, q, p, gq, eps, s.invMass)
	lf1 := AddScalar(tr.lf, 1)

	// End of the trajectory: accept or reject, adapt, record.
	fin := Equal(lf1, ltNow)
	h1 := Add(u1, kinetic(p1, s.invMass))
	dH := Sub(h1, h0) // [C]
	finite := LogicalAnd(LogicalAnd(IsFinite(dH), rowsFinite(q1)), rowsFinite(g1))
	div := LogicalOr(LogicalNot(finite), GreaterThan(dH, Const(g, float32(k.divergence))))
	safeDH := Where(finite, dH, Const(g, float32(math.Inf(1))))
	accProb := Exp(MinScalar(Neg(safeDH), 0)) // [C], 0 when not finite
	accept := LogicalAnd(LogicalNot(div), LessThan(logUAcc, Neg(safeDH)))
	pos := sel(accept, q1, s.pos)
	u := sel(accept, u1, s.u)
	grad := sel(accept, g1, s.grad)

	ns := *s
	ns.rng = rng
	ns.pos = sel(fin, pos, s.pos)
	ns.u = sel(fin, u, s.u)
	ns.grad = sel(fin, grad, s.grad)

	// Dual averaging (Hoffman & Gelman 2014, eq. (6) with Stan's restart point μ).
	doDA := LogicalAnd(fin, adaptStep)
	m := AddScalar(s.daCount, 1)
	eta := Inverse(AddScalar(m, k.t0))
	hBar := Add(Mul(OneMinus(eta), s.daHBar), Mul(eta, Sub(Const(g, float32(k.targetAccept)), accProb)))
	x := Sub(s.daMu, Mul(DivScalar(Sqrt(m), k.gamma), hBar))
	w := Pow(m, Const(g, float32(-k.kappa)))
	xBar := Add(Mul(w, x), Mul(OneMinus(w), s.daXBar))
	ns.daCount = sel(doDA, m, s.daCount)
	ns.daHBar = sel(doDA, hBar, s.daHBar)
	ns.daXBar = sel(doDA, xBar, s.daXBar)
	ns.logEps = sel(doDA, x, s.logEps)

	// Welford accumulation of the new positions for the mass matrix.
	doW := LogicalAnd(fin, accumulate)
	wc := AddScalar(s.wCount, 1)
	d := Sub(pos, s.wMean)
	wMean := Add(s.wMean, Div(d, wc))
	wM2 := Add(s.wM2, Mul(d, Sub(pos, wMean)))
	ns.wCount = sel(doW, wc, s.wCount)
	ns.wMean = sel(doW, wMean, s.wMean)
	ns.wM2 = sel(doW, wM2, s.wM2)

	// Records: rows are written at every iteration of a transition, the last write (at its end) stays.
	nt := *tr
	f := func(b *Node) *Node { return ConvertDType(b, dtypes.Float32) }
	nt.recPos = writeRow(tr.recPos, Div(tr.t, Const(g, int32(k.thin))), ns.pos, k.useWhile)
	nt.recAcc = writeRow(tr.recAcc, tr.t, accProb, k.useWhile)
	nt.recDiv = writeRow(tr.recDiv, tr.t, f(div), k.useWhile)
	nt.recU = writeRow(tr.recU, tr.t, ns.u, k.useWhile)
	nt.recE = writeRow(tr.recE, tr.t, sel(accept, h1, h0), k.useWhile)
	nt.recEps = writeRow(tr.recEps, tr.t, Exp(s.logEps), k.useWhile)
	nt.recL = writeRow(tr.recL, tr.t, ltNow, k.useWhile)

	nt.q, nt.p, nt.gq, nt.uq, nt.h0, nt.logUAcc, nt.lt = q1, p1, g1, u1, h0, logUAcc, ltNow
	nt.lf = Where(fin, Const(g, int32(0)), lf1)
	nt.t = Add(tr.t, ConvertDType(fin, dtypes.Int32))
	return &ns, &nt
}
