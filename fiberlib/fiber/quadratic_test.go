package fiber_test

import (
	"context"
	"math"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/fiber"
)

// checkFixedPoint asserts that every finished particle sits at mu + c_i·A⁻¹d_i, with c_i from coef.
func checkFixedPoint(t *testing.T, w *fiber.Walker, r *fiber.Result, a [][]float64, mu []float64,
	coef func(ainvd, d []float64) float64, tol float64) {
	t.Helper()
	p := len(mu)
	drifts := w.Drifts()
	if len(r.Finished) != r.Particles {
		t.Fatalf("%d of %d particles finished; stopped: %+v", len(r.Finished), r.Particles, r.Stopped)
	}
	var worst float64
	for k, i := range r.Finished {
		d := row64(drifts, i, p)
		ainvd := solve(a, d)
		c := coef(ainvd, d)
		got := row64(r.Positions, k, p)
		var scale float64
		for j := range got {
			scale = math.Max(scale, math.Abs(c*ainvd[j]))
		}
		for j := range got {
			want := mu[j] + c*ainvd[j]
			err := math.Abs(got[j]-want) / scale
			worst = math.Max(worst, err)
			if err > tol {
				t.Errorf("particle %d, θ[%d] = %.7g, want %.7g (displacement error %.2g of its size)", i, j, got[j], want, err)
			}
		}
	}
	t.Logf("worst relative displacement error %.2g (tolerance %g)", worst, tol)
}

// Paper's rule on U = ½(θ−μ)ᵀA(θ−μ) (no data: ℓ = U): the walk converges to μ + (ε/η)·A⁻¹·d.
func TestQuadraticFixedPointGaussian(t *testing.T) {
	b := testBackend(t)
	a := randomSPD([]float64{1, 2, 3, 4}, 7)
	mu := []float64{0.5, -1, 2, 0.25}
	g := newGauss(mu, a)
	const eps, eta = 0.01, 0.2
	opts := fiber.Options{Particles: 8, Steps: 400, Control: fiber.ControlNone, FixedEpsilon: true,
		Epsilon: eps, Eta: eta, Seed: 3}
	w, err := fiber.NewWalker(b, g, to32(mu), opts)
	if err != nil {
		t.Fatal(err)
	}
	r, err := w.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkFixedPoint(t, w, r, a, mu, func(_, _ []float64) float64 { return eps / eta }, 1e-4)

	// Diagnostics at the fixed point: ∇ℓ = A·Δ = (ε/η)·d, so the gradient is parallel to the drift
	// (tangent share 0), nothing moves (progress 0), ‖∇ℓ‖ = ε/η, ℓ − ℓ* = ½(ε/η)²·dᵀA⁻¹d, ‖Δ‖ = (ε/η)‖A⁻¹d‖.
	last := len(r.Trace.Steps) - 1
	if r.Trace.Steps[last] != 400 || len(r.Trace.Steps) != 50 {
		t.Fatalf("trace has %d records ending at step %d, want 50 ending at 400", len(r.Trace.Steps), r.Trace.Steps[last])
	}
	drifts := w.Drifts()
	for i := 0; i < r.Particles; i++ {
		d := row64(drifts, i, 4)
		ainvd := solve(a, d)
		var q, nn float64
		for j := range d {
			q += d[j] * ainvd[j]
			nn += ainvd[j] * ainvd[j]
		}
		k := eps / eta
		checks := []struct {
			name      string
			got, want float64
			tol       float64
		}{
			{"loss rise", float64(r.Trace.Loss[last][i]) - r.LossMAP, 0.5 * k * k * q, 1e-3},
			{"distance", float64(r.Trace.Distance[last][i]), k * math.Sqrt(nn), 1e-4},
			{"gradient norm", float64(r.Trace.GradNorm[last][i]), k, 1e-4},
			{"tangent share", float64(r.Trace.Tangent[last][i]), 0, 2e-3},
			{"progress", float64(r.Trace.Progress[last][i]), 0, 1e-3},
			{"gate", float64(r.Trace.Gate[last][i]), 1, 0},
		}
		for _, c := range checks {
			scale := math.Max(math.Abs(c.want), 1)
			if math.Abs(c.got-c.want) > c.tol*scale {
				t.Errorf("particle %d: %s = %.6g, want %.6g", i, c.name, c.got, c.want)
			}
		}
	}
	// The first record, after 8 steps from θ*: progress = (Δ_8·d)/(8ε) with Δ_{t+1} = Δ_t + εd − ηAΔ_t.
	for i := 0; i < r.Particles; i++ {
		d := row64(drifts, i, 4)
		delta := make([]float64, 4)
		for step := 0; step < 8; step++ {
			next := make([]float64, 4)
			for j := range delta {
				next[j] = delta[j] + eps*d[j]
				for l := range delta {
					next[j] -= eta * a[j][l] * delta[l]
				}
			}
			delta = next
		}
		var want float64
		for j := range d {
			want += delta[j] * d[j] / (8 * eps)
		}
		if got := float64(r.Trace.Progress[0][i]); math.Abs(got-want) > 1e-3 {
			t.Errorf("particle %d: progress over the first 8 steps %.5g, want %.5g", i, got, want)
		}
	}
}

// With data, the gradient is of the per-datum loss ℓ = U/n: the fixed point is θ* + (ε·n/η)·A⁻¹·d, with A
// the Hessian of U (Bayesian linear regression, A = XᵀX/σ² + αI).
func TestQuadraticFixedPointPerDatumConvention(t *testing.T) {
	b := testBackend(t)
	lr := newLinreg(50, 3, 1, 1, 11)
	a := lr.precision()
	mu := lr.mapTheta()
	const eps, eta = 1e-3, 0.3
	opts := fiber.Options{Particles: 6, Steps: 400, Control: fiber.ControlNone, FixedEpsilon: true,
		Epsilon: eps, Eta: eta, Seed: 5}
	w, err := fiber.NewWalker(b, lr, to32(mu), opts)
	if err != nil {
		t.Fatal(err)
	}
	r, err := w.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkFixedPoint(t, w, r, a, mu, func(_, _ []float64) float64 { return eps * float64(lr.n) / eta }, 2e-3)
}

// Only the walking parameters move: with Walk = [1, 3) the fixed point is θ*_S + (ε·n/η)·(A_SS)⁻¹·d_S and
// θ_0 stays at θ*_0 exactly.
func TestSubsetWalkFixedPoint(t *testing.T) {
	b := testBackend(t)
	lr := newLinreg(50, 3, 1, 1, 11)
	a := lr.precision()
	mu := lr.mapTheta()
	const eps, eta = 1e-3, 0.3
	opts := fiber.Options{Particles: 4, Steps: 400, Control: fiber.ControlNone, FixedEpsilon: true,
		Epsilon: eps, Eta: eta, Seed: 5, Walk: []fiber.IndexRange{{Start: 1, End: 3}}}
	w, err := fiber.NewWalker(b, lr, to32(mu), opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Settings().WalkParams; got != 2 {
		t.Fatalf("WalkParams = %d, want 2", got)
	}
	r, err := w.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ass := [][]float64{{a[1][1], a[1][2]}, {a[2][1], a[2][2]}}
	drifts := w.Drifts()
	k := eps * float64(lr.n) / eta
	for i := 0; i < 4; i++ {
		d := row64(drifts, i, 3)
		if d[0] != 0 || math.Abs(d[1]*d[1]+d[2]*d[2]-1) > 1e-6 {
			t.Fatalf("particle %d drift %v: want 0 outside the walking set and unit length inside", i, d)
		}
		got := row64(r.Positions, i, 3)
		if got[0] != float64(float32(mu[0])) {
			t.Errorf("particle %d: θ_0 = %.9g moved from θ*_0 = %.9g", i, got[0], float32(mu[0]))
		}
		x := solve(ass, d[1:])
		for j := 0; j < 2; j++ {
			want := mu[j+1] + k*x[j]
			if math.Abs(got[j+1]-want) > 2e-3*math.Abs(k*x[j])+1e-6 {
				t.Errorf("particle %d: θ_%d = %.6g, want %.6g", i, j+1, got[j+1], want)
			}
		}
	}
}

// Budget control, fixed ε: the drift is scaled by s = 1 − r/τ, so the fixed point is μ + c·A⁻¹d with
// c = k·(1 − c²q/τ), k = ε/η, q = dᵀA⁻¹d/2: the positive root of (kq/τ)c² + c − k = 0.
func TestBudgetFixedPointGaussian(t *testing.T) {
	b := testBackend(t)
	a := randomSPD([]float64{1, 1.5, 2.5, 4}, 9)
	mu := []float64{0, 1, -1, 0}
	g := newGauss(mu, a)
	const eps, eta, tau = 0.1, 0.05, 0.1
	opts := fiber.Options{Particles: 8, Steps: 600, FixedEpsilon: true, Epsilon: eps, Eta: eta, Tau: tau, Seed: 4}
	w, err := fiber.NewWalker(b, g, to32(mu), opts)
	if err != nil {
		t.Fatal(err)
	}
	r, err := w.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	k := eps / eta
	checkFixedPoint(t, w, r, a, mu, func(ainvd, d []float64) float64 {
		var q float64
		for j := range d {
			q += d[j] * ainvd[j] / 2
		}
		aa := k * q / tau
		return (-1 + math.Sqrt(1+4*aa*k)) / (2 * aa)
	}, 1e-3)
	// Without the budget the same ε/η would have gone 1/(1 − r/τ) further: check the control is binding.
	for i, rise := range r.FinalRise() {
		if rise > tau || rise < 0.5*tau {
			t.Errorf("particle %d: rise %.4g, want in [τ/2, τ] = [%g, %g]", r.Finished[i], rise, tau/2, tau)
		}
	}
}

// The power iteration finds λ_max of the per-datum Hessian A/n.
func TestLambdaMax(t *testing.T) {
	b := testBackend(t)
	a := randomSPD([]float64{0.5, 1, 2, 8}, 13)
	g := newGauss(make([]float64, 4), a)
	lam, err := fiber.LambdaMax(b, g, make([]float32, 4), nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(lam-8)/8 > 1e-3 {
		t.Errorf("λ_max = %.6g, want 8", lam)
	}
	lr := newLinreg(40, 3, 0.5, 2, 3)
	lam, err = fiber.LambdaMax(b, lr, to32(lr.mapTheta()), nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := maxEig(lr.precision()) / float64(lr.n)
	if math.Abs(lam-want)/want > 1e-3 {
		t.Errorf("linreg λ_max(A/n) = %.6g, want %.6g", lam, want)
	}
	// Restricted to parameter 0 only, it is A[0][0]/n.
	lam, err = fiber.LambdaMax(b, lr, to32(lr.mapTheta()), []float32{1, 0, 0}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := lr.precision()[0][0] / float64(lr.n); math.Abs(lam-want)/want > 1e-4 {
		t.Errorf("masked λ_max = %.6g, want A₀₀/n = %.6g", lam, want)
	}
}

// maxEig returns the largest eigenvalue of a symmetric matrix (power iteration in float64).
func maxEig(a [][]float64) float64 {
	n := len(a)
	v := make([]float64, n)
	for i := range v {
		v[i] = 1 + float64(i)*0.1
	}
	var lam float64
	for it := 0; it < 2000; it++ {
		w := make([]float64, n)
		for i := range a {
			for j := range a[i] {
				w[i] += a[i][j] * v[j]
			}
		}
		var nn, dot float64
		for i := range w {
			nn += w[i] * w[i]
			dot += w[i] * v[i]
		}
		lam = dot
		for i := range w {
			v[i] = w[i] / math.Sqrt(nn)
		}
	}
	return lam
}
