package flow_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fiberbnn/fiberbnn/fiberlib/flow"
)

// Samples that vary along two directions of R⁵ (standard deviations 2 and 1) plus a little noise: the
// subspace keeps those two directions.
func ExampleFitSubspace() {
	rng := rand.New(rand.NewPCG(1, 2))
	center := make([]float32, 5)
	samples := make([]float32, 0, 200*5)
	for range 200 {
		a, b := 2*rng.NormFloat64(), rng.NormFloat64()
		for j := 0; j < 5; j++ {
			v := 0.001 * rng.NormFloat64()
			switch j {
			case 0:
				v += a
			case 3:
				v += b
			}
			samples = append(samples, float32(v))
		}
	}
	sub, err := flow.FitSubspace(center, samples, flow.SubspaceOptions{VarianceThreshold: 0.999})
	if err != nil {
		panic(err)
	}
	fmt.Printf("rank %d, variance kept %.4f\n", sub.Rank, sub.VarianceKept)
	// Output: rank 2, variance kept 1.0000
}

// Importance weights of draws from N(0, 0.3²) against N(0, 1) have a Pareto tail with shape 1 − 0.09 = 0.91
// (infinite variance): the diagnostic flags them as unreliable.
func ExampleImportanceWeights() {
	rng := rand.New(rand.NewPCG(1, 4))
	logW := make([]float64, 4000)
	for i := range logW {
		x := 0.3 * rng.NormFloat64()
		logW[i] = -0.5*x*x - (-0.5*x*x/0.09 - math.Log(0.3)) // log N(x;0,1) − log N(x;0,0.3²)
	}
	im, err := flow.ImportanceWeights(logW, true)
	if err != nil {
		panic(err)
	}
	fmt.Printf("k̂ ≈ %.1f, reliable: %v\n", im.ParetoK, im.Reliable())
	// Output: k̂ ≈ 0.9, reliable: false
}
