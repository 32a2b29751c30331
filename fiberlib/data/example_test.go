package data_test

import (
	"fmt"

	"github.com/fiberbnn/fiberbnn/fiberlib/data"
)

// Standardise a training split, then report a metric in the targets' original units.
func ExampleStandardize() {
	train := &data.Dataset{Name: "t", Task: data.Regression, N: 3, D: 1, T: 1,
		X: []float32{1, 2, 3}, Y: []float32{10, 20, 30}}
	s, out, err := data.Standardize(train)
	if err != nil {
		panic(err)
	}
	fmt.Printf("X %.4f\nY %.4f\n", out[0].X, out[0].Y)
	fmt.Printf("target shift %.0f, scale %.4f\n", s.TargetShift(0), s.TargetScale(0))
	// A per-point NLL of 1.0 nat on standardised targets is 1 + log(8.1650) nats in original units.
	fmt.Printf("NLL %.4f\n", s.NLLToOriginal(1.0))
	// Output:
	// X [-1.2247 0.0000 1.2247]
	// Y [-1.2247 0.0000 1.2247]
	// target shift 20, scale 8.1650
	// NLL 3.0999
}

// The 1-D regression toy with a gap in the inputs, and a test grid through the gap.
func ExampleGapRegression() {
	ds := data.Must(data.GapRegression(data.GapOptions{Seed: 1}))
	grid := data.Must(data.GapGrid(data.GapOptions{}, -3, 3, 601))
	inGap := 0
	for _, x := range grid.X {
		if !(data.GapOptions{}).InData(float64(x)) && x > -2 && x < 2 {
			inGap++
		}
	}
	fmt.Println(ds.N, ds.D, grid.N, inGap)
	// Output:
	// 80 1 601 119
}

// Load split 0 of a UCI regression set from the reference data directory and standardise it with the
// training split's statistics.
func ExampleLoadUCIRegression() {
	dir := data.MustDir()
	train, test := data.Must2(data.LoadUCIRegression(dir, "bostonHousing", 0))
	s, out, err := data.Standardize(train, test)
	if err != nil {
		panic(err)
	}
	fmt.Println(out[0].N, out[1].N, s.TargetScale(0) > 0)
}
