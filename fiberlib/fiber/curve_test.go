package fiber_test

import (
	"context"
	"math"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/fiber"
)

// laplaceTangent returns the smallest eigenvalue of a 2×2 symmetric H and its unit eigenvector.
func laplaceTangent(h [2][2]float64) (lam float64, v [2]float64) {
	tr, det := h[0][0]+h[1][1], h[0][0]*h[1][1]-h[0][1]*h[0][1]
	lam = tr/2 - math.Sqrt(tr*tr/4-det)
	if math.Abs(h[0][1]) > 1e-12 {
		v = [2]float64{lam - h[1][1], h[0][1]}
	} else if h[0][0] < h[1][1] {
		v = [2]float64{1, 0}
	} else {
		v = [2]float64{0, 1}
	}
	n := math.Hypot(v[0], v[1])
	return lam, [2]float64{v[0] / n, v[1] / n}
}

// On U = s(ab − 1)² + α/2(a² + b²) (the scale symmetry of a product of two weights), the walk must end on
// the low-loss curve, within its budget, at points the Laplace approximation at θ* considers far out, while
// Laplace samples along the same tangent leave the curve.
func TestCurveHyperbolaWalkStaysOnTheFiber(t *testing.T) {
	b := testBackend(t)
	c := &fiber.CurveTarget{Shape: fiber.CurveHyperbola}
	m := c.MAP()
	r, err := fiber.Walk(context.Background(), b, c, m, fiber.Options{Seed: 1, Steps: 2000})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r.Summary())
	tau := r.Settings.Tau
	if tau != 1 {
		t.Fatalf("default τ = %g, want P/2 = 1 for a 2-parameter target without data", tau)
	}
	if len(r.Finished) != 64 {
		t.Fatalf("%d of 64 particles finished: %v", len(r.Finished), r.Stopped)
	}
	a0, b0 := float64(m[0]), float64(m[1])
	u0 := c.Eval(a0, b0)
	h := c.Hessian(a0, b0)
	lam, tan := laplaceTangent(h)
	lapStd := 1 / math.Sqrt(lam)
	var lapRise, s2 float64
	var maxRise, maxFit float64
	for k := range r.Finished {
		a, bb := float64(r.Positions[2*k]), float64(r.Positions[2*k+1])
		rise := c.Eval(a, bb) - u0
		maxRise = math.Max(maxRise, rise)
		maxFit = math.Max(maxFit, math.Abs(a*bb-1))
		da, db := a-a0, bb-b0
		lapRise += 0.5 * (h[0][0]*da*da + 2*h[0][1]*da*db + h[1][1]*db*db)
		proj := da*tan[0] + db*tan[1]
		s2 += proj * proj
	}
	n := float64(len(r.Finished))
	lapRise /= n
	spread := math.Sqrt(s2 / n)
	// Laplace sample at one standard deviation along its own tangent: its true rise.
	lapPoint := c.Eval(a0+lapStd*tan[0], b0+lapStd*tan[1]) - u0
	t.Logf("max rise %.4g (τ %g), max |ab−1| %.3g; Laplace-predicted rise at the walk's points %.3g (mean); "+
		"walk RMS along the tangent %.3g vs Laplace std %.3g; true rise of the Laplace point at 1 std %.3g",
		maxRise, tau, maxFit, lapRise, spread, lapStd, lapPoint)
	if maxRise > tau*1.001 {
		t.Errorf("a particle ended %.4g above the MAP, beyond the budget τ = %g", maxRise, tau)
	}
	if lapRise < 5*tau {
		t.Errorf("mean Laplace-predicted rise at the walk's points %.3g: want ≥ 5τ (the walk should reach points the Laplace approximation puts far out)", lapRise)
	}
	if spread < 0.8*lapStd {
		t.Errorf("walk RMS displacement along the tangent %.3g, want ≥ 0.8 × the Laplace std %.3g", spread, lapStd)
	}
	if lapPoint < 10*tau {
		t.Errorf("the Laplace point at 1 std along its tangent rises only %.3g", lapPoint)
	}
}

// On a ring whose centre is off the origin, the walk slides around the ring: its spread in arc length is
// about twice the Laplace standard deviation along the tangent at θ*, every particle stays within the
// budget, and all stay in the budget's tube around the ring.
func TestCurveRingSpreadsAlongTheRing(t *testing.T) {
	b := testBackend(t)
	c := &fiber.CurveTarget{Radius: 2, Offset: 1.5, Stiffness: 5}
	m := c.MAP()
	const tau = 4.0
	r, err := fiber.Walk(context.Background(), b, c, m, fiber.Options{Seed: 1, Tau: tau, Steps: 2000})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r.Summary())
	if len(r.Finished) != 64 {
		t.Fatalf("%d of 64 particles finished: %v", len(r.Finished), r.Stopped)
	}
	a0, b0 := float64(m[0]), float64(m[1])
	lam, _ := laplaceTangent(c.Hessian(a0, b0))
	var s2, maxOff, maxRise float64
	phi0 := math.Atan2(b0, a0-1.5)
	for k := range r.Finished {
		a, bb := float64(r.Positions[2*k]), float64(r.Positions[2*k+1])
		maxRise = math.Max(maxRise, c.Eval(a, bb)-c.Eval(a0, b0))
		maxOff = math.Max(maxOff, math.Abs(math.Hypot(a-1.5, bb)-2))
		phi := math.Remainder(math.Atan2(bb, a-1.5)-phi0, 2*math.Pi)
		s2 += 4 * phi * phi
	}
	spread := math.Sqrt(s2 / float64(len(r.Finished)))
	ratio := spread * math.Sqrt(lam)
	t.Logf("RMS arc length from θ* %.3g, Laplace tangent std %.3g: ratio %.2f; max |‖θ−c‖ − R| %.3g; max rise %.3g (τ %g)",
		spread, 1/math.Sqrt(lam), ratio, maxOff, maxRise, tau)
	if ratio < 1.8 {
		t.Errorf("spread along the ring is %.2f× the Laplace std, want ≥ 1.8×", ratio)
	}
	// The budget's tube around the ring: s·(‖θ−c‖² − R²)² ≤ τ gives a radial offset ≤ √(τ/s)/(2R) ≈ 0.22.
	if maxOff > 0.25 {
		t.Errorf("a particle is %.3g off the ring, want ≤ 0.25 (the budget's tube)", maxOff)
	}
	if maxRise > tau*1.001 {
		t.Errorf("max rise %.4g beyond τ = %g", maxRise, tau)
	}
}
