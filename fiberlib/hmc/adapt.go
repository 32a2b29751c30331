package hmc

import (
	"math"

	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
)

// maxStepSizeTries bounds the doubling/halving of the initial step-size heuristic (2⁴⁰ ≈ 10¹²).
const maxStepSizeTries = 40

// Bounds on the step size the heuristic may reach.
const (
	minStepSize = 1e-10
	maxStepSize = 1e7
)

// findStepSize builds the heuristic of Hoffman & Gelman (2014, Algorithm 4) as Stan implements it, for
// every chain at once: from the current point draw a momentum, take one leapfrog step with ε and compare
// the energy change ΔH = H₀ − H₁ with log 0.8; the first try decides the direction (double ε while
// ΔH > log 0.8, else halve it while ΔH < log 0.8), and the loop stops at the first ε that crosses over.
// inputs: the data nodes, then pos [C,P], u [C], grad [C,P], rng, logEps [C], invMass [C,P]. Returns the
// new logEps [C], rng and the number of tries (int32 scalar).
func (k *kernelConfig) findStepSize(inputs []*Node) []*Node {
	nData := len(inputs) - 6
	g := inputs[0].Graph()
	C := k.chains
	consts := inputs // data, pos, u, grad, (rng, logEps: unused as consts), invMass
	state := []*Node{inputs[nData+4], inputs[nData+3], zerosConst(g, shapes.Make(dtypes.Float32, C)),
		zerosConst(g, shapes.Make(dtypes.Bool, C)), Const(g, int32(0))} // logEps, rng, dir, done, iter
	log08 := math.Log(0.8)
	cond := func(_, s []*Node) []*Node {
		return []*Node{LogicalAnd(LogicalNot(ReduceLogicalAnd(s[3])), LessThan(s[4], Const(g, int32(maxStepSizeTries))))}
	}
	body := func(c, s []*Node) []*Node {
		g := s[0].Graph()
		data := c[:nData]
		pos, u, grad, invMass := c[nData], c[nData+1], c[nData+2], c[nData+5]
		logEps, rng, dir, done, iter := s[0], s[1], s[2], s[3], s[4]
		rng, z := RandomNormal(rng, pos.Shape())
		p0 := Mul(z, Rsqrt(invMass))
		h0 := Add(u, kinetic(p0, invMass))
		_, p1, u1, g1 := leapfrog(k.target, data, pos, p0, grad, InsertAxes(Exp(logEps), -1), invMass)
		delta := Sub(h0, Add(u1, kinetic(p1, invMass)))
		ok := LogicalAnd(LogicalAnd(IsFinite(delta), rowsFinite(g1)), rowsFinite(p1))
		delta = Where(ok, delta, Const(g, float32(math.Inf(-1))))
		up := GreaterThan(delta, Const(g, float32(log08)))
		undecided := Equal(dir, Const(g, float32(0)))
		dir = Where(undecided, Where(up, Const(g, float32(1)), Const(g, float32(-1))), dir)
		goingUp := GreaterThan(dir, Const(g, float32(0)))
		down := LessThan(delta, Const(g, float32(log08)))
		brk := Where(goingUp, LogicalNot(up), LogicalNot(down))
		newDone := LogicalOr(done, brk)
		next := Add(logEps, MulScalar(dir, math.Ln2))
		next = ClipScalar(next, math.Log(minStepSize), math.Log(maxStepSize))
		logEps = Where(newDone, logEps, next)
		return []*Node{logEps, rng, dir, newDone, AddScalar(iter, 1)}
	}
	out := loop(maxStepSizeTries, k.useWhile, consts, state, cond, body)
	return []*Node{out[0], out[1], out[4]}
}

// massFromWindow builds the regularised variance estimate of Stan's diagonal metric adaptation:
// σ̂² n/(n+5) + 10⁻³·5/(n+5), per chain or pooled over the chains. inputs: wMean [C,P], wM2 [C,P], wCount
// (float32 scalar). Returns invMass [C,P].
func (k *kernelConfig) massFromWindow(pooled bool) func(wMean, wM2, wCount *Node) *Node {
	return func(wMean, wM2, wCount *Node) *Node {
		n := wCount
		m2 := wM2
		if pooled {
			grand := ReduceAndKeep(wMean, ReduceMean, 0)              // [1,P]
			spread := Mul(n, ReduceSum(Square(Sub(wMean, grand)), 0)) // [P]
			m2 = InsertAxes(Add(ReduceSum(wM2, 0), spread), 0)        // [1,P]
			n = MulScalar(n, float64(k.chains))
		}
		v := Div(m2, AddScalar(n, -1))
		reg := Add(Mul(v, Div(n, AddScalar(n, 5))), Div(Const(n.Graph(), float32(5e-3)), AddScalar(n, 5)))
		return BroadcastToDims(reg, wMean.Shape().Dimensions...)
	}
}

// potentialAndGrad builds U and ∇U for pos [C,P]: inputs are the data nodes, then pos.
func potentialAndGrad(tgt posterior.Target) func(inputs []*Node) []*Node {
	return func(inputs []*Node) []*Node {
		n := len(inputs) - 1
		u, g := posterior.PotentialAndGrad(tgt, inputs[n], inputs[:n])
		return []*Node{u, g}
	}
}
