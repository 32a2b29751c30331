package flow

import (
	"math"
	"math/rand/v2"

	. "github.com/gomlx/gomlx/core/graph"
)

// arch is the structure of a flow on r coordinates: a stack of coupling layers, each preceded by a
// permutation (none before the first), and a fixed elementwise standardisation at the output:
//
//	c = loc + spread ⊙ (C_L ∘ Π_L ∘ … ∘ C_1)(z)
//
// The parameters of all conditioners live in one flat vector of length nParams.
type arch struct {
	opts    Options
	r       int
	layers  []coupling
	nParams int
}

// coupling is one coupling layer: the first da coordinates condition an elementwise transform of the
// other db coordinates.
type coupling struct {
	perm   []int    // x'[:, j] = x[:, perm[j]]; nil for none
	kind   Coupling // Affine or Spline
	da, db int
	net    mlp // da (or 1 when da = 0) → db·perDim
	perDim int
}

// newArch lays out a flow on r coordinates.
func newArch(opts Options, r int) *arch {
	a := &arch{opts: opts, r: r}
	var l layout
	rng := rand.New(rand.NewPCG(opts.Seed, 0x9e3779b97f4a7c15))
	for i := 0; i < opts.Layers; i++ {
		c := coupling{kind: opts.Coupling}
		if opts.Coupling == Mixed {
			c.kind = Affine
			if i%2 == 1 {
				c.kind = Spline
			}
		}
		perDim := 2
		if c.kind == Spline {
			perDim = splineParamsPerDim(opts.Bins)
		}
		if i > 0 && r > 1 {
			c.perm = make([]int, r)
			switch opts.Permutation {
			case PermuteRandom:
				c.perm = rng.Perm(r)
			default:
				for j := range c.perm {
					c.perm[j] = r - 1 - j
				}
			}
		}
		c.da = r / 2
		c.db = r - c.da
		c.perDim = perDim
		c.net = newMLP(&l, max(c.da, 1), opts.Hidden, c.db*perDim)
		a.layers = append(a.layers, c)
	}
	a.nParams = l.n
	return a
}

// initParams returns initial parameters: hidden layers random (seeded), output layers scaled by
// outScale (0: every layer starts as the identity map).
func (a *arch) initParams(outScale float64) []float32 {
	p := make([]float32, a.nParams)
	rng := rand.New(rand.NewPCG(a.opts.Seed, 0x2545f4914f6cdd1d))
	for _, c := range a.layers {
		c.net.init(p, rng, outScale)
	}
	return p
}

// permMatrix returns M [r, r] with (x M)[:, j] = x[:, perm[j]].
func permMatrix(g *Graph, x *Node, perm []int) *Node {
	r := len(perm)
	m := make([][]float64, r)
	for i := range m {
		m[i] = make([]float64, r)
	}
	for j, src := range perm {
		m[src][j] = 1
	}
	return ConstAsDType(g, x.DType(), m)
}

// couple applies the layer's transform (or its inverse) to x [N, r]; it returns the result and the
// log-determinant per row [N].
func (a *arch) couple(c coupling, params, x *Node, inverse bool) (*Node, *Node) {
	xa := Slice(x, AxisRange(), AxisRange(0, c.da))
	xb := Slice(x, AxisRange(), AxisRange(c.da, a.r))
	cond := xa
	if c.da == 0 {
		cond = ZerosLike(Slice(x, AxisRange(), AxisRange(0, 1)))
	}
	n := x.Shape().Dimensions[0]
	raw := Reshape(c.net.apply(params, cond), n, c.db, c.perDim)
	var yb, ld *Node
	switch c.kind {
	case Affine:
		clamp := a.opts.ScaleClamp
		sRaw := Squeeze(Slice(raw, AxisRange(), AxisRange(), AxisRange(0, 1)), 2)
		t := Squeeze(Slice(raw, AxisRange(), AxisRange(), AxisRange(1, 2)), 2)
		s := MulScalar(Tanh(DivScalar(sRaw, clamp)), clamp)
		if inverse {
			yb = Mul(Sub(xb, t), Exp(Neg(s)))
			ld = Neg(ReduceSum(s, 1))
		} else {
			yb = Add(Mul(xb, Exp(s)), t)
			ld = ReduceSum(s, 1)
		}
	default:
		var ldElem *Node
		yb, ldElem = rqSpline(xb, raw, a.opts.Bins, a.opts.Bound, inverse)
		ld = ReduceSum(ldElem, 1)
	}
	if c.da == 0 {
		return yb, ld
	}
	return Concatenate([]*Node{xa, yb}, 1), ld
}

// forward maps latent z [N, r] to standardised coordinates x = T(z) [N, r] and returns log|det ∂x/∂z| [N].
func (a *arch) forward(params, z *Node) (x, logDet *Node) {
	g := z.Graph()
	x = z
	logDet = ZerosLike(Slice(z, AxisRange(), AxisRange(0, 1)))
	logDet = Squeeze(logDet, 1)
	for _, c := range a.layers {
		if c.perm != nil {
			x = Dot(x, permMatrix(g, x, c.perm)).Product()
		}
		var ld *Node
		x, ld = a.couple(c, params, x, false)
		logDet = Add(logDet, ld)
	}
	return x, logDet
}

// inverse maps standardised coordinates x [N, r] to z = T⁻¹(x) and returns log|det ∂z/∂x| [N].
func (a *arch) inverse(params, x *Node) (z, logDet *Node) {
	g := x.Graph()
	z = x
	logDet = Squeeze(ZerosLike(Slice(x, AxisRange(), AxisRange(0, 1))), 1)
	for i := len(a.layers) - 1; i >= 0; i-- {
		c := a.layers[i]
		var ld *Node
		z, ld = a.couple(c, params, z, true)
		logDet = Add(logDet, ld)
		if c.perm != nil {
			z = Dot(z, Transpose(permMatrix(g, z, c.perm), 0, 1)).Product()
		}
	}
	return z, logDet
}

// stdNormalLogPDF returns log N(z; 0, I) [N] for z [N, r].
func stdNormalLogPDF(z *Node) *Node {
	r := z.Shape().Dimensions[1]
	return AddScalar(MulScalar(ReduceSum(Square(z), 1), -0.5), -0.5*float64(r)*math.Log(2*math.Pi))
}

// logProbCoords returns log q(c) [N] of coordinates c [N, r] under the flow with standardisation
// loc [r], spread [r]: log N(T⁻¹(x)) + log|det ∂T⁻¹/∂x| − Σ log spread, with x = (c − loc)/spread.
func (a *arch) logProbCoords(params, loc, spread, c *Node) *Node {
	x := Div(Sub(c, ExpandAxes(loc, 0)), ExpandAxes(spread, 0))
	z, ld := a.inverse(params, x)
	return Sub(Add(stdNormalLogPDF(z), ld), ReduceAllSum(Log(spread)))
}

// sampleCoords maps z [N, r] to coordinates c [N, r] and their log q(c) [N].
func (a *arch) sampleCoords(params, loc, spread, z *Node) (c, logQ *Node) {
	x, ld := a.forward(params, z)
	c = Add(ExpandAxes(loc, 0), Mul(x, ExpandAxes(spread, 0)))
	logQ = Sub(Sub(stdNormalLogPDF(z), ld), ReduceAllSum(Log(spread)))
	return c, logQ
}
