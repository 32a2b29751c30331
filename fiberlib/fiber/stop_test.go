package fiber_test

import (
	"context"
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/fiberbnn/fiberbnn/fiberlib/fiber"
)

// cliffTarget is U = ½‖θ‖² + 0·√(c − θ₀): the plain quadratic where θ₀ < c, NaN (potential and gradient)
// beyond the cliff θ₀ > c.
type cliffTarget struct {
	p int
	c float64
}

func (t *cliffTarget) NumParams() int          { return t.p }
func (t *cliffTarget) NumData() int            { return 0 }
func (t *cliffTarget) Data() []*tensors.Tensor { return nil }
func (t *cliffTarget) Potential(theta *Node, _ []*Node) *Node {
	g := theta.Graph()
	e0 := make([]float32, t.p)
	e0[0] = 1
	x0 := Dot(theta, Const(g, e0)).Product() // [N]
	wall := MulScalar(Sqrt(OneMinus(MulScalar(x0, 1/t.c))), 0)
	return Add(MulScalar(ReduceSum(Square(theta), -1), 0.5), wall)
}

// Particles that reach a region where the potential is NaN are frozen at the step it happens, reported
// with that step, and excluded; the others walk exactly as on the target without the cliff.
func TestNonFiniteParticlesStopAtTheirStep(t *testing.T) {
	b := testBackend(t)
	const p, cliff, eps, eta = 3, 0.3, 0.01, 0.01
	opts := fiber.Options{Particles: 32, Steps: 300, Control: fiber.ControlNone, FixedEpsilon: true,
		Epsilon: eps, Eta: eta, Seed: 2, RecordEvery: 10}
	w, err := fiber.NewWalker(b, &cliffTarget{p: p, c: cliff}, make([]float32, p), opts)
	if err != nil {
		t.Fatal(err)
	}
	r, err := w.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ref, err := fiber.Walk(context.Background(), b, newGauss(make([]float64, p), [][]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}),
		make([]float32, p), opts)
	if err != nil {
		t.Fatal(err)
	}
	drifts := w.Drifts()
	// θ_t = d·(1 − (1−η)^t)·ε/η: the first step t whose θ₀ is beyond the cliff is where the NaN appears.
	wantStop := map[int]int{}
	for i := 0; i < 32; i++ {
		d0 := float64(drifts[i*p])
		for step := 0; step < 300; step++ {
			x := d0 * (1 - math.Pow(1-eta, float64(step))) * eps / eta
			if x > cliff {
				if x-cliff < 1e-5 || cliff-d0*(1-math.Pow(1-eta, float64(step-1)))*eps/eta < 1e-5 {
					t.Fatalf("particle %d crosses the cliff too close to a step boundary for an exact test", i)
				}
				wantStop[i] = step
				break
			}
		}
	}
	if len(wantStop) == 0 || len(wantStop) == 32 {
		t.Fatalf("test set-up: %d of 32 particles should cross the cliff, want some but not all", len(wantStop))
	}
	if len(r.Stopped) != len(wantStop) {
		t.Fatalf("%d particles stopped, want %d: %+v", len(r.Stopped), len(wantStop), r.Stopped)
	}
	for _, s := range r.Stopped {
		want, ok := wantStop[s.Particle]
		if !ok || s.Step != want || s.Reason != "non-finite" {
			t.Errorf("stop %+v: want particle crossing at step %d (ok=%v), reason non-finite", s, want, ok)
		}
	}
	if len(r.Finished)+len(r.Stopped) != 32 || r.NumSamples() != len(r.Finished) {
		t.Errorf("finished %d + stopped %d ≠ 32, or %d samples", len(r.Finished), len(r.Stopped), r.NumSamples())
	}
	// The finished particles are bit-for-bit those of the walk without the cliff.
	for k, i := range r.Finished {
		for j := 0; j < p; j++ {
			if got, want := r.Positions[k*p+j], ref.Positions[i*p+j]; got != want {
				t.Errorf("particle %d θ[%d] = %g, without the cliff %g", i, j, got, want)
			}
		}
	}
	// Stopped particles are NaN in the trace after their stop, and never averaged in.
	for _, s := range r.Stopped {
		for k, step := range r.Trace.Steps {
			v := r.Trace.Loss[k][s.Particle]
			if step > s.Step && !math.IsNaN(float64(v)) {
				t.Errorf("particle %d stopped at %d but has loss %g at record step %d", s.Particle, s.Step, v, step)
			}
		}
	}
	for k, m := range r.MeanOverFinished(r.Trace.Loss) {
		if math.IsNaN(m) {
			t.Fatalf("mean loss over finished particles is NaN at record %d", k)
		}
	}
	t.Log(r.Summary())
}

// A particle whose rise exceeds DivergeRise is stopped at that step: on U = ½‖θ‖² with θ_t = d(1 − (1−η)^t)
// (ε = η), the rise ½(1 − (1−η)^t)² passes 0.2 at the same step for every particle.
func TestDivergedParticlesStop(t *testing.T) {
	b := testBackend(t)
	const eps, eta, limit = 0.02, 0.02, 0.2
	g := newGauss(make([]float64, 2), [][]float64{{1, 0}, {0, 1}})
	r, err := fiber.Walk(context.Background(), b, g, make([]float32, 2), fiber.Options{Particles: 8, Steps: 200,
		Control: fiber.ControlNone, FixedEpsilon: true, Epsilon: eps, Eta: eta, DivergeRise: limit, RecordEvery: 20})
	if err != nil {
		t.Fatal(err)
	}
	want := -1
	for step := 0; step < 200; step++ {
		if x := 1 - math.Pow(1-eta, float64(step)); 0.5*x*x > limit {
			want = step
			break
		}
	}
	if len(r.Finished) != 0 || len(r.Stopped) != 8 {
		t.Fatalf("finished %d, stopped %d; want all 8 stopped", len(r.Finished), len(r.Stopped))
	}
	for _, s := range r.Stopped {
		if s.Step != want || s.Reason != "diverged" {
			t.Errorf("stop %+v, want step %d, reason diverged", s, want)
		}
	}
	if r.NumSamples() != 0 || len(r.Samples()) != 0 {
		t.Errorf("samples from stopped particles: %d", r.NumSamples())
	}
}
