package flow

import (
	"math"
	"math/rand/v2"
	"testing"
)

// banana draws n points of x1 = z1, x2 = z2 + b (z1² − 1), z ~ N(0, I₂). The map z → x has unit Jacobian
// determinant, so the entropy is that of N(0, I₂): log(2πe) = 2.8379 nats.
func banana(n int, b float64, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, 2*n)
	for i := 0; i < n; i++ {
		z1, z2 := rng.NormFloat64(), rng.NormFloat64()
		x[2*i], x[2*i+1] = float32(z1), float32(z2+b*(z1*z1-1))
	}
	return x
}

// The flow's held-out negative log-likelihood on the banana is within 0.1 nats of the entropy, for both
// coupling kinds (E_p[−log q] = H(p) + KL(p‖q), so this bounds the KL divergence).
func TestBananaHeldOutNLLMatchesEntropy(t *testing.T) {
	entropy := math.Log(2 * math.Pi * math.E)
	train := banana(3000, 1, 1)
	test := banana(2000, 1, 2)
	kinds := []Coupling{Mixed, Affine, Spline}
	if testing.Short() {
		kinds = kinds[:1]
	}
	for _, c := range kinds {
		f, err := Fit([]float32{0, 0}, train, SubspaceOptions{Rank: 2}, Options{Coupling: c, Seed: 3},
			TrainOptions{MaxSteps: 500, Seed: 4})
		if err != nil {
			t.Fatal(err)
		}
		lq, off, err := f.LogProb(test)
		if err != nil {
			t.Fatal(err)
		}
		nll := 0.0
		for i, v := range lq {
			nll -= float64(v)
			if off[i] > 1e-5 {
				t.Fatalf("2-D points off a 2-D subspace by %g", off[i])
			}
		}
		nll /= float64(len(lq))
		t.Logf("%s: held-out NLL %.4f vs entropy %.4f (steps %d, best valid %.4f at %d, fit %v)", c, nll, entropy,
			f.Report.Steps, f.Report.BestValidLoss, f.Report.BestStep, f.Report.Duration)
		if math.Abs(nll-entropy) > 0.1 {
			t.Errorf("%s: held-out NLL %.4f is %.3f nats from the entropy %.4f (want ≤ 0.1)", c, nll, nll-entropy, entropy)
		}
	}
}
