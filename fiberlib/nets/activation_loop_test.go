package nets_test

import (
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/internal/gloop"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	. "github.com/gomlx/gomlx/core/graph"
)

// Activations are used both before and inside a While loop body in one graph (the walk does this): every
// activation must build there (GoMLX caches scalar constants per graph, not per function).
func TestActivationsInsideWhileAfterOutside(t *testing.T) {
	b := backend.MustNew()
	for _, act := range []nets.Activation{nets.Tanh, nets.ReLU, nets.GELU, nets.Sigmoid, nets.Softplus, nets.SiLU} {
		exec := MustNewExec(b, func(x *Node) *Node {
			outside := act.Apply(x)
			inside := gloop.Repeat(3, gloop.UseWhile(b), nil, []*Node{x}, func(_ *Node, _, s []*Node) []*Node {
				return []*Node{act.Apply(s[0])}
			})[0]
			return Add(outside, inside)
		})
		if _, err := exec.Call([]float32{-1, 0.5, 2}); err != nil {
			t.Errorf("%s: %v", act, err)
		}
	}
}
