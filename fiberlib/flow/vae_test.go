package flow

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// On probabilistic-PCA data x = W z + 0.3 ε in R⁴ (W with orthogonal columns, so the exact posterior of z
// is a diagonal Gaussian that the encoder can represent), the VAE's held-out negative ELBO approaches the
// entropy ½ log det(2πe Σ), Σ = W Wᵀ + 0.09 I (the bound is tight at the optimum), and draws with decoder
// noise reproduce Σ.
func TestVAEOnProbabilisticPCA(t *testing.T) {
	w := mat.NewDense(4, 2, []float64{2, 0, 0, 1, 1, 0, 0, -1}) // columns orthogonal
	const noise = 0.3
	n := 3000
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 4*n)
	for i := 0; i < n; i++ {
		z1, z2 := rng.NormFloat64(), rng.NormFloat64()
		for j := 0; j < 4; j++ {
			x[4*i+j] = float32(w.At(j, 0)*z1 + w.At(j, 1)*z2 + noise*rng.NormFloat64())
		}
	}
	var sigma mat.Dense
	sigma.Mul(w, w.T())
	for j := 0; j < 4; j++ {
		sigma.Set(j, j, sigma.At(j, j)+noise*noise)
	}
	entropy := 0.5 * (4*math.Log(2*math.Pi*math.E) + math.Log(mat.Det(&sigma)))
	v, err := FitVAE(make([]float32, 4), x, SubspaceOptions{Rank: 3 + 1}, VAEOptions{Latent: 2, Hidden: []int{32}, Seed: 3},
		TrainOptions{MaxSteps: 1500, LearningRate: 3e-3, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held-out −ELBO %.4f vs entropy %.4f (steps %d, best at %d, %v)", v.Report.BestValidLoss, entropy, v.Report.Steps, v.Report.BestStep, v.Report.Duration)
	if d := v.Report.BestValidLoss - entropy; d < -0.1 || d > 0.15 {
		t.Errorf("held-out −ELBO %.4f is %.3f nats from the entropy %.4f (want within [−0.1, 0.15]: a bound, up to held-out noise)", v.Report.BestValidLoss, d, entropy)
	}
	theta, _, err := v.Sample(20000, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	var cov mat.Dense
	cov.Mul(mat.NewDense(20000, 4, toF64(theta)).T(), mat.NewDense(20000, 4, toF64(theta)))
	cov.Scale(1.0/20000, &cov)
	var diff mat.Dense
	diff.Sub(&cov, &sigma)
	rel := mat.Norm(&diff, 2) / mat.Norm(&sigma, 2)
	t.Logf("‖Cov(samples) − Σ‖/‖Σ‖ = %.3f", rel)
	if rel > 0.1 {
		t.Errorf("VAE draws have covariance off by %.3f (relative, spectral norm)", rel)
	}
}
