package nets

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
)

// Forward evaluates the network for every parameter vector of theta [N, P] on x and returns the outputs
// [N, B, O]. x is [B, D] (the same examples for every particle) or [N, B, D] (a batch per particle); D is
// the spec's InputDim (images flattened row-major as H, W, C). It panics on an invalid spec or on shapes
// that do not match it (graph-building convention).
func (s Spec) Forward(theta, x *graph.Node) *graph.Node {
	l := s.MustLayout()
	s.checkTheta(l, theta, l.P, "Forward")
	feats := s.features(l, theta, x)
	return s.head(l, SliceRange(theta, 1, l.HeadStart, l.P), feats)
}

// Forward is Spec.Forward as a function: outputs [N, B, O] for theta [N, P] and x [B, D] or [N, B, D].
func Forward(spec Spec, theta, x *graph.Node) *graph.Node { return spec.Forward(theta, x) }

// Features returns the penultimate representation [N, B, H] (the input of the output layer; H is
// Layout().Features) for x [B, D] or [N, B, D]. theta is either the full vector [N, P] or the body alone
// [N, HeadStart]. For a network without hidden layers the features are the inputs themselves.
func (s Spec) Features(theta, x *graph.Node) *graph.Node {
	l := s.MustLayout()
	if theta.Rank() != 2 || (theta.Shape().Dimensions[1] != l.P && theta.Shape().Dimensions[1] != l.HeadStart) {
		panic(fmt.Sprintf("nets.Features: theta must be [N, P=%d] or [N, HeadStart=%d], got %s", l.P, l.HeadStart, theta.Shape()))
	}
	f := s.features(l, theta, x)
	if f.Rank() == 2 { // shared inputs passed through unchanged: give them the particle axis.
		n := theta.Shape().Dimensions[0]
		f = graph.BroadcastPrefix(f, n)
	}
	return f
}

// Head applies the output layer with head parameters thetaHead [N, P−HeadStart] (or the full θ [N, P]) to
// features [N, B, H] (or [B, H], shared) and returns the outputs [N, B, O].
func (s Spec) Head(theta, features *graph.Node) *graph.Node {
	l := s.MustLayout()
	if theta.Rank() != 2 {
		panic(fmt.Sprintf("nets.Head: theta must be rank 2, got %s", theta.Shape()))
	}
	switch theta.Shape().Dimensions[1] {
	case l.P:
		theta = SliceRange(theta, 1, l.HeadStart, l.P)
	case l.P - l.HeadStart:
	default:
		panic(fmt.Sprintf("nets.Head: theta must be [N, P=%d] or [N, P−HeadStart=%d], got %s", l.P, l.P-l.HeadStart, theta.Shape()))
	}
	return s.head(l, theta, features)
}

func (s Spec) checkTheta(l *Layout, theta *graph.Node, width int, fn string) {
	if theta.Rank() != 2 || theta.Shape().Dimensions[1] != width {
		panic(fmt.Sprintf("nets.%s: theta must be [N, %d] for spec %s, got %s", fn, width, s, theta.Shape()))
	}
}

// features runs every layer but the output layer. theta starts at offset 0 (body or full vector).
// The result is [B, H] when x is shared and the network has no hidden layer, else [N, B, H].
func (s Spec) features(l *Layout, theta, x *graph.Node) *graph.Node {
	d := s.InputDim()
	n := theta.Shape().Dimensions[0]
	switch {
	case x.Rank() == 2 && x.Shape().Dimensions[1] == d:
	case x.Rank() == 3 && x.Shape().Dimensions[0] == n && x.Shape().Dimensions[2] == d:
	default:
		panic(fmt.Sprintf("nets: x must be [B, D=%d] or [N=%d, B, D=%d] for spec %s, got %s", d, n, d, s, x.Shape()))
	}
	if x.DType() != theta.DType() {
		panic(fmt.Sprintf("nets: x dtype %s differs from theta dtype %s", x.DType(), theta.DType()))
	}
	w := l.UnflattenNode(theta, 0)
	act := s.activation()
	h := x
	if s.Kind == KindCNN && len(s.Conv) > 0 {
		// [.., B, H, W, C] images.
		dims := append(append([]int(nil), h.Shape().Dimensions[:h.Rank()-1]...), s.InputShape...)
		h = graph.Reshape(h, dims...)
		for i, cl := range s.Conv {
			name := fmt.Sprintf("conv%d", i)
			h = conv2D(h, w[name+"/kernel"], w[name+"/bias"], cl.Kernel)
			h = applyActivation(act, h)
			if cl.Pool > 1 {
				h = maxPool(h, cl.Pool)
			}
		}
		// Flatten to [N, B, H*W*C].
		hd := h.Shape().Dimensions
		h = graph.Reshape(h, hd[0], hd[1], hd[2]*hd[3]*hd[4])
	}
	for i := range s.Hidden {
		name := fmt.Sprintf("dense%d", i)
		h = applyActivation(act, dense(h, w[name+"/weights"], w[name+"/bias"]))
	}
	return h
}

// head applies the output layer; thetaHead [N, P−HeadStart].
func (s Spec) head(l *Layout, thetaHead, feats *graph.Node) *graph.Node {
	w := l.UnflattenNode(thetaHead, l.HeadStart)
	return dense(feats, w[HeadLayer+"/weights"], w[HeadLayer+"/bias"])
}

// dense computes h·W + b for h [B, F] (shared) or [N, B, F], W [N, F, O], b [N, O]; result [N, B, O].
func dense(h, w, b *graph.Node) *graph.Node {
	var y *graph.Node
	if h.Rank() == 2 {
		y = graph.Einsum("bf,nfo->nbo", h, w)
	} else {
		y = graph.Einsum("nbf,nfo->nbo", h, w)
	}
	return graph.Add(y, graph.ExpandAxes(b, 1))
}

// conv2D is a "same"-padded, stride-1 convolution of h [B, H, W, C] (shared) or [N, B, H, W, C] with
// kernel [N, k, k, C, O] and bias [N, O]; result [N, B, H, W, O]. It extracts the k×k patches with shifted
// slices (ordered dy, dx, channel, like the kernel's row-major layout) and contracts them with the kernel
// in one batched matrix product over the particle axis.
func conv2D(h, kernel, bias *graph.Node, k int) *graph.Node {
	r := h.Rank()
	hAx, wAx := r-3, r-2
	dims := h.Shape().Dimensions
	height, width, c := dims[hAx], dims[wAx], dims[r-1]
	n := kernel.Shape().Dimensions[0]
	o := kernel.Shape().Dimensions[4]
	half := k / 2
	var patches *graph.Node
	if k == 1 {
		patches = h
	} else {
		padded := zeroPad(zeroPad(h, hAx, half), wAx, half)
		parts := make([]*graph.Node, 0, k*k)
		for dy := 0; dy < k; dy++ {
			for dx := 0; dx < k; dx++ {
				parts = append(parts, SliceRange(SliceRange(padded, hAx, dy, dy+height), wAx, dx, dx+width))
			}
		}
		patches = graph.Concatenate(parts, -1) // [.., H, W, k*k*C]
	}
	kmat := graph.Reshape(kernel, n, k*k*c, o)
	var y *graph.Node
	if r == 4 {
		y = graph.Einsum("bhwk,nko->nbhwo", patches, kmat)
	} else {
		y = graph.Einsum("nbhwk,nko->nbhwo", patches, kmat)
	}
	return graph.Add(y, graph.Reshape(bias, n, 1, 1, 1, o))
}

// SliceRange returns x[..., start:end, ...] along axis (negative axes count from the end).
func SliceRange(x *graph.Node, axis, start, end int) *graph.Node {
	if axis < 0 {
		axis += x.Rank()
	}
	specs := make([]graph.SliceAxisSpec, x.Rank())
	for i := range specs {
		specs[i] = graph.AxisRange()
	}
	specs[axis] = graph.AxisRange(start, end)
	return graph.Slice(x, specs...)
}

// zeroPad adds width zeros on both sides of axis. (graph.Pad has no gradient in GoMLX v0.28.2;
// Concatenate has one to any order.)
func zeroPad(h *graph.Node, axis, width int) *graph.Node {
	dims := append([]int(nil), h.Shape().Dimensions...)
	dims[axis] = width
	z := graph.Zeros(h.Graph(), shapes.Make(h.DType(), dims...))
	return graph.Concatenate([]*graph.Node{z, h, z}, axis)
}

// maxPool takes the maximum over p×p windows with stride p of h [N, B, H, W, C], truncating sizes that p
// does not divide.
func maxPool(h *graph.Node, p int) *graph.Node {
	d := h.Shape().Dimensions
	n, b, height, width, c := d[0], d[1], d[2], d[3], d[4]
	ho, wo := height/p, width/p
	if ho*p != height || wo*p != width {
		h = SliceRange(SliceRange(h, 2, 0, ho*p), 3, 0, wo*p)
	}
	h = graph.Reshape(h, n, b, ho, p, wo, p, c)
	return graph.ReduceMax(h, 3, 5)
}

// localScalar returns a fresh (uncached) scalar constant of x's dtype in the function being built. GoMLX
// v0.28.2 caches Scalar/ScalarZero/MulScalar constants per graph, not per function, so a cached constant first
// made outside a While loop cannot be used inside its body ("operands are not part of the function"); the
// activations are used both outside and inside loops (e.g. the walk's power iteration and its steps).
func localScalar(x *graph.Node, v float64) *graph.Node {
	return graph.Const(x.Graph(), shapes.CastAsDType(v, x.DType()))
}

// applyActivation applies act element-wise.
func applyActivation(act Activation, x *graph.Node) *graph.Node {
	switch act {
	case Tanh, "":
		return graph.Tanh(x)
	case ReLU:
		return graph.Max(x, localScalar(x, 0))
	case GELU:
		cdf := graph.Mul(graph.Add(graph.Erf(graph.Mul(x, localScalar(x, 1/math.Sqrt2))), localScalar(x, 1)), localScalar(x, 0.5))
		return graph.Mul(x, cdf)
	case Sigmoid:
		return graph.Sigmoid(x)
	case Softplus: // log(1 + eˣ) = max(x, 0) + log1p(e^{−|x|}), stable for large |x|
		return graph.Add(graph.Max(x, localScalar(x, 0)), graph.Log1P(graph.Exp(graph.Neg(graph.Abs(x)))))
	case SiLU:
		return graph.Mul(x, graph.Sigmoid(x))
	case Identity:
		return x
	}
	panic(fmt.Sprintf("nets: unknown activation %q", act))
}

// Apply applies the activation element-wise to x (graph side); it panics on an unknown activation.
func (a Activation) Apply(x *graph.Node) *graph.Node { return applyActivation(a, x) }
