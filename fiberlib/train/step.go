package train

import (
	"fmt"
	"math"
	"sync"

	"github.com/fiberbnn/fiberbnn/fiberlib/internal/gloop"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
)

// stepper compiles and runs calls of several optimiser steps for M members.
//
// Call inputs: theta, mom1, mom2 [M, P]; t (float32 scalar, steps taken so far); active [M] (1 for members
// still training, 0 for stopped ones, whose state is then left unchanged); bad [M] (float32: −1, or the
// 1-based step at which the member's objective or parameters first became NaN or infinite); the training
// data tensors; and, for minibatches, perm [M, steps·B] int32 (the rows of each step's batch). Outputs:
// theta, mom1, mom2, t, lossSum [M] (the sum over the call's steps of each member's minibatch objective U/n)
// and bad. A step that would make a member's objective or parameters non-finite is not applied: the member
// is frozen at its last finite state and bad records the step.
type stepper struct {
	net  *posterior.Network
	opts Options
	// totalSteps is the number of planned steps (for the learning-rate schedule).
	totalSteps int
	batch      int
	full       bool
	useWhile   bool
	backend    compute.Backend

	mu    sync.Mutex
	execs map[int]*Exec
}

func newStepper(b compute.Backend, net *posterior.Network, opts Options, batch int, useWhile bool) *stepper {
	return &stepper{net: net, opts: opts, batch: batch, full: batch >= net.NumData(), useWhile: useWhile,
		backend: b, execs: map[int]*Exec{}}
}

// exec returns the executable running steps steps per call.
func (s *stepper) exec(steps int) (*Exec, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ex, ok := s.execs[steps]; ok {
		return ex, nil
	}
	ex, err := NewExec(s.backend, func(in []*Node) []*Node { return s.build(steps, in) })
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	ex = ex.WithName(fmt.Sprintf("train.%s_%dsteps", s.opts.Optimizer, steps))
	s.execs[steps] = ex
	return ex, nil
}

func (s *stepper) build(steps int, in []*Node) []*Node {
	theta, mom1, mom2, t, active, bad, x, y := in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7]
	consts := []*Node{x, y, active}
	if !s.full {
		consts = append(consts, in[8])
	}
	// GoMLX v0.28.2 caches scalar constants per graph, not per function: a scalar (ZerosLike, MulScalar,
	// ...) first created here, in the enclosing function, and reused inside the While body fails to build.
	// So nothing here creates one: the zero loss sum is an array constant.
	zero := Const(theta.Graph(), make([]float32, active.Shape().Dimensions[0]))
	state := []*Node{theta, mom1, mom2, t, zero, bad}
	return gloop.Repeat(steps, s.useWhile, consts, state, s.body)
}

// body is one optimiser step.
func (s *stepper) body(step *Node, c, st []*Node) []*Node {
	data := []*Node{c[0], c[1]}
	if !s.full {
		data = posterior.GatherRows(data, batchRows(c[3], step, s.batch)) // [M, B, ...]
	}
	theta, mom1, mom2, t, lossSum, bad := st[0], st[1], st[2], st[3], st[4], st[5]
	obj := DivScalar(s.net.Potential(theta, data), float64(s.net.NumData())) // [M]
	grad := Gradient(ReduceAllSum(obj), theta)[0]
	o := s.opts
	t1 := AddScalar(t, 1)
	lr := s.learningRate(t) // scalar
	var newTheta, newM1, newM2 *Node
	switch o.Optimizer {
	case Adam:
		newM1 = Add(MulScalar(mom1, o.Beta1), MulScalar(grad, 1-o.Beta1))
		newM2 = Add(MulScalar(mom2, o.Beta2), MulScalar(Square(grad), 1-o.Beta2))
		bc1 := OneMinus(Exp(MulScalar(t1, math.Log(o.Beta1)))) // 1 − β1^t
		bc2 := OneMinus(Exp(MulScalar(t1, math.Log(o.Beta2))))
		if o.Beta1 == 0 {
			bc1 = OnesLike(t1)
		}
		if o.Beta2 == 0 {
			bc2 = OnesLike(t1)
		}
		mHat := Div(newM1, bc1)
		vHat := Div(newM2, bc2)
		upd := Div(mHat, AddScalar(Sqrt(vHat), o.Epsilon))
		newTheta = Sub(theta, Mul(upd, lr))
	case SGD:
		newM1 = Add(MulScalar(mom1, o.Momentum), grad)
		newM2 = mom2
		newTheta = Sub(theta, Mul(newM1, lr))
	}
	// A member moves when it is active, has not gone bad, and this step keeps it finite.
	alive := LogicalAnd(GreaterThan(c[2], ZerosLike(c[2])), LessThan(bad, ZerosLike(bad))) // [M]
	finite := LogicalAnd(IsFinite(obj), ReduceLogicalAnd(IsFinite(newTheta), -1))
	move := LogicalAnd(alive, finite)
	newBad := Where(LogicalAnd(alive, LogicalNot(finite)), BroadcastToDims(t1, bad.Shape().Dimensions...), bad)
	return []*Node{Where(move, newTheta, theta), Where(move, newM1, mom1), Where(move, newM2, mom2), t1,
		Add(lossSum, Where(move, obj, ZerosLike(obj))), newBad}
}

// learningRate returns the scalar learning rate of the step that starts after t steps.
func (s *stepper) learningRate(t *Node) *Node {
	o := s.opts
	if o.Schedule != CosineLR {
		return MulScalar(OnesLike(t), o.LearningRate)
	}
	// lr = lr₀·(f + (1−f)·½(1 + cos(π·min(t/(T−1), 1)))): lr₀ at the first step, f·lr₀ at the last.
	frac := MinScalar(MulScalar(t, 1/float64(max(1, s.totalSteps-1))), 1)
	c := MulScalar(AddScalar(Cos(MulScalar(frac, math.Pi)), 1), 0.5)
	f := o.FinalLRFraction
	return MulScalar(AddScalar(MulScalar(c, 1-f), f), o.LearningRate)
}

// batchRows returns the rows [M, B] of step's batch from perm [M, steps·B]: a static slice when the step
// index is a constant (unrolled loops), a dynamic slice inside a While loop.
func batchRows(perm, step *Node, b int) *Node {
	m := perm.Shape().Dimensions[0]
	if cv := step.ConstantValue(); cv != nil {
		i := int(cv.Value().(int32))
		return Slice(perm, AxisRange(), AxisRange(i*b, (i+1)*b))
	}
	g := perm.Graph()
	start := MulScalar(step, float64(b))
	return DynamicSlice(perm, []*Node{Const(g, int32(0)), start}, []int{m, b})
}
