package fiber

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// CurveShape selects the minimum set of a CurveTarget.
type CurveShape string

const (
	// CurveRing: U = s·(‖θ − c‖² − R²)² + α/2·‖θ‖², c = (Offset, 0). The loss is minimal on a circle of radius
	// R; the weak prior picks the point nearest the origin as the MAP and raises the loss around the ring by
	// at most 2·α·Offset·R.
	CurveRing CurveShape = "ring"

	// CurveHyperbola: U = s·(a·b − 1)² + α/2·(a² + b²). The loss is minimal on the hyperbola a·b = 1; the
	// prior picks a = b as the MAP and raises the loss along the curve as α·(cosh 2u − 1), a = e^u.
	CurveHyperbola CurveShape = "hyperbola"
)

// CurveTarget is a 2-parameter toy target whose low-loss set is a curve (a "fiber"): the walk should follow
// the curve far beyond the Laplace approximation at the MAP, which only sees the tangent line. It has no
// data. Zero fields take the defaults below.
type CurveTarget struct {
	Shape     CurveShape // default CurveRing
	Stiffness float64    // s, default 1
	Prior     float64    // α, default 1 (ring) or 0.05 (hyperbola)
	Radius    float64    // R of the ring, default 2
	Offset    float64    // c_x of the ring's centre, default 0.2
}

func (c *CurveTarget) params() (shape CurveShape, s, alpha, r, off float64) {
	shape = c.Shape
	if shape == "" {
		shape = CurveRing
	}
	s, alpha, r, off = orFloat(c.Stiffness, 1), c.Prior, orFloat(c.Radius, 2), orFloat(c.Offset, 0.2)
	if alpha == 0 {
		alpha = 1
		if shape == CurveHyperbola {
			alpha = 0.05
		}
	}
	return
}

// Validate checks the parameters.
func (c *CurveTarget) Validate() error {
	shape, s, alpha, r, _ := c.params()
	if shape != CurveRing && shape != CurveHyperbola {
		return fmt.Errorf("fiber.CurveTarget: Shape %q: want %q or %q", shape, CurveRing, CurveHyperbola)
	}
	if !(s > 0) || !(alpha > 0) || !(r > 0) || math.IsInf(s+alpha+r, 0) {
		return fmt.Errorf("fiber.CurveTarget: Stiffness %g, Prior %g, Radius %g must be finite and > 0", s, alpha, r)
	}
	if shape == CurveHyperbola && alpha >= 2*s {
		return fmt.Errorf("fiber.CurveTarget: Prior %g ≥ 2·Stiffness %g: the MAP collapses to 0", alpha, 2*s)
	}
	return nil
}

// NumParams implements posterior.Target: 2.
func (c *CurveTarget) NumParams() int { return 2 }

// Data implements posterior.Target: none.
func (c *CurveTarget) Data() []*tensors.Tensor { return nil }

// NumData implements posterior.Target: 0.
func (c *CurveTarget) NumData() int { return 0 }

// Potential implements posterior.Target for theta [N, 2].
func (c *CurveTarget) Potential(theta *Node, _ []*Node) *Node {
	shape, s, alpha, r, off := c.params()
	// Coordinates by dot products rather than Slice, whose gradient (a Pad) has no gradient itself: this keeps
	// second derivatives (LambdaMax) exact.
	g := theta.Graph()
	a := Dot(theta, Const(g, []float32{1, 0})).Product() // [N]
	b := Dot(theta, Const(g, []float32{0, 1})).Product() // [N]
	prior := MulScalar(Add(Square(a), Square(b)), alpha/2)
	var fit *Node
	if shape == CurveHyperbola {
		fit = Square(AddScalar(Mul(a, b), -1))
	} else {
		fit = Square(AddScalar(Add(Square(AddScalar(a, -off)), Square(b)), -r*r))
	}
	return Add(MulScalar(fit, s), prior)
}

// Eval returns U(a, b) on the host, in float64 (for contour plots and references).
func (c *CurveTarget) Eval(a, b float64) float64 {
	shape, s, alpha, r, off := c.params()
	prior := alpha / 2 * (a*a + b*b)
	if shape == CurveHyperbola {
		return s*(a*b-1)*(a*b-1) + prior
	}
	q := (a-off)*(a-off) + b*b - r*r
	return s*q*q + prior
}

// MAP returns the minimiser of U (found by Newton's method on the symmetry line, in float64).
func (c *CurveTarget) MAP() []float32 {
	shape, s, alpha, r, off := c.params()
	if shape == CurveHyperbola {
		x := math.Sqrt(1 - alpha/(2*s))
		return []float32{float32(x), float32(x)}
	}
	// On the axis b = 0: f(a) = s·((a−off)² − r²)² + α/2·a², minimum near a = off − r.
	a := off - r
	for i := 0; i < 100; i++ {
		q := (a-off)*(a-off) - r*r
		f1 := 4*s*q*(a-off) + alpha*a
		f2 := 8*s*(a-off)*(a-off) + 4*s*q + alpha
		step := f1 / f2
		a -= step
		if math.Abs(step) < 1e-15 {
			break
		}
	}
	return []float32{float32(a), 0}
}

// Hessian returns ∇²U at (a, b), in closed form.
func (c *CurveTarget) Hessian(a, b float64) [2][2]float64 {
	shape, s, alpha, r, off := c.params()
	if shape == CurveHyperbola {
		return [2][2]float64{
			{2*s*b*b + alpha, 2 * s * (2*a*b - 1)},
			{2 * s * (2*a*b - 1), 2*s*a*a + alpha},
		}
	}
	x := a - off
	q := x*x + b*b - r*r
	return [2][2]float64{
		{8*s*x*x + 4*s*q + alpha, 8 * s * x * b},
		{8 * s * x * b, 8*s*b*b + 4*s*q + alpha},
	}
}
