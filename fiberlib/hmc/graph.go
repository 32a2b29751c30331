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
	rng       *Node // RNG state after the start of the trajectory (not part of the loop state)
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
// buffers (recPos [K/thin,C,P], recAcc, recDiv, recU, recE, recEps [K,C], recL [K]).
func (k *kernelConfig) transitions(inputs []*Node) []*Node {
	if !k.useWhile {
		return k.transitionsUnrolled(inputs)
	}
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
	out := loop(1, true, consts, state, cond, body)
	t := trajectoryFrom(out[numChainState:])
	return append(out[:numChainState], t.recPos, t.recAcc, t.recDiv, t.recU, t.recE, t.recEps, t.recL)
}

// transitionsUnrolled is transitions without a While loop (the pure-Go backend): K transitions of L
// leapfrog steps each, laid out statically. Steps past a transition's jittered length and transitions past
// n leave the state unchanged. The random state advances as in the While loop, so both give the same
// numbers.
func (k *kernelConfig) transitionsUnrolled(inputs []*Node) []*Node {
	nData := len(inputs) - 3 - numChainState
	n, adaptStep, accumulate, data := inputs[0], inputs[1], inputs[2], inputs[3:3+nData]
	s := chainStateFrom(inputs[3+nData:])
	g := n.Graph()
	var recs [7][]*Node
	for i := range k.maxTrans {
		tr := k.start(s)
		for j := range k.steps {
			q, p, u, gr := k.step(data, s, tr)
			active := LessThan(Const(g, int32(j)), tr.lt)
			tr.q, tr.p, tr.uq, tr.gq = sel(active, q, tr.q), sel(active, p, tr.p), sel(active, u, tr.uq), sel(active, gr, tr.gq)
		}
		ns, rec := k.finish(adaptStep, accumulate, s, tr)
		running := LessThan(Const(g, int32(i)), n)
		nl, ol := ns.list(), s.list()
		for j := range nl {
			nl[j] = sel(running, nl[j], ol[j])
		}
		s = chainStateFrom(nl)
		if (i+1)%k.thin == 0 {
			recs[0] = append(recs[0], s.pos)
		}
		for j, r := range rec {
			recs[j+1] = append(recs[j+1], r)
		}
	}
	out := s.list()
	for _, r := range recs {
		out = append(out, Stack(r, 0))
	}
	return out
}

// start begins a trajectory from the current point: momentum p ~ N(0, M), the number of steps (jittered
// or L) and the uniform for the accept/reject, all from the RNG, which the returned state carries.
func (k *kernelConfig) start(s *chainState) *trajectory {
	g := s.pos.Graph()
	C, P := k.chains, k.params
	rng, z := RandomNormal(s.rng, shapes.Make(dtypes.Float32, C, P))
	rng, uni := RandomUniform(rng, shapes.Make(dtypes.Float32, C+1))
	p0 := Mul(z, Rsqrt(s.invMass))
	lt := Const(g, int32(k.steps))
	if k.jitter {
		lj := ConvertDType(Floor(MulScalar(Slice(uni, AxisRange(C, C+1)), float64(k.steps))), dtypes.Int32)
		lt = AddScalar(MinScalar(Reshape(lj), float64(k.steps-1)), 1)
	}
	return &trajectory{q: s.pos, p: p0, gq: s.grad, uq: s.u, h0: Add(s.u, kinetic(p0, s.invMass)),
		logUAcc: Log(Max(Slice(uni, AxisRange(0, C)), Const(g, float32(1e-30)))), lt: lt, rng: rng}
}

// step is one leapfrog step along the trajectory with every chain's step size.
func (k *kernelConfig) step(data []*Node, s *chainState, tr *trajectory) (q, p, u, grad *Node) {
	eps := InsertAxes(Exp(s.logEps), -1) // [C,1]
	q, p, u, grad = leapfrog(k.target, data, tr.q, tr.p, tr.gq, eps, s.invMass)
	return
}

// finish ends a trajectory at (tr.q, tr.p): Metropolis accept/reject (divergent proposals rejected), the
// dual-averaging and mass-window updates when switched on, and the values to record (recAcc, recDiv,
// recU, recE, recEps, recL). The new state carries tr.rng.
func (k *kernelConfig) finish(adaptStep, accumulate *Node, s *chainState, tr *trajectory) (*chainState, []*Node) {
	g := s.pos.Graph()
	h1 := Add(tr.uq, kinetic(tr.p, s.invMass))
	dH := Sub(h1, tr.h0) // [C]
	finite := LogicalAnd(LogicalAnd(IsFinite(dH), rowsFinite(tr.q)), rowsFinite(tr.gq))
	div := LogicalOr(LogicalNot(finite), GreaterThan(dH, Const(g, float32(k.divergence))))
	safeDH := Where(finite, dH, Const(g, float32(math.Inf(1))))
	accProb := Exp(MinScalar(Neg(safeDH), 0)) // [C], 0 when not finite
	accept := LogicalAnd(LogicalNot(div), LessThan(tr.logUAcc, Neg(safeDH)))

	ns := *s
	ns.rng = tr.rng
	ns.pos = sel(accept, tr.q, s.pos)
	ns.u = sel(accept, tr.uq, s.u)
	ns.grad = sel(accept, tr.gq, s.grad)

	// Dual averaging (Hoffman & Gelman 2014, eq. (6) with Stan's restart point μ).
	m := AddScalar(s.daCount, 1)
	eta := Inverse(AddScalar(m, k.t0))
	hBar := Add(Mul(OneMinus(eta), s.daHBar), Mul(eta, Sub(Const(g, float32(k.targetAccept)), accProb)))
	x := Sub(s.daMu, Mul(DivScalar(Sqrt(m), k.gamma), hBar))
	w := Pow(m, Const(g, float32(-k.kappa)))
	xBar := Add(Mul(w, x), Mul(OneMinus(w), s.daXBar))
	ns.daCount = sel(adaptStep, m, s.daCount)
	ns.daHBar = sel(adaptStep, hBar, s.daHBar)
	ns.daXBar = sel(adaptStep, xBar, s.daXBar)
	ns.logEps = sel(adaptStep, x, s.logEps)

	// Welford accumulation of the new positions for the mass matrix.
	wc := AddScalar(s.wCount, 1)
	d := Sub(ns.pos, s.wMean)
	wMean := Add(s.wMean, Div(d, wc))
	wM2 := Add(s.wM2, Mul(d, Sub(ns.pos, wMean)))
	ns.wCount = sel(accumulate, wc, s.wCount)
	ns.wMean = sel(accumulate, wMean, s.wMean)
	ns.wM2 = sel(accumulate, wM2, s.wM2)

	// recDiv: 0 fine, 1 energy error above the threshold, 2 NaN or infinite proposal.
	divCode := Add(ConvertDType(div, dtypes.Float32), ConvertDType(LogicalNot(finite), dtypes.Float32))
	rec := []*Node{accProb, divCode, ns.u, sel(accept, h1, tr.h0), Exp(s.logEps), tr.lt}
	return &ns, rec
}

// iteration is one iteration of the While loop: one leapfrog step, with the start of a trajectory before
// it (when no step of it has been taken) and its end after it (when its last step is taken). Both are
// computed at every iteration and selected; the RNG state advances only at a start.
func (k *kernelConfig) iteration(adaptStep, accumulate *Node, data []*Node, s *chainState, tr *trajectory) (
	*chainState, *trajectory) {
	g := s.pos.Graph()
	begin := Equal(tr.lf, Const(g, int32(0)))
	st := k.start(s)
	cur := &trajectory{q: sel(begin, st.q, tr.q), p: sel(begin, st.p, tr.p), gq: sel(begin, st.gq, tr.gq),
		uq: sel(begin, st.uq, tr.uq), h0: sel(begin, st.h0, tr.h0), logUAcc: sel(begin, st.logUAcc, tr.logUAcc),
		lt: sel(begin, st.lt, tr.lt), rng: sel(begin, st.rng, s.rng)}
	cur.q, cur.p, cur.uq, cur.gq = k.step(data, s, cur)
	lf1 := AddScalar(tr.lf, 1)
	fin := Equal(lf1, cur.lt)
	ns, rec := k.finish(LogicalAnd(fin, adaptStep), LogicalAnd(fin, accumulate), s, cur)
	nl, ol := ns.list(), s.list()
	for j := range nl {
		if j == 3 { // rng: advanced at the start, whether or not the trajectory ends here
			nl[j] = cur.rng
			continue
		}
		nl[j] = sel(fin, nl[j], ol[j])
	}
	out := chainStateFrom(nl)

	// Records: rows are written at every iteration of a transition; the last write (at its end) stays.
	nt := *tr
	nt.recPos = writeRow(tr.recPos, Div(tr.t, Const(g, int32(k.thin))), out.pos)
	for j, buf := range []**Node{&nt.recAcc, &nt.recDiv, &nt.recU, &nt.recE, &nt.recEps, &nt.recL} {
		*buf = writeRow(*buf, tr.t, rec[j])
	}
	nt.q, nt.p, nt.gq, nt.uq, nt.h0, nt.logUAcc, nt.lt = cur.q, cur.p, cur.gq, cur.uq, cur.h0, cur.logUAcc, cur.lt
	nt.lf = Where(fin, Const(g, int32(0)), lf1)
	nt.t = Add(tr.t, ConvertDType(fin, dtypes.Int32))
	return out, &nt
}
