package hmc

import (
	"fmt"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// loopFn computes from the loop-invariant consts and the carried state either the next state (body) or a
// Bool scalar saying whether to go on (cond).
type loopFn func(consts, state []*Node) []*Node

// loop repeats body while cond holds.
//
// With useWhile it builds one graph While loop (XLA). Otherwise it unrolls maxIters copies of body, each
// masked by cond (an iteration whose cond is false leaves the state as it is), which gives the same numbers
// as long as cond turns false within maxIters iterations. A While body cannot capture nodes of the enclosing
// graph: everything it reads comes through consts or state.
func loop(maxIters int, useWhile bool, consts, state []*Node, cond, body loopFn) []*Node {
	if maxIters < 1 {
		panic(fmt.Sprintf("hmc: loop with maxIters=%d, must be >= 1", maxIters))
	}
	check := func(ns []*Node) {
		if len(ns) != len(state) {
			panic(fmt.Sprintf("hmc: loop body returned %d state values, want %d", len(ns), len(state)))
		}
	}
	state = append([]*Node(nil), state...)
	if !useWhile {
		for range maxIters {
			active := cond(consts, state)[0]
			ns := body(consts, state)
			check(ns)
			for j := range state {
				state[j] = Where(BroadcastToDims(active, ns[j].Shape().Dimensions...), ns[j], state[j])
			}
		}
		return state
	}
	g := state[0].Graph()
	nc := len(consts)
	params := func(g *Graph) (c, s []*Node) {
		c = make([]*Node, nc)
		for i, x := range consts {
			c[i] = Parameter(g, fmt.Sprintf("const%d", i), x.Shape())
		}
		s = make([]*Node, len(state))
		for i, x := range state {
			s[i] = Parameter(g, fmt.Sprintf("state%d", i), x.Shape())
		}
		return
	}
	condFn := NewClosure(g, func(g *Graph) []*Node {
		c, s := params(g)
		return cond(c, s)
	})
	bodyFn := NewClosure(g, func(g *Graph) []*Node {
		c, s := params(g)
		ns := body(c, s)
		check(ns)
		return append(append([]*Node(nil), c...), ns...)
	})
	res := While(condFn, bodyFn, append(append([]*Node(nil), consts...), state...)...)
	return res[nc:]
}

// writeRow returns buf [R, ...] with row (an int32 scalar, clamped to [0, R−1]) replaced by value [...].
func writeRow(buf, row, value *Node) *Node {
	idx := []*Node{row}
	for range value.Rank() {
		idx = append(idx, Const(buf.Graph(), int32(0)))
	}
	return DynamicUpdateSlice(buf, InsertAxes(value, 0), idx)
}

// zerosConst is a constant of zeros built from a host tensor. Unlike Zeros it does not use the graph's
// scalar cache: in GoMLX v0.28.2 that cache is shared by all functions of a graph, so a cached scalar made
// in the main function and reused inside a While closure fails to build ("operands are not part of the
// function"). Code that runs before a loop in the main function must not create cached scalars (Zeros,
// MulScalar, ...).
func zerosConst(g *Graph, shape shapes.Shape) *Node {
	return Const(g, tensors.FromShape(shape))
}
