package gloop_test

import (
	"math"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/internal/gloop"
	. "github.com/gomlx/gomlx/core/graph"
)

// Gradient descent on U(θ) = Σ (θ − t)² with step 0.1 for 50 steps contracts θ − t by 0.8 per step.
func TestRepeatGradientDescentMatchesClosedForm(t *testing.T) {
	b := backend.MustNew()
	for _, useWhile := range []bool{false, gloop.UseWhile(b)} {
		exec := MustNewExec(b, func(theta, target *Node) *Node {
			return gloop.Repeat(50, useWhile, []*Node{target}, []*Node{theta},
				func(step *Node, c, s []*Node) []*Node {
					u := ReduceAllSum(Square(Sub(s[0], c[0])))
					grad := Gradient(u, s[0])[0]
					return []*Node{Sub(s[0], MulScalar(grad, 0.1))}
				})[0]
		})
		got := exec.MustCall([]float32{0, 1, 10}, []float32{3, 4, 5})[0].Value().([]float32)
		for i, th0 := range []float64{0, 1, 10} {
			tgt := []float64{3, 4, 5}[i]
			want := tgt + (th0-tgt)*math.Pow(0.8, 50)
			if math.Abs(float64(got[i])-want) > 1e-5 {
				t.Errorf("useWhile=%v: θ[%d]=%g, want %g", useWhile, i, got[i], want)
			}
		}
	}
}

// The step index counts 0..steps-1 in both modes.
func TestRepeatStepIndex(t *testing.T) {
	b := backend.MustNew()
	for _, useWhile := range []bool{false, true} {
		exec := MustNewExec(b, func(x *Node) *Node {
			return gloop.Repeat(7, useWhile && gloop.UseWhile(b), nil, []*Node{x},
				func(step *Node, _, s []*Node) []*Node {
					return []*Node{Add(s[0], ConvertDType(step, s[0].DType()))}
				})[0]
		})
		got := exec.MustCall(float32(0))[0].Value().(float32)
		if got != 21 {
			t.Errorf("useWhile=%v: sum of steps = %g, want 21", useWhile, got)
		}
	}
}
