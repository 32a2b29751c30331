package hmc_test

import (
	"fmt"

	"github.com/fiberbnn/fiberbnn/fiberlib/hmc"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// Sample a 2-D Gaussian with means (3, −1) and standard deviations (0.5, 2) with 4 chains.
func ExampleSample() {
	target, _ := posterior.NewGaussian([]float32{3, -1}, [][]float32{{4, 0}, {0, 0.25}})
	opts := hmc.DefaultOptions()
	opts.NumWarmup, opts.NumDraws, opts.Seed = 300, 1000, 1
	init, _ := hmc.InitAround([]float32{0, 0}, 4, 1, 1)
	res, err := hmc.Sample(target, init, opts)
	if err != nil {
		panic(err)
	}
	s := res.Summary
	fmt.Printf("mean ≈ %.0f %.0f, sd ≈ %.1f %.1f, R̂ below 1.01: %v, divergences: %d\n",
		s.Mean[0], s.Mean[1], s.SD[0], s.SD[1], s.MaxRHat < 1.01, res.NumDivergentDraws())
	// Output: mean ≈ 3 -1, sd ≈ 0.5 2.0, R̂ below 1.01: true, divergences: 0
}
