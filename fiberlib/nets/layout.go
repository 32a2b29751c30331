package nets

import (
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/gomlx/core/graph"
)

// HeadLayer is the name of the output layer; its tensors are "out/weights" and "out/bias".
const HeadLayer = "out"

// TensorInfo is one named weight tensor inside θ.
type TensorInfo struct {
	// Name is "<layer>/<tensor>": "conv0/kernel", "conv0/bias", "dense0/weights", "dense0/bias", ...,
	// "out/weights", "out/bias".
	Name string
	// Layer is the layer name (the part before "/").
	Layer string
	// Shape is the tensor's shape for one parameter vector: [in, out] for dense weights, [k, k, in, out]
	// for conv kernels, [out] for biases.
	Shape []int
	// Offset is the index of the tensor's first value in θ; Size the number of values (row-major).
	Offset, Size int
	// FanIn and FanOut are the numbers of inputs and outputs of one unit (for initialisation).
	FanIn, FanOut int
	// Bias is true for bias vectors.
	Bias bool
}

// Layout places every weight tensor of a Spec inside the flat parameter vector θ [P].
type Layout struct {
	// Tensors in θ order: layer by layer, weights (or kernel) then bias, output layer last.
	Tensors []TensorInfo
	// P is the number of parameters.
	P int
	// HeadStart is the offset of the output layer: θ[:HeadStart] is the body, θ[HeadStart:] the head.
	HeadStart int
	// Features is H, the width of the penultimate representation that the head reads.
	Features int
}

// Layout computes the layout of the spec. It returns an error if the spec is invalid.
func (s Spec) Layout() (*Layout, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	l := &Layout{}
	add := func(layer, tensor string, shape []int, fanIn, fanOut int, bias bool) {
		size := 1
		for _, d := range shape {
			size *= d
		}
		l.Tensors = append(l.Tensors, TensorInfo{Name: layer + "/" + tensor, Layer: layer, Shape: shape,
			Offset: l.P, Size: size, FanIn: fanIn, FanOut: fanOut, Bias: bias})
		l.P += size
	}
	width := s.InputDim()
	if s.Kind == KindCNN {
		h, w, c := s.InputShape[0], s.InputShape[1], s.InputShape[2]
		for i, cl := range s.Conv {
			name := fmt.Sprintf("conv%d", i)
			k := cl.Kernel
			add(name, "kernel", []int{k, k, c, cl.Filters}, k*k*c, k*k*cl.Filters, false)
			add(name, "bias", []int{cl.Filters}, k*k*c, k*k*cl.Filters, true)
			c = cl.Filters
			if cl.Pool > 1 {
				h, w = h/cl.Pool, w/cl.Pool
			}
		}
		width = h * w * c
	}
	for i, hw := range s.Hidden {
		name := fmt.Sprintf("dense%d", i)
		add(name, "weights", []int{width, hw}, width, hw, false)
		add(name, "bias", []int{hw}, width, hw, true)
		width = hw
	}
	l.HeadStart = l.P
	l.Features = width
	add(HeadLayer, "weights", []int{width, s.Outputs}, width, s.Outputs, false)
	add(HeadLayer, "bias", []int{s.Outputs}, width, s.Outputs, true)
	return l, nil
}

// MustLayout is Layout that panics on an invalid spec.
func (s Spec) MustLayout() *Layout {
	l, err := s.Layout()
	if err != nil {
		panic(err)
	}
	return l
}

// NumParams returns P, the number of parameters of the spec (0 if the spec is invalid).
func (s Spec) NumParams() int {
	l, err := s.Layout()
	if err != nil {
		return 0
	}
	return l.P
}

// Tensor returns the tensor with the given full name ("dense0/weights").
func (l *Layout) Tensor(name string) (TensorInfo, bool) {
	for _, t := range l.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return TensorInfo{}, false
}

// Range returns the half-open range [start, end) of θ that holds name: a full tensor name
// ("dense0/weights"), a layer name ("dense0", "out": all its tensors), or "body" / "head" (θ[:HeadStart] and
// θ[HeadStart:]). ok is false for an unknown name.
func (l *Layout) Range(name string) (start, end int, ok bool) {
	switch name {
	case "body":
		return 0, l.HeadStart, true
	case "head":
		return l.HeadStart, l.P, true
	}
	start, end = -1, -1
	for _, t := range l.Tensors {
		if t.Name == name || t.Layer == name {
			if start < 0 {
				start = t.Offset
			}
			end = t.Offset + t.Size
		}
	}
	return start, end, start >= 0
}

// Names returns the full tensor names in θ order.
func (l *Layout) Names() []string {
	names := make([]string, len(l.Tensors))
	for i, t := range l.Tensors {
		names[i] = t.Name
	}
	return names
}

// Unflatten splits one parameter vector θ [P] into its named tensors (row-major copies).
func (l *Layout) Unflatten(theta []float32) (map[string][]float32, error) {
	if len(theta) != l.P {
		return nil, fmt.Errorf("nets.Unflatten: θ has %d values, the layout has P=%d", len(theta), l.P)
	}
	out := make(map[string][]float32, len(l.Tensors))
	for _, t := range l.Tensors {
		out[t.Name] = append([]float32(nil), theta[t.Offset:t.Offset+t.Size]...)
	}
	return out, nil
}

// Flatten assembles θ [P] from named tensors (every tensor of the layout must be present with its size).
func (l *Layout) Flatten(tensors map[string][]float32) ([]float32, error) {
	theta := make([]float32, l.P)
	for _, t := range l.Tensors {
		v, ok := tensors[t.Name]
		if !ok {
			return nil, fmt.Errorf("nets.Flatten: tensor %q missing (want all of %s)", t.Name, strings.Join(l.Names(), ", "))
		}
		if len(v) != t.Size {
			return nil, fmt.Errorf("nets.Flatten: tensor %q has %d values, want %d (shape %v)", t.Name, len(v), t.Size, t.Shape)
		}
		copy(theta[t.Offset:], v)
	}
	if len(tensors) != len(l.Tensors) {
		for name := range tensors {
			if _, ok := l.Tensor(name); !ok {
				return nil, fmt.Errorf("nets.Flatten: unknown tensor %q (the layout has %s)", name, strings.Join(l.Names(), ", "))
			}
		}
	}
	return theta, nil
}

// UnflattenNode splits theta [N, P] (or a slice [N, end−start] of it starting at offset start, for body-only
// or head-only vectors) into named graph tensors of shape [N, shape...]. Tensors outside
// [start, start+theta.Shape().Dimensions[1]) are left out.
func (l *Layout) UnflattenNode(theta *graph.Node, start int) map[string]*graph.Node {
	if theta.Rank() != 2 {
		panic(fmt.Sprintf("nets.UnflattenNode: theta must be [N, P], got %s", theta.Shape()))
	}
	n, width := theta.Shape().Dimensions[0], theta.Shape().Dimensions[1]
	out := make(map[string]*graph.Node)
	for _, t := range l.Tensors {
		lo, hi := t.Offset-start, t.Offset-start+t.Size
		if lo < 0 || hi > width {
			continue
		}
		v := SliceRange(theta, 1, lo, hi)
		out[t.Name] = graph.Reshape(v, append([]int{n}, t.Shape...)...)
	}
	return out
}

// FlattenNodes is the inverse of UnflattenNode for the full vector: it concatenates the named tensors
// [N, shape...] in θ order into [N, P].
func (l *Layout) FlattenNodes(tensors map[string]*graph.Node) *graph.Node {
	parts := make([]*graph.Node, len(l.Tensors))
	for i, t := range l.Tensors {
		v, ok := tensors[t.Name]
		if !ok {
			panic(fmt.Sprintf("nets.FlattenNodes: tensor %q missing", t.Name))
		}
		n := v.Shape().Dimensions[0]
		parts[i] = graph.Reshape(v, n, t.Size)
	}
	return graph.Concatenate(parts, 1)
}

// initStd returns the standard deviation of the initial weights of a tensor: He (√(2/fan_in)) for
// ReLU-like activations, Glorot (√(2/(fan_in+fan_out))) otherwise; the output layer always uses Glorot.
func initStd(t TensorInfo, act Activation) float64 {
	if t.Layer != HeadLayer && (act == ReLU || act == GELU || act == SiLU) {
		return math.Sqrt(2 / float64(t.FanIn))
	}
	return math.Sqrt(2 / float64(t.FanIn+t.FanOut))
}
