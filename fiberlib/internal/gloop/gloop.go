// Package gloop runs many steps of an iterative method inside one compiled computation, so that the cost of
// one executed call is amortised over many steps.
//
// Two ways are offered, chosen per backend: a graph While loop (XLA: compact graph, fast compilation for any
// number of steps) and plain unrolling (the pure-Go backend, whose While does not support gradients inside
// the loop body in GoMLX v0.28.2). Both run the same body and give the same numbers.
//
// A While body cannot capture nodes of the enclosing graph, so everything the body reads (data, constants)
// is passed in consts and threaded through the loop unchanged.
//
// Two more GoMLX v0.28.2 pitfalls inside a While body: scalar constants are cached per graph, not per
// function, so a constant made by ZerosLike, MulScalar, Scalar... in the enclosing graph and reused in the
// body fails to build ("operands are not part of the function"): create constants inside the body, or pass
// them in consts. And a While loop cannot be nested inside another on XLA.
package gloop

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
)

// Body computes one step. step is the int32 scalar index of the step within this call (0, 1, ...);
// consts are the loop-invariant inputs; state is the loop state. It returns the new state, with the same
// shapes as state.
type Body func(step *Node, consts, state []*Node) []*Node

// UseWhile reports whether a graph While loop should be used on backend b (true for XLA), or unrolling
// (false for the pure-Go backend).
func UseWhile(b compute.Backend) bool {
	return b != nil && b.Name() != "Go Backend" && b.Name() != "go"
}

// Repeat applies body steps times to state and returns the final state. With useWhile it builds one While
// loop; otherwise it unrolls steps copies of the body into the graph (keep steps modest then).
func Repeat(steps int, useWhile bool, consts, state []*Node, body Body) []*Node {
	if steps < 1 {
		panic(fmt.Sprintf("gloop.Repeat: steps=%d, must be >= 1", steps))
	}
	if len(state) == 0 {
		panic("gloop.Repeat: empty state")
	}
	g := state[0].Graph()
	nc := len(consts)
	if !useWhile || steps == 1 {
		for i := 0; i < steps; i++ {
			state = body(Const(g, int32(i)), consts, state)
		}
		return state
	}
	params := func(g *Graph) (step *Node, c, s []*Node) {
		step = Parameter(g, "step", shapes.Make(dtypes.Int32))
		c = make([]*Node, nc)
		for i, n := range consts {
			c[i] = Parameter(g, fmt.Sprintf("const%d", i), n.Shape())
		}
		s = make([]*Node, len(state))
		for i, n := range state {
			s[i] = Parameter(g, fmt.Sprintf("state%d", i), n.Shape())
		}
		return
	}
	cond := NewClosure(g, func(g *Graph) []*Node {
		step, _, _ := params(g)
		return []*Node{LessThan(step, Const(g, int32(steps)))}
	})
	loop := NewClosure(g, func(g *Graph) []*Node {
		step, c, s := params(g)
		ns := body(step, c, s)
		if len(ns) != len(s) {
			panic(fmt.Sprintf("gloop.Repeat: body returned %d state values, want %d", len(ns), len(s)))
		}
		out := append([]*Node{AddScalar(step, 1)}, c...)
		return append(out, ns...)
	})
	init := append([]*Node{Const(g, int32(0))}, consts...)
	init = append(init, state...)
	res := While(cond, loop, init...)
	return res[1+nc:]
}
