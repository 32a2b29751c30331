package fiber_test

import (
	"context"
	"math"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/fiber"
)

// With NoiseTemperature 1 and a negligible drift, each particle runs unadjusted Langevin dynamics on the
// posterior with step h = η/n: θ ← θ − h∇U + √(2h)ξ. On a Gaussian posterior (Bayesian linear regression,
// precision A) its stationary covariance is known exactly: (A(I − hA/2))⁻¹. The particles' covariance
// after burn-in must match it (4096 particles: standard error of a variance ≈ 2.2 %).

func TestNoiseIsLangevinOnThePosterior(t *testing.T) {
	b := testBackend(t)
	lr := newLinreg(50, 2, 1, 1, 4)
	a := lr.precision()
	mu := lr.mapTheta()
	const eta = 0.1
	n := float64(lr.n)
	h := eta / n
	opts := fiber.Options{Particles: 4096, Steps: 300, RecordEvery: 50, Control: fiber.ControlNone,
		FixedEpsilon: true, Epsilon: 1e-9, Eta: eta, NoiseTemperature: 1, Seed: 1}
	r, err := fiber.Walk(context.Background(), b, lr, to32(mu), opts)
	if err != nil {
		t.Fatal(err)
	}
	// Σ = (A − hA²/2)⁻¹ for 2×2.
	m := [2][2]float64{}
	for i := 0; i < 2; i++ {
		for j := 0; j < 2; j++ {
			m[i][j] = a[i][j]
			for k := 0; k < 2; k++ {
				m[i][j] -= h / 2 * a[i][k] * a[k][j]
			}
		}
	}
	det := m[0][0]*m[1][1] - m[0][1]*m[1][0]
	want := [2][2]float64{{m[1][1] / det, -m[0][1] / det}, {-m[1][0] / det, m[0][0] / det}}
	var mean [2]float64
	np := float64(len(r.Finished))
	for k := range r.Finished {
		for j := 0; j < 2; j++ {
			mean[j] += float64(r.Positions[2*k+j]) / np
		}
	}
	var cov [2][2]float64
	for k := range r.Finished {
		for i := 0; i < 2; i++ {
			for j := 0; j < 2; j++ {
				cov[i][j] += (float64(r.Positions[2*k+i]) - mean[i]) * (float64(r.Positions[2*k+j]) - mean[j]) / (np - 1)
			}
		}
	}
	t.Logf("particle covariance %v, ULA stationary covariance %v", cov, want)
	for i := 0; i < 2; i++ {
		if math.Abs(cov[i][i]-want[i][i])/want[i][i] > 0.09 {
			t.Errorf("var[%d] = %.5g, want %.5g (±9 %%)", i, cov[i][i], want[i][i])
		}
		if se := math.Sqrt(want[i][i] / np); math.Abs(mean[i]-mu[i]) > 4*se {
			t.Errorf("mean[%d] = %.5g, want %.5g (±%.2g)", i, mean[i], mu[i], 4*se)
		}
	}
	corr := cov[0][1] / math.Sqrt(cov[0][0]*cov[1][1])
	wantCorr := want[0][1] / math.Sqrt(want[0][0]*want[1][1])
	if math.Abs(corr-wantCorr) > 0.07 {
		t.Errorf("correlation %.3f, want %.3f", corr, wantCorr)
	}
}
