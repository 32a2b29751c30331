// Package nets defines the neural networks of fiberlib as pure functions of a flat parameter vector
// θ ∈ R^P, evaluated for N parameter vectors at once in one GoMLX graph.
//
// A network is described by a Spec (JSON-serialisable: an MLP or a small CNN), which yields a Layout (the
// offset and shape of every named weight tensor inside θ). Forward evaluates all N parameter vectors
// theta [N, P] on inputs x [B, D] (shared by all particles) or x [N, B, D] (one batch per particle) and
// returns the outputs [N, B, O]: the particle axis is a batch axis of every matrix product, never a Go
// loop.
//
// The parameters are ordered layer by layer (weights, then bias), and the output layer ("out") comes last,
// so θ splits into a body θ[:HeadStart] and a head θ[HeadStart:] (last-layer methods walk or linearise only
// the head; Features gives the penultimate activations [N, B, H]).
//
// Convolutions are computed as patch extraction (shifted slices, "im2col") followed by one batched matrix
// product with the particle axis as batch axis. This uses only Pad, Slice, Concatenate and DotGeneral, which
// XLA and the pure-Go backend both execute well and differentiate to any order, whereas a grouped
// convolution (particles folded into channel groups) is lowered by XLA CPU to a dense convolution with a
// block-diagonal kernel (N times the work) and runs on a slow generic path in the pure-Go backend.
package nets

import (
	"encoding/json"
	"fmt"
)

// Kind names a network family.
type Kind string

const (
	// KindMLP is a fully connected network: InputShape [D], Hidden widths, Outputs.
	KindMLP Kind = "mlp"
	// KindCNN is a small convolutional network: InputShape [H, W, C], a stack of Conv layers ("same"
	// padding, stride 1, activation, optional max pooling), then dense Hidden layers and the output layer.
	KindCNN Kind = "cnn"
)

// Activation names an element-wise non-linearity.
type Activation string

const (
	// Tanh is the hyperbolic tangent (default).
	Tanh Activation = "tanh"
	// ReLU is max(x, 0).
	ReLU Activation = "relu"
	// GELU is the exact Gaussian error linear unit x·Φ(x) (with erf).
	GELU Activation = "gelu"
	// Sigmoid is the logistic function 1/(1+e^−x).
	Sigmoid Activation = "sigmoid"
	// Softplus is log(1+e^x).
	Softplus Activation = "softplus"
	// SiLU is x·sigmoid(x) (also called swish).
	SiLU Activation = "silu"
	// Identity is the identity (a linear network).
	Identity Activation = "identity"
)

// Activations lists the supported activations.
var Activations = []Activation{Tanh, ReLU, GELU, Sigmoid, Softplus, SiLU, Identity}

// ConvLayer is one convolutional layer of a CNN: Filters output channels, a Kernel×Kernel window with
// "same" zero padding and stride 1, the network's activation, then max pooling over Pool×Pool windows with
// stride Pool (Pool 0 or 1: no pooling; spatial sizes not divisible by Pool are truncated, as in "valid"
// pooling).
type ConvLayer struct {
	Filters int `json:"filters"`
	Kernel  int `json:"kernel"`
	Pool    int `json:"pool,omitempty"`
}

// Spec describes a network. The zero value is invalid; use MLP or SmallCNN, or fill the fields and call
// Validate.
type Spec struct {
	// Kind is KindMLP or KindCNN.
	Kind Kind `json:"kind"`
	// InputShape is the shape of one example: [D] for an MLP, [H, W, C] for a CNN. Inputs are always
	// passed flat ([B, D] with D the product of InputShape, row-major H, W, C for images).
	InputShape []int `json:"input_shape"`
	// Conv is the convolutional stack of a CNN (empty for an MLP).
	Conv []ConvLayer `json:"conv,omitempty"`
	// Hidden are the widths of the dense hidden layers (after the convolutional stack for a CNN).
	Hidden []int `json:"hidden,omitempty"`
	// Outputs is the width of the output layer (no activation on it).
	Outputs int `json:"outputs"`
	// Activation is applied after every hidden (dense or conv) layer; empty means Tanh.
	Activation Activation `json:"activation,omitempty"`
}

// MLP returns the spec of a fully connected network with inputs features, the given hidden widths (none:
// a linear model) and outputs outputs.
func MLP(inputs int, hidden []int, outputs int, act Activation) Spec {
	return Spec{Kind: KindMLP, InputShape: []int{inputs}, Hidden: append([]int(nil), hidden...),
		Outputs: outputs, Activation: act}
}

// SmallCNN returns the spec of the small image CNN used for 28×28×1 images: conv 3×3×8 → max pool 2 →
// conv 3×3×16 → max pool 2 → dense outputs (no dense hidden layer), with ReLU activations. For 28×28×1
// inputs and 10 outputs it has P = 80 + 1168 + 7850 = 9098 parameters.
func SmallCNN(height, width, channels, outputs int) Spec {
	return Spec{Kind: KindCNN, InputShape: []int{height, width, channels},
		Conv:    []ConvLayer{{Filters: 8, Kernel: 3, Pool: 2}, {Filters: 16, Kernel: 3, Pool: 2}},
		Outputs: outputs, Activation: ReLU}
}

// InputDim is D, the number of input values of one example (the product of InputShape).
func (s Spec) InputDim() int {
	d := 1
	for _, v := range s.InputShape {
		d *= v
	}
	return d
}

// activation returns the activation, with the default filled in.
func (s Spec) activation() Activation {
	if s.Activation == "" {
		return Tanh
	}
	return s.Activation
}

// Validate checks the spec and returns an error naming the bad field.
func (s Spec) Validate() error {
	switch s.Kind {
	case KindMLP:
		if len(s.InputShape) != 1 || s.InputShape[0] < 1 {
			return fmt.Errorf("nets: MLP input_shape %v, want [D] with D >= 1", s.InputShape)
		}
		if len(s.Conv) > 0 {
			return fmt.Errorf("nets: MLP with %d conv layers: use kind %q for convolutions", len(s.Conv), KindCNN)
		}
	case KindCNN:
		if len(s.InputShape) != 3 {
			return fmt.Errorf("nets: CNN input_shape %v, want [height, width, channels]", s.InputShape)
		}
		for i, v := range s.InputShape {
			if v < 1 {
				return fmt.Errorf("nets: CNN input_shape %v has non-positive axis %d", s.InputShape, i)
			}
		}
		h, w := s.InputShape[0], s.InputShape[1]
		for i, c := range s.Conv {
			if c.Filters < 1 {
				return fmt.Errorf("nets: conv layer %d has %d filters, want >= 1", i, c.Filters)
			}
			if c.Kernel < 1 || c.Kernel%2 == 0 {
				return fmt.Errorf("nets: conv layer %d has kernel %d, want an odd size >= 1 (\"same\" padding)", i, c.Kernel)
			}
			if c.Pool < 0 {
				return fmt.Errorf("nets: conv layer %d has pool %d, want 0 or more", i, c.Pool)
			}
			if p := c.Pool; p > 1 {
				h, w = h/p, w/p
				if h < 1 || w < 1 {
					return fmt.Errorf("nets: conv layer %d pools the image down to %d×%d: use less pooling", i, h, w)
				}
			}
		}
	case "":
		return fmt.Errorf("nets: spec has no kind: want %q or %q", KindMLP, KindCNN)
	default:
		return fmt.Errorf("nets: unknown kind %q: want %q or %q", s.Kind, KindMLP, KindCNN)
	}
	for i, h := range s.Hidden {
		if h < 1 {
			return fmt.Errorf("nets: hidden layer %d has width %d, want >= 1", i, h)
		}
	}
	if s.Outputs < 1 {
		return fmt.Errorf("nets: outputs=%d, want >= 1", s.Outputs)
	}
	act := s.activation()
	for _, a := range Activations {
		if a == act {
			return nil
		}
	}
	return fmt.Errorf("nets: unknown activation %q: want one of %v", s.Activation, Activations)
}

// String returns the spec as compact JSON.
func (s Spec) String() string {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Sprintf("nets.Spec(%v)", err)
	}
	return string(b)
}

// ParseSpec decodes a JSON spec and validates it.
func ParseSpec(js []byte) (Spec, error) {
	var s Spec
	if err := json.Unmarshal(js, &s); err != nil {
		return Spec{}, fmt.Errorf("nets: parsing spec: %w", err)
	}
	if err := s.Validate(); err != nil {
		return Spec{}, err
	}
	return s, nil
}
