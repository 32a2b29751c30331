package flow

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
)

// Rational-quadratic spline (Durkan, Bekasov, Murray, Papamakarios 2019, "Neural Spline Flows", §3.1 and
// appendix A), written from the paper's equations.
//
// On [−B, B] the map is monotone and piecewise rational-quadratic with K bins; outside it is the identity
// (the boundary derivatives are fixed to 1, so the map is C¹ at ±B). Knots (x_k, y_k), k = 0..K, with
// x_0 = y_0 = −B and x_K = y_K = B; positive bin widths w_k, heights h_k and knot derivatives δ_k.
// For x in bin k, with ξ = (x − x_k)/w_k and s_k = h_k/w_k:
//
//	y   = y_k + h_k [s_k ξ² + δ_k ξ(1−ξ)] / [s_k + (δ_{k+1} + δ_k − 2 s_k) ξ(1−ξ)]
//	y'  = s_k² [δ_{k+1} ξ² + 2 s_k ξ(1−ξ) + δ_k (1−ξ)²] / [s_k + (δ_{k+1} + δ_k − 2 s_k) ξ(1−ξ)]²
//
// The inverse solves a ξ² + b ξ + c = 0 with (Δy = y − y_k, D = δ_{k+1} + δ_k − 2 s_k)
//
//	a = h_k (s_k − δ_k) + Δy D,   b = h_k δ_k − Δy D,   c = −s_k Δy,
//	ξ = 2c / (−b − √(b² − 4ac))   (the root in [0, 1], in the form that does not cancel).

const (
	splineMinBinWidth  = 1e-3 // fraction of 2B, as in the paper's reference setting
	splineMinBinHeight = 1e-3
	splineMinDeriv     = 1e-3
)

// splineParamsPerDim is the number of conditioner outputs per transformed dimension: K widths, K heights,
// K−1 interior derivatives.
func splineParamsPerDim(bins int) int { return 3*bins - 1 }

// rqSpline applies the elementwise spline to x [N, d] given raw conditioner outputs raw [N, d, 3K−1].
// With inverse it applies the inverse map. It returns the result [N, d] and log|dy/dx| (or log|dx/dy|
// for the inverse) [N, d]. Raw outputs of zero give the identity map.
func rqSpline(x, raw *Node, bins int, bound float64, inverse bool) (y, logDet *Node) {
	g := x.Graph()
	dt := x.DType()
	k := bins
	wRaw := Slice(raw, AxisRange(), AxisRange(), AxisRange(0, k))
	hRaw := Slice(raw, AxisRange(), AxisRange(), AxisRange(k, 2*k))
	dRaw := Slice(raw, AxisRange(), AxisRange(), AxisRange(2*k, 3*k-1))

	widths := binSizes(wRaw, bound, splineMinBinWidth)   // [N, d, K], sum 2B
	heights := binSizes(hRaw, bound, splineMinBinHeight) // [N, d, K]
	// Interior derivatives: softplus shifted so that a raw value of 0 gives 1 (identity), floored at min.
	shift := math.Log(math.Expm1(1 - splineMinDeriv))
	inner := AddScalar(Softplus(AddScalar(dRaw, shift)), splineMinDeriv) // [N, d, K−1]
	ones := OnesLike(Slice(dRaw, AxisRange(), AxisRange(), AxisRange(0, 1)))
	derivs := Concatenate([]*Node{ones, inner, ones}, 2) // [N, d, K+1]

	xKnots := knots(widths, bound) // [N, d, K+1]
	yKnots := knots(heights, bound)

	// Locate the bin of the input in the domain that the input lives in.
	in := x
	inKnots := xKnots
	if inverse {
		inKnots = yKnots
	}
	inside := LessOrEqual(Abs(in), Scalar(g, dt, bound))
	xc := ClipScalar(in, -bound, bound)
	interior := Slice(inKnots, AxisRange(), AxisRange(), AxisRange(1, k)) // [N, d, K−1]
	idx := ReduceSum(ConvertDType(GreaterOrEqual(ExpandAxes(xc, -1), interior), dtypes.Int32), -1)
	mask := OneHot(idx, k, dt) // [N, d, K]
	sel := func(v *Node) *Node { return ReduceSum(Mul(v, mask), -1) }

	xk := sel(Slice(xKnots, AxisRange(), AxisRange(), AxisRange(0, k)))
	yk := sel(Slice(yKnots, AxisRange(), AxisRange(), AxisRange(0, k)))
	wk := sel(widths)
	hk := sel(heights)
	dLo := sel(Slice(derivs, AxisRange(), AxisRange(), AxisRange(0, k)))
	dHi := sel(Slice(derivs, AxisRange(), AxisRange(), AxisRange(1, k+1)))
	s := Div(hk, wk)
	dsum := Sub(Add(dHi, dLo), MulScalar(s, 2))

	var xi, out *Node
	if !inverse {
		xi = ClipScalar(Div(Sub(xc, xk), wk), 0, 1)
		xi1 := Mul(xi, OneMinus(xi))
		num := Mul(hk, Add(Mul(s, Square(xi)), Mul(dLo, xi1)))
		den := Add(s, Mul(dsum, xi1))
		out = Add(yk, Div(num, den))
	} else {
		dy := Sub(xc, yk)
		a := Add(Mul(hk, Sub(s, dLo)), Mul(dy, dsum))
		b := Sub(Mul(hk, dLo), Mul(dy, dsum))
		c := Neg(Mul(s, dy))
		disc := MaxScalar(Sub(Square(b), MulScalar(Mul(a, c), 4)), 0)
		xi = ClipScalar(Div(MulScalar(c, 2), Sub(Neg(b), Sqrt(disc))), 0, 1)
		out = Add(xk, Mul(xi, wk))
	}
	xi1 := Mul(xi, OneMinus(xi))
	den := Add(s, Mul(dsum, xi1))
	dnum := Add(Add(Mul(dHi, Square(xi)), Mul(MulScalar(s, 2), xi1)), Mul(dLo, Square(OneMinus(xi))))
	logDeriv := Sub(Add(MulScalar(Log(s), 2), Log(dnum)), MulScalar(Log(den), 2)) // log dy/dx
	if inverse {
		logDeriv = Neg(logDeriv)
	}
	y = Where(inside, out, x)
	logDet = Where(inside, logDeriv, ZerosLike(logDeriv))
	return y, logDet
}

// binSizes turns raw values [N, d, K] into positive bin sizes that sum to 2·bound, each at least
// minFrac·2·bound.
func binSizes(raw *Node, bound, minFrac float64) *Node {
	k := raw.Shape().Dimensions[raw.Rank()-1]
	p := Softmax(raw, -1)
	p = AddScalar(MulScalar(p, 1-minFrac*float64(k)), minFrac)
	return MulScalar(p, 2*bound)
}

// knots returns the K+1 knot positions −B, −B + w_0, ..., B for sizes [N, d, K] (cumulative sums by a
// product with a triangular matrix, which keeps the gradient simple).
func knots(sizes *Node, bound float64) *Node {
	k := sizes.Shape().Dimensions[sizes.Rank()-1]
	tri := make([][]float64, k)
	for i := range tri {
		tri[i] = make([]float64, k+1)
		for j := i + 1; j <= k; j++ {
			tri[i][j] = 1
		}
	}
	cum := Dot(sizes, ConstAsDType(sizes.Graph(), sizes.DType(), tri)).General([]int{2}, nil, []int{0}, nil)
	cum = AddScalar(cum, -bound) // [N, d, K+1]
	// Pin the last knot at +B exactly (the sum of sizes is 2B up to rounding).
	last := AddScalar(ZerosLike(Slice(cum, AxisRange(), AxisRange(), AxisRange(0, 1))), bound)
	return Concatenate([]*Node{Slice(cum, AxisRange(), AxisRange(), AxisRange(0, k)), last}, 2)
}
