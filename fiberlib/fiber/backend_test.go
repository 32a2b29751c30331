package fiber_test

import (
	"context"
	"math"
	"testing"

	"github.com/gomlx/compute"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/fiber"
)

// The pure-Go backend (unrolled steps) and XLA (While loop) walk the same way: drifts are drawn on the
// host and the minibatch rows by an integer hash of the step, so the positions agree to float32 rounding.
func TestGoBackendMatchesXLA(t *testing.T) {
	xla := testBackend(t)
	if backend.IsGo(xla) {
		t.Skip("the default backend is already the pure-Go one")
	}
	gob, err := backend.NewWithConfig("go")
	if err != nil {
		t.Fatal(err)
	}
	opts := fiber.Options{Particles: 8, Steps: 60, RecordEvery: 6, Seed: 3, Tau: 0.05, BatchSize: 10}
	var res [2]*fiber.Result
	for i, b := range []compute.Backend{xla, gob} {
		// A data tensor lives on the first backend that uses it: one target per backend (same data).
		lr := newLinreg(30, 3, 1, 1, 17)
		r, err := fiber.Walk(context.Background(), b, lr, to32(lr.mapTheta()), opts)
		if err != nil {
			t.Fatal(err)
		}
		res[i] = r
	}
	if res[0].Settings.Eta == 0 || math.Abs(res[0].Settings.Eta-res[1].Settings.Eta) > 1e-4*res[0].Settings.Eta {
		t.Errorf("automatic η: XLA %g, Go %g", res[0].Settings.Eta, res[1].Settings.Eta)
	}
	var worst float64
	for j := range res[0].Positions {
		worst = math.Max(worst, math.Abs(float64(res[0].Positions[j]-res[1].Positions[j])))
	}
	t.Logf("largest position difference XLA vs Go: %.2g", worst)
	if worst > 1e-4 {
		t.Errorf("positions differ by up to %.3g between XLA and the Go backend", worst)
	}
}
