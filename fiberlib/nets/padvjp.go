package nets

import (
	"fmt"
	"reflect"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
)

// GoMLX v0.28.2 defines no gradient for Pad, and the gradient of Slice is a Pad. So a graph that slices
// (every network here: θ is sliced into weight tensors) can be differentiated once but not twice, and
// Hessian-vector products fail. This file registers the missing rule in GoMLX's VJP table when the
// package is loaded (only if GoMLX has none): the adjoint of Pad with respect to its operand is the
// (strided) slice of the adjoint at the operand's positions; with respect to the scalar fill value it is
// the sum of the adjoint over the padded positions. Slice's gradient is then differentiable to any order.
//
// GoMLX keeps the padding configuration in an unexported field of the node; it is read with reflection
// (read-only). If a future GoMLX renames it, padConfig panics with a message saying so.
func init() {
	if _, ok := graph.VJPRegistration[graph.NodeTypePad]; !ok {
		graph.VJPRegistration[graph.NodeTypePad] = padVJP
	}
}

// padConfig reads the PadAxis configuration of a Pad node.
func padConfig(node *graph.Node) []compute.PadAxis {
	fail := func(what string) {
		panic(fmt.Sprintf("nets: cannot read the padding of %s (%s): GoMLX's Pad node layout changed; "+
			"second-order gradients through Slice need an update of fiberlib/nets/padvjp.go", node, what))
	}
	rv := reflect.ValueOf(node).Elem().FieldByName("inputs")
	if !rv.IsValid() {
		fail("no inputs field")
	}
	rv = rv.Elem()
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		fail("inputs is not a struct")
	}
	ac := rv.FieldByName("axesConfig")
	if !ac.IsValid() || ac.Kind() != reflect.Slice {
		fail("no axesConfig slice")
	}
	out := make([]compute.PadAxis, ac.Len())
	for i := range out {
		e := ac.Index(i)
		out[i] = compute.PadAxis{Start: int(e.FieldByName("Start").Int()), End: int(e.FieldByName("End").Int()),
			Interior: int(e.FieldByName("Interior").Int())}
	}
	return out
}

// padVJP is the vector-Jacobian product of Pad(x, fill, config) for the adjoint v of its output.
func padVJP(node *graph.Node, vjpOutputs []*graph.Node, _ shapes.Shape) []*graph.Node {
	v := vjpOutputs[0]
	x := node.Inputs()[0]
	cfg := padConfig(node)
	specs := make([]graph.SliceAxisSpec, x.Rank())
	for i := range specs {
		c := cfg[i]
		d := x.Shape().Dimensions[i]
		if c.Start < 0 || c.End < 0 || c.Interior < 0 {
			panic(fmt.Sprintf("nets: gradient of Pad with negative padding %+v is not supported", c))
		}
		specs[i] = graph.AxisRange(c.Start, c.Start+(d-1)*(c.Interior+1)+1).Stride(c.Interior + 1)
	}
	gx := graph.Slice(v, specs...)
	gFill := graph.Sub(graph.ReduceAllSum(v), graph.ReduceAllSum(gx))
	return []*graph.Node{gx, graph.ConvertDType(gFill, node.Inputs()[1].DType())}
}
