package fiber

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
)

// Both Hessian-vector products of the power iteration (exact, and the central-difference fallback for
// targets whose ops lack second derivatives) find λ_max of the curve target's closed-form Hessian.
func TestPowerIterationExactAndFiniteDifferences(t *testing.T) {
	b := backend.MustNew()
	for _, c := range []*CurveTarget{{Shape: CurveHyperbola}, {}} {
		m := c.MAP()
		h := c.Hessian(float64(m[0]), float64(m[1]))
		tr, det := h[0][0]+h[1][1], h[0][0]*h[1][1]-h[0][1]*h[0][1]
		want := tr/2 + math.Sqrt(tr*tr/4-det)
		v0 := tensors.FromFlatDataAndDimensions([]float32{1, 0.3, -0.2, 1, 0.5, 0.5, 1, -1}, lambdaProbes, 2)
		for _, exact := range []bool{true, false} {
			lam, err := powerIteration(b, c, nil, []any{m, []float32{1, 1}, v0}, exact)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(lam-want)/want > 2e-3 {
				t.Errorf("%s, exact=%v: λ_max = %.6g, want %.6g", c.Shape, exact, lam, want)
			}
		}
	}
}
