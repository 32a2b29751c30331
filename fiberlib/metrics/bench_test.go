package metrics

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkECE: 10,000 points × 10 classes.
func BenchmarkECE(b *testing.B) {
	const n, c = 10000, 10
	rng := rand.New(rand.NewPCG(1, 2))
	probs := make([]float64, n*c)
	labels := make([]int32, n)
	for i := 0; i < n; i++ {
		var sum float64
		for k := 0; k < c; k++ {
			probs[i*c+k] = rng.Float64()
			sum += probs[i*c+k]
		}
		for k := 0; k < c; k++ {
			probs[i*c+k] /= sum
		}
		labels[i] = int32(rng.IntN(c))
	}
	for b.Loop() {
		if _, err := ECE(probs, c, labels); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAUROC: 10,000 in-distribution and 10,000 OOD scores.
func BenchmarkAUROC(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	neg, pos := make([]float64, 10000), make([]float64, 10000)
	for i := range neg {
		neg[i], pos[i] = rng.NormFloat64(), rng.NormFloat64()+0.5
	}
	for b.Loop() {
		if _, err := AUROC(neg, pos); err != nil {
			b.Fatal(err)
		}
	}
}
