package fiber_test

import (
	"context"
	"math"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/fiber"
)

// Minibatch gradients are unbiased: on Bayesian linear regression the walk with B = 20 of n = 200 rows
// fluctuates around the full-batch fixed point θ* + (ε·n/η)·A⁻¹·d, so each particle's average position
// over the last five sixths of the walk matches it: within 0.015 (the displacements are ≈ 0.3, the SGD
// fluctuation has a standard deviation ≈ 0.036 and a correlation time ≈ 20 steps, so the standard error of
// the average is ≈ 0.0035).
func TestMinibatchWalkAveragesToTheFixedPoint(t *testing.T) {
	b := testBackend(t)
	lr := newLinreg(200, 2, 1, 1, 31)
	a := lr.precision()
	mu := lr.mapTheta()
	const eps, eta = 0.015, 0.05
	opts := fiber.Options{Particles: 4, Steps: 6000, RecordEvery: 20, KeepEvery: 20, KeepAfter: 1000,
		Control: fiber.ControlNone, FixedEpsilon: true, Epsilon: eps, Eta: eta, BatchSize: 20, Seed: 6}
	w, err := fiber.NewWalker(b, lr, to32(mu), opts)
	if err != nil {
		t.Fatal(err)
	}
	r, err := w.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Finished) != 4 {
		t.Fatalf("%d of 4 particles finished: %v", len(r.Finished), r.Stopped)
	}
	drifts := w.Drifts()
	k := eps * float64(lr.n) / eta
	for i := 0; i < 4; i++ {
		d := row64(drifts, i, 2)
		x := solve(a, d)
		var avg [2]float64
		for _, s := range r.Snapshots {
			for j := 0; j < 2; j++ {
				avg[j] += float64(s.Positions[i*2+j]) / float64(len(r.Snapshots))
			}
		}
		for j := 0; j < 2; j++ {
			want := mu[j] + k*x[j]
			if math.Abs(avg[j]-want) > 0.015 {
				t.Errorf("particle %d: mean θ[%d] over %d snapshots = %.6g, full-batch fixed point %.6g (displacement %.3g)",
					i, j, len(r.Snapshots), avg[j], want, k*x[j])
			}
		}
	}
}
