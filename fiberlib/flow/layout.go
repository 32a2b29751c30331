package flow

import (
	"math"
	"math/rand/v2"

	. "github.com/gomlx/gomlx/core/graph"
)

// block is one named tensor inside a flat parameter vector.
type block struct {
	offset int
	dims   []int
}

func (b block) size() int {
	n := 1
	for _, d := range b.dims {
		n *= d
	}
	return n
}

// take slices block b out of the flat parameter vector params [nParams] and gives it its shape.
func (b block) take(params *Node) *Node {
	return Reshape(Slice(params, AxisRange(b.offset, b.offset+b.size())), b.dims...)
}

// layout hands out consecutive blocks of a flat parameter vector.
type layout struct{ n int }

func (l *layout) add(dims ...int) block {
	b := block{offset: l.n, dims: dims}
	l.n += b.size()
	return b
}

// dense is one fully connected layer: y = x W + b, W [in, out], b [out].
type dense struct {
	w, b    block
	in, out int
}

// mlp is a small fully connected network with tanh hidden activations and a linear output layer.
type mlp struct{ layers []dense }

// newMLP lays out a network in → hidden... → out.
func newMLP(l *layout, in int, hidden []int, out int) mlp {
	var m mlp
	prev := in
	for _, h := range append(append([]int(nil), hidden...), out) {
		m.layers = append(m.layers, dense{w: l.add(prev, h), b: l.add(h), in: prev, out: h})
		prev = h
	}
	return m
}

// apply evaluates the network for x [N, in] and returns [N, out].
func (m mlp) apply(params, x *Node) *Node {
	h := x
	for i, d := range m.layers {
		h = Add(Dot(h, d.w.take(params)).Product(), ExpandAxes(d.b.take(params), 0))
		if i < len(m.layers)-1 {
			h = Tanh(h)
		}
	}
	return h
}

// init writes initial values into params: hidden weights N(0, 1/in) (LeCun, suited to tanh), biases zero,
// and the output layer scaled by outScale (0 makes the network output exactly zero at the start).
func (m mlp) init(params []float32, rng *rand.Rand, outScale float64) {
	for i, d := range m.layers {
		sd := 1 / math.Sqrt(float64(d.in))
		if i == len(m.layers)-1 {
			sd *= outScale
		}
		w := params[d.w.offset : d.w.offset+d.w.size()]
		for j := range w {
			w[j] = float32(sd * rng.NormFloat64())
		}
		clear(params[d.b.offset : d.b.offset+d.b.size()])
	}
}
