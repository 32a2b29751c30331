package predict

import (
	"math/rand/v2"
	"testing"
)

func randomFloats(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64())
	}
	return out
}

// BenchmarkAverageSoftmax: 100 samples × 10,000 points × 10 classes (a Fashion-MNIST test set).
func BenchmarkAverageSoftmax(b *testing.B) {
	const s, n, c = 100, 10000, 10
	logits := randomFloats(s*n*c, 1)
	for b.Loop() {
		if _, err := AverageSoftmax(logits, s, n, c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRegressionNLL: 100 samples × 1,000 points, heteroscedastic σ.
func BenchmarkRegressionNLL(b *testing.B) {
	const s, n = 100, 1000
	means := randomFloats(s*n, 2)
	sigma := make([]float32, s*n)
	for i := range sigma {
		sigma[i] = 0.5
	}
	y := randomFloats(n, 3)
	r, err := NewRegression(means, sigma, s, n)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := r.NLL(y); err != nil {
			b.Fatal(err)
		}
	}
}
