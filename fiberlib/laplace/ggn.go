package laplace

import (
	"fmt"
	"math"

	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
)

// This file builds the curvature graphs: the symmetric factor of the output Hessian of the likelihood,
// per-example Jacobian-vector products for the generalised Gauss–Newton (GGN) matrix, the closed-form
// last-layer Jacobians, and the Kronecker factors of an MLP.

// outputFactor returns L [C, K, O] (K = O) with Λ_b = L_bᵀ L_b, where Λ_b is the Hessian of example b's
// negative log-likelihood with respect to the network outputs out [C, O] (for the heteroscedastic
// likelihood: its Fisher information, which is positive definite where the Hessian need not be), each row
// multiplied by mask [C] (0 for padding rows). The factor is constant for differentiation.
//
//   - gaussian: Λ = I/σ², L = I/σ;
//   - bernoulli: Λ = p(1−p), L = √(p(1−p)), p = sigmoid(f);
//   - categorical: Λ = diag(p) − p pᵀ = Σ_k p_k (e_k − p)(e_k − p)ᵀ, so row k of L is √p_k (e_k − p);
//   - heteroscedastic (outputs μ_1..μ_T, log σ_1..log σ_T): Fisher diag(1/σ_t², 2), L = diag(1/σ_t, √2).
func outputFactor(lik posterior.Likelihood, out, mask *Node, sigma float64) *Node {
	g := out.Graph()
	c, o := out.Shape().Dimensions[0], out.Shape().Dimensions[1]
	eye := ConvertDType(Diagonal(g, o), out.DType()) // [O, O]
	var l *Node
	switch lik {
	case posterior.GaussianLikelihood:
		l = BroadcastPrefix(MulScalar(eye, 1/sigma), c)
	case posterior.Bernoulli:
		p := Sigmoid(out)
		l = Reshape(Sqrt(Mul(p, OneMinus(p))), c, 1, 1)
	case posterior.Categorical:
		p := Softmax(out, -1)
		sp := Sqrt(p)
		diag := Mul(ExpandAxes(eye, 0), ExpandAxes(sp, -1)) // [C, K, O]: √p_k δ_ko
		outer := Mul(ExpandAxes(sp, -1), ExpandAxes(p, 1))  // [C, K, O]: √p_k p_o
		l = Sub(diag, outer)
	case posterior.Heteroscedastic:
		t := o / 2
		inv := Exp(Neg(nets.SliceRange(out, 1, t, o))) // 1/σ_t
		d := Concatenate([]*Node{inv, BroadcastToDims(Scalar(g, out.DType(), math.Sqrt2), c, t)}, 1)
		l = Mul(ExpandAxes(eye, 0), ExpandAxes(d, -1))
	default:
		panic(fmt.Sprintf("laplace: unknown likelihood %q", lik))
	}
	return StopGradient(Mul(l, Reshape(mask, c, 1, 1)))
}

// perExampleVJP returns V [C, K, P] with V[b, k, :] = Σ_o L[b, k, o] ∂f_o(x_b; θ)/∂θ for theta [1, P],
// x [C, D] and L [C, K, O]. Per-example gradients come from the network's particle axis: θ is repeated
// once per (example, factor row) pair, every pair is evaluated with its own copy, and the gradient of
// Σ_{b,k} Σ_o L[b,k,o] f_o(x_b; θ_{b,k}) with respect to the copies holds each pair's vector in its row: one
// forward and one reverse pass for all K rows. Works for every network nets supports; memory is O(C·K·P).
func perExampleVJP(spec nets.Spec, theta, x, l *Node) *Node {
	c, p := x.Shape().Dimensions[0], theta.Shape().Dimensions[1]
	d := x.Shape().Dimensions[1]
	k, o := l.Shape().Dimensions[1], l.Shape().Dimensions[2]
	thetaB := BroadcastToDims(theta, c*k, p)
	xr := Reshape(BroadcastToDims(Reshape(x, c, 1, d), c, k, d), c*k, 1, d)
	out := Reshape(spec.Forward(thetaB, xr), c*k, o)
	v := Gradient(ReduceAllSum(Mul(out, Reshape(l, c*k, o))), thetaB)[0]
	return Reshape(v, c, k, p)
}

// headVJP returns the same V [C, K, Ps] for the output layer alone, in closed form from the features
// phi [C, H]: the head's outputs are f_o = Σ_h φ_h W[h, o] + b_o, so ∂f_o/∂W[h, q] = φ_h δ_oq and
// ∂f_o/∂b_q = δ_oq, and V[b, k, (h, q)] = φ̃_{b,h} L[b, k, q] with φ̃ = [φ, 1] (row-major index h·O + q,
// which is nets' layout of "out/weights" [H, O] followed by "out/bias" [O]).
func headVJP(phi, l *Node) *Node {
	c, h := phi.Shape().Dimensions[0], phi.Shape().Dimensions[1]
	k, o := l.Shape().Dimensions[1], l.Shape().Dimensions[2]
	phiT := Concatenate([]*Node{phi, Ones(phi.Graph(), shapes.Make(phi.DType(), c, 1))}, 1) // [C, H+1]
	v := Einsum("bh,bko->bkho", phiT, l)
	return Reshape(v, c, k, (h+1)*o)
}

// identityFactor returns L = I [C, O, O] (so that a VJP with it gives the Jacobian).
func identityFactor(g *Graph, c, o int, dtype dtypes.DType) *Node {
	eye := ConvertDType(Diagonal(g, o), dtype)
	return BroadcastPrefix(eye, c)
}

// kronLayer is the place of one dense layer inside θ: weights [In, Out] then bias [Out], contiguous, read
// as a row-major matrix W̃ [In+1, Out] (the last row is the bias).
type kronLayer struct {
	Name            string
	Offset, In, Out int
}

// size returns the number of parameters of the layer.
func (k kronLayer) size() int { return (k.In + 1) * k.Out }

// kronLayers lists the dense layers covered by the Kronecker structure: the output layer for LastLayer,
// every dense layer of an MLP for AllWeights.
func kronLayers(layout *nets.Layout, subset SubsetOfWeights) []kronLayer {
	var out []kronLayer
	for _, t := range layout.Tensors {
		if t.Bias || (subset == LastLayer && t.Layer != nets.HeadLayer) {
			continue
		}
		out = append(out, kronLayer{Name: t.Layer, Offset: t.Offset, In: t.Shape[0], Out: t.Shape[1]})
	}
	return out
}

// mlpForward evaluates an MLP for one parameter vector theta [1, P] on x [C, D] and returns each dense
// layer's input [C, In] and pre-activation [C, Out] (the output layer last; its pre-activation is the
// network output f [C, O]).
func mlpForward(spec nets.Spec, layout *nets.Layout, theta, x *Node) (inputs, preacts []*Node) {
	w := layout.UnflattenNode(theta, 0)
	act := spec.Activation
	h := x
	layers := make([]string, 0, len(spec.Hidden)+1)
	for i := range spec.Hidden {
		layers = append(layers, fmt.Sprintf("dense%d", i))
	}
	layers = append(layers, nets.HeadLayer)
	for i, name := range layers {
		wt := w[name+"/weights"]
		in, out := wt.Shape().Dimensions[1], wt.Shape().Dimensions[2]
		s := Add(Dot(h, Reshape(wt, in, out)).Product(), Reshape(w[name+"/bias"], 1, out))
		inputs = append(inputs, h)
		preacts = append(preacts, s)
		if i < len(layers)-1 {
			h = act.Apply(s)
		}
	}
	return inputs, preacts
}

// repeatRows returns x [C, ...] with every row repeated k times, [C·k, ...] (row b·k + i is row b).
func repeatRows(x *Node, k int) *Node {
	dims := x.Shape().Dimensions
	c := dims[0]
	exp := append([]int{c, k}, dims[1:]...)
	b := BroadcastToDims(ExpandAxes(x, 1), exp...)
	return Reshape(b, append([]int{c * k}, dims[1:]...)...)
}

// kronFactors returns, for each layer, A = Σ_b ã_b ã_bᵀ [In+1, In+1] (ã = [input, 1], masked) and
// G = Σ_b Σ_k g_bk g_bkᵀ [Out, Out], where g_bk = ∂(Σ_o L[b,k,o] f_o)/∂s_b is the back-propagated factor row
// at the layer's pre-activations s. forward evaluates the layers on inputs with C·K rows (each example
// repeated K times, one copy per factor row, so that one reverse pass gives every g_bk) and returns each
// layer's inputs and pre-activations (the last one is the output f). mask is [C].
func kronFactors(forward func(x *Node) (inputs, preacts []*Node), x, l, mask *Node) []*Node {
	c, k, o := l.Shape().Dimensions[0], l.Shape().Dimensions[1], l.Shape().Dimensions[2]
	inputs, preacts := forward(repeatRows(x, k))
	f := preacts[len(preacts)-1]
	grads := Gradient(ReduceAllSum(Mul(f, Reshape(l, c*k, o))), preacts...)
	m := Reshape(repeatRows(mask, k), c*k, 1)
	var out []*Node
	for j, in := range inputs {
		at := Mul(Concatenate([]*Node{in, Ones(in.Graph(), shapes.Make(in.DType(), c*k, 1))}, 1), m)
		a := MulScalar(Einsum("bi,bj->ij", at, at), 1/float64(k))
		out = append(out, a, Einsum("bi,bj->ij", grads[j], grads[j]))
	}
	return out
}
