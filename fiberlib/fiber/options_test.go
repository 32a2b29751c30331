package fiber_test

import (
	"math"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/fiber"
)

// Bad options are refused before anything runs, with a message naming the field.
func TestOptionsValidation(t *testing.T) {
	b := testBackend(t)
	lr := newLinreg(20, 3, 1, 1, 1)
	m := to32(lr.mapTheta())
	for _, c := range []struct {
		opts fiber.Options
		want string
	}{
		{fiber.Options{Particles: -1}, "Particles"},
		{fiber.Options{Tau: math.NaN()}, "Tau"},
		{fiber.Options{Eta: math.Inf(1)}, "Eta"},
		{fiber.Options{Epsilon: -1}, "Epsilon"},
		{fiber.Options{Control: "wander"}, "Control"},
		{fiber.Options{Steps: 100, RecordEvery: 7}, "RecordEvery"},
		{fiber.Options{Steps: 100, RecordEvery: 10, KeepEvery: 15}, "KeepEvery"},
		{fiber.Options{Steps: 100, RecordEvery: 10, CheckpointEvery: 15}, "CheckpointEvery"},
		{fiber.Options{Walk: []fiber.IndexRange{{Start: 2, End: 5}}}, "Walk[0]"},
		{fiber.Options{Walk: []fiber.IndexRange{{Start: 2, End: 2}}}, "Walk[0]"},
		{fiber.Options{FixedEpsilon: true, EpsilonGrowth: 0.1}, "FixedEpsilon"},
		{fiber.Options{RejectFactor: 0.5}, "RejectFactor"},
		{fiber.Options{Tau: 1, DivergeRise: 1.5}, "DivergeRise"},
	} {
		_, err := fiber.NewWalker(b, lr, m, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("options %+v: err = %v, want one naming %s", c.opts, err, c.want)
		}
	}
	bad := append([]float32(nil), m...)
	bad[1] = float32(math.NaN())
	if _, err := fiber.NewWalker(b, lr, bad, fiber.Options{}); err == nil || !strings.Contains(err.Error(), "mapTheta[1]") {
		t.Errorf("NaN in the MAP: err = %v", err)
	}
	if _, err := fiber.NewWalker(b, lr, m[:2], fiber.Options{}); err == nil || !strings.Contains(err.Error(), "parameters") {
		t.Errorf("short MAP: err = %v", err)
	}
	g := newGauss([]float64{0, 0}, [][]float64{{1, 0}, {0, 1}})
	if _, err := fiber.NewWalker(b, g, []float32{0, 0}, fiber.Options{BatchSize: 4}); err == nil || !strings.Contains(err.Error(), "BatchSize") {
		t.Errorf("minibatch without data: err = %v", err)
	}
}

// Defaults: τ = P_walk/(2n), RecordEvery the largest divisor of Steps not above Steps/50, KeepAfter Steps/2,
// ε growth on under the budget control and off under ControlNone.
func TestOptionsDefaults(t *testing.T) {
	b := testBackend(t)
	lr := newLinreg(20, 3, 1, 1, 1)
	m := to32(lr.mapTheta())
	w, err := fiber.NewWalker(b, lr, m, fiber.Options{Steps: 1000, Walk: []fiber.IndexRange{{Start: 0, End: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	s := w.Settings()
	if s.Tau != 2.0/(2*20) || s.RecordEvery != 20 || s.KeepAfter != 500 || s.Particles != 64 ||
		s.EpsilonGrowth != fiber.DefaultEpsilonGrowth || s.DivergeRise != 100*s.Tau || s.CheckpointEvery != 100 {
		t.Errorf("defaults: %+v", s)
	}
	if want := fiber.DefaultEtaFraction / s.LambdaMax; math.Abs(s.Eta-want) > 1e-12 {
		t.Errorf("η = %g, want %g/λ_max = %g", s.Eta, fiber.DefaultEtaFraction, want)
	}
	if want := fiber.DefaultEpsilonStart * math.Sqrt(2*s.Tau/s.LambdaMax); math.Abs(s.Epsilon-want) > 1e-12 {
		t.Errorf("ε = %g, want %g", s.Epsilon, want)
	}
	w, err = fiber.NewWalker(b, lr, m, fiber.Options{Steps: 1234, Control: fiber.ControlNone, Eta: 0.1, Epsilon: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	if s := w.Settings(); s.RecordEvery != 2 || s.EpsilonGrowth != 0 || s.LambdaMax != 0 {
		t.Errorf("Steps 1234 under ControlNone: RecordEvery %d (want 2, the largest divisor ≤ 24), growth %g (want 0), λ %g (want 0: not needed)",
			s.RecordEvery, s.EpsilonGrowth, s.LambdaMax)
	}
}
