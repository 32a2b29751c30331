package data

import (
	"math"
	"slices"
	"testing"
)

func TestGapRegression(t *testing.T) {
	ds, err := GapRegression(GapOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if ds.N != 80 || ds.D != 1 || ds.T != 1 {
		t.Fatalf("shape N=%d D=%d T=%d, want 80 1 1", ds.N, ds.D, ds.T)
	}
	left := 0
	for i, x := range ds.X {
		switch {
		case x >= -2 && x <= -0.6:
			left++
		case x >= 0.6 && x <= 2:
		default:
			t.Fatalf("x[%d] = %v is not in [−2, −0.6] ∪ [0.6, 2]", i, x)
		}
	}
	if left != 40 {
		t.Fatalf("%d points on the left, want 40", left)
	}
	again, _ := GapRegression(GapOptions{Seed: 1})
	other, _ := GapRegression(GapOptions{Seed: 2})
	if !slices.Equal(ds.X, again.X) || !slices.Equal(ds.Y, again.Y) {
		t.Fatal("same seed, different toy")
	}
	if slices.Equal(ds.X, other.X) {
		t.Fatal("different seeds, same toy")
	}
	// Noise: with many points, the residuals y − sin 2x have mean ≈ 0 and std ≈ Noise (standard errors
	// 0.3/√20000 ≈ 0.002 and 0.3/√40000 ≈ 0.0015).
	big, err := GapRegression(GapOptions{N: 20000, Noise: 0.3, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	var m, sq float64
	for i := range big.X {
		r := float64(big.Y[i]) - math.Sin(2*float64(big.X[i]))
		m += r
		sq += r * r
	}
	m /= float64(big.N)
	sd := math.Sqrt(sq/float64(big.N) - m*m)
	if math.Abs(m) > 0.01 || math.Abs(sd-0.3) > 0.008 {
		t.Fatalf("residual mean %v std %v, want 0 and 0.3", m, sd)
	}
	// NoiseFree: y = sin 2x exactly (to float32).
	exact, _ := GapRegression(GapOptions{NoiseFree: true, Seed: 4})
	for i := range exact.X {
		if want := float32(math.Sin(2 * float64(exact.X[i]))); math.Abs(float64(exact.Y[i]-want)) > 1e-6 {
			t.Fatalf("noise-free y %v, want %v", exact.Y[i], want)
		}
	}
	// Custom intervals and function; odd N puts the extra point in the first interval.
	c, err := GapRegression(GapOptions{N: 5, Intervals: [][2]float64{{0, 1}, {10, 11}}, Func: func(x float64) float64 { return 2 * x }, NoiseFree: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range c.X {
		if (i < 3) != (x < 1) || c.Y[i] != 2*x {
			t.Fatalf("custom toy row %d: x %v y %v", i, x, c.Y[i])
		}
	}
	for _, bad := range []GapOptions{{N: -1}, {Noise: -0.1}, {Intervals: [][2]float64{{1, 0}}}, {Intervals: [][2]float64{}}} {
		if _, err := GapRegression(bad); err == nil {
			t.Fatalf("options %+v: want an error", bad)
		}
	}
	o := GapOptions{}
	if o.InData(0) || !o.InData(-1) || !o.InData(1.5) || o.InData(2.5) {
		t.Fatal("InData is wrong")
	}
}

func TestGrids(t *testing.T) {
	g, err := GapGrid(GapOptions{}, -3, 3, 61)
	if err != nil {
		t.Fatal(err)
	}
	if g.N != 61 || g.X[0] != -3 || g.X[60] != 3 || math.Abs(float64(g.X[30])) > 1e-7 {
		t.Fatalf("grid %v … %v (mid %v)", g.X[0], g.X[60], g.X[30])
	}
	if want := float32(math.Sin(2 * -2.9)); math.Abs(float64(g.Y[1]-want)) > 1e-6 {
		t.Fatalf("grid target %v, want sin(2·−2.9) = %v", g.Y[1], want)
	}
	inGap := 0
	for _, x := range g.X {
		if x > -0.6 && x < 0.6 {
			inGap++
		}
	}
	if inGap != 11 { // −0.5 … 0.5 in steps of 0.1
		t.Fatalf("%d grid points in the gap, want 11", inGap)
	}
	pts, err := Grid2D(0, 1, 3, 10, 20, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 10, 0.5, 10, 1, 10, 0, 20, 0.5, 20, 1, 20}
	if !slices.Equal(pts, want) {
		t.Fatalf("Grid2D = %v, want %v", pts, want)
	}
	if _, err := Grid1D(1, 1, 5); err == nil {
		t.Fatal("empty range: want an error")
	}
}

func TestTwoMoonsAndCircles(t *testing.T) {
	// Noise-free: class 0 on the upper unit half circle, class 1 on the lower one centred at (1, 0.5).
	ds, err := TwoMoons(MoonsOptions{N: 101, NoiseFree: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if c := ds.ClassCounts(); c[0] != 51 || c[1] != 50 {
		t.Fatalf("class counts %v, want [51 50]", c)
	}
	for i := range ds.N {
		x, y := float64(ds.X[2*i]), float64(ds.X[2*i+1])
		cx, cy, up := 0.0, 0.0, true
		if ds.Labels[i] == 1 {
			cx, cy, up = 1, 0.5, false
		}
		r := math.Hypot(x-cx, y-cy)
		if math.Abs(r-1) > 1e-6 || (up && y < cy-1e-6) || (!up && y > cy+1e-6) {
			t.Fatalf("point %d (%v, %v) class %d is off its moon", i, x, y, ds.Labels[i])
		}
	}
	// Labels are shuffled, not sorted.
	if slices.IsSorted(ds.Labels) {
		t.Fatal("moons are ordered by class")
	}
	a, _ := TwoMoons(MoonsOptions{Noise: 0.2, Seed: 9})
	b, _ := TwoMoons(MoonsOptions{Noise: 0.2, Seed: 9})
	c, _ := TwoMoons(MoonsOptions{Noise: 0.2, Seed: 10})
	if a.N != 200 || !slices.Equal(a.X, b.X) || !slices.Equal(a.Labels, b.Labels) || slices.Equal(a.X, c.X) {
		t.Fatal("moons are not deterministic per seed")
	}
	circ, err := Circles(MoonsOptions{N: 50, NoiseFree: true, Factor: 0.3, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i := range circ.N {
		want := 1.0
		if circ.Labels[i] == 1 {
			want = 0.3
		}
		if r := math.Hypot(float64(circ.X[2*i]), float64(circ.X[2*i+1])); math.Abs(r-want) > 1e-6 {
			t.Fatalf("circle point %d radius %v, want %v", i, r, want)
		}
	}
	if _, err := TwoMoons(MoonsOptions{N: 1}); err == nil {
		t.Fatal("N=1: want an error")
	}
	if _, err := Circles(MoonsOptions{Factor: 1.5}); err == nil {
		t.Fatal("Factor 1.5: want an error")
	}
}

// GapSpread averages over |x| < 0.4 and 0.8 ≤ |x| < 1.8 only (hand values).
func TestGapSpread(t *testing.T) {
	grid := []float32{-2, -1.5, -0.8, -0.6, -0.2, 0, 0.3, 0.5, 1, 1.9}
	spread := []float64{100, 1, 2, 100, 10, 20, 30, 100, 3, 100}
	gap, at := GapSpread(grid, spread)
	if gap != 20 || at != 2 {
		t.Errorf("GapSpread = %v, %v; want 20, 2", gap, at)
	}
	if g, _ := GapSpread([]float32{1}, []float64{1}); !math.IsNaN(g) {
		t.Errorf("no point in the gap: %v, want NaN", g)
	}
}
