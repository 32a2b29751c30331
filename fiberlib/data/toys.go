package data

import (
	"fmt"
	"math"
)

// GapOptions configures GapRegression, the 1-D regression toy with a gap in the inputs. Zero fields take
// the defaults, which give the toy of the method notes: 80 points, 40 on each of [−2, −0.6] and [0.6, 2],
// y = sin 2x + N(0, 0.1²).
type GapOptions struct {
	// N is the number of points (default 80), split as evenly as possible over the intervals (the first
	// intervals get one more when N does not divide).
	N int
	// Intervals are the input ranges [lo, hi] the points are drawn from, uniformly within each
	// (default [−2, −0.6] and [0.6, 2]).
	Intervals [][2]float64
	// Func is the noise-free function (default sin 2x).
	Func func(x float64) float64
	// Noise is the standard deviation of the Gaussian noise added to y (default 0.1; see NoiseFree).
	Noise float64
	// NoiseFree sets the noise to zero (y = Func(x) exactly).
	NoiseFree bool
	// Seed seeds the draw; the same seed gives the same points.
	Seed uint64
}

// sin2x is the default function of the gap toy.
func sin2x(x float64) float64 { return math.Sin(2 * x) }

// withDefaults fills zero fields and validates the options.
func (o GapOptions) withDefaults() (GapOptions, error) {
	if o.N == 0 {
		o.N = 80
	}
	if o.Intervals == nil {
		o.Intervals = [][2]float64{{-2, -0.6}, {0.6, 2}}
	}
	if o.Func == nil {
		o.Func = sin2x
	}
	if o.Noise == 0 {
		o.Noise = 0.1
	}
	if o.NoiseFree {
		o.Noise = 0
	}
	if o.N < 1 {
		return o, fmt.Errorf("gap toy: N=%d, want at least 1", o.N)
	}
	if o.Noise < 0 || math.IsNaN(o.Noise) || math.IsInf(o.Noise, 0) {
		return o, fmt.Errorf("gap toy: Noise=%v, want a finite standard deviation ≥ 0 (NoiseFree for none)", o.Noise)
	}
	if len(o.Intervals) == 0 {
		return o, fmt.Errorf("gap toy: no intervals to draw inputs from")
	}
	for _, iv := range o.Intervals {
		if !(iv[0] < iv[1]) || math.IsInf(iv[0], 0) || math.IsInf(iv[1], 0) {
			return o, fmt.Errorf("gap toy: interval [%v, %v] is empty or unbounded: want lo < hi, both finite", iv[0], iv[1])
		}
	}
	return o, nil
}

// InData reports whether x lies in one of the intervals the inputs are drawn from (with the defaults: outside
// the gap (−0.6, 0.6) and within [−2, 2]). Useful to report uncertainty in the gap vs at the data.
func (o GapOptions) InData(x float64) bool {
	o, err := o.withDefaults()
	if err != nil {
		return false
	}
	for _, iv := range o.Intervals {
		if x >= iv[0] && x <= iv[1] {
			return true
		}
	}
	return false
}

// GapSpread averages a per-point spread over a 1-D grid (e.g. a predictive's epistemic standard deviation at
// each x of grid) in the middle of the default gap toy's gap, |x| < 0.4, and well inside its data intervals,
// 0.8 ≤ |x| < 1.8: the two numbers the in-between-uncertainty comparisons report. A region without grid
// points gives NaN.
func GapSpread(grid []float32, spread []float64) (gap, atData float64) {
	var ng, nd int
	for i, x := range grid {
		switch ax := math.Abs(float64(x)); {
		case ax < 0.4:
			gap += spread[i]
			ng++
		case ax >= 0.8 && ax < 1.8:
			atData += spread[i]
			nd++
		}
	}
	return gap / float64(ng), atData / float64(nd)
}

// GapRegression draws the 1-D regression toy with a gap in the inputs: X [N, 1], Y [N, 1], points ordered by
// interval as drawn (not sorted).
func GapRegression(opts GapOptions) (*Dataset, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	r := newRand(o.Seed)
	ds := &Dataset{Name: fmt.Sprintf("gap-toy(seed=%d)", o.Seed), Task: Regression, N: o.N, D: 1, T: 1,
		X: make([]float32, 0, o.N), Y: make([]float32, 0, o.N)}
	k := len(o.Intervals)
	for i, iv := range o.Intervals {
		m := o.N / k
		if i < o.N%k {
			m++
		}
		for range m {
			x := iv[0] + (iv[1]-iv[0])*r.Float64()
			y := o.Func(x) + o.Noise*r.NormFloat64()
			ds.X = append(ds.X, float32(x))
			ds.Y = append(ds.Y, float32(y))
		}
	}
	return ds, ds.Validate()
}

// GapGrid returns n equally spaced inputs on [lo, hi] (both included) with the noise-free targets Func(x) of
// opts: a dense test grid for plots of the predictive mean ± 2σ, covering the gap when lo < −0.6 and hi > 0.6
// (e.g. lo = −3, hi = 3).
func GapGrid(opts GapOptions, lo, hi float64, n int) (*Dataset, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	xs, err := Grid1D(lo, hi, n)
	if err != nil {
		return nil, err
	}
	ds := &Dataset{Name: "gap-grid", Task: Regression, N: n, D: 1, T: 1, X: xs, Y: make([]float32, n)}
	for i, x := range xs {
		ds.Y[i] = float32(o.Func(float64(x)))
	}
	return ds, ds.Validate()
}

// Grid1D returns n ≥ 2 equally spaced values on [lo, hi], both included.
func Grid1D(lo, hi float64, n int) ([]float32, error) {
	if n < 2 || !(lo < hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return nil, fmt.Errorf("grid: want n ≥ 2 points on a finite range lo < hi, got n=%d on [%v, %v]", n, lo, hi)
	}
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(lo + (hi-lo)*float64(i)/float64(n-1))
	}
	return xs, nil
}

// Grid2D returns the nx·ny points of a regular grid on [xlo, xhi] × [ylo, yhi], [ny·nx, 2] row-major with x
// varying fastest (point (i, j) at row j·nx + i): the inputs of a confidence map over a 2-D toy.
func Grid2D(xlo, xhi float64, nx int, ylo, yhi float64, ny int) ([]float32, error) {
	xs, err := Grid1D(xlo, xhi, nx)
	if err != nil {
		return nil, err
	}
	ys, err := Grid1D(ylo, yhi, ny)
	if err != nil {
		return nil, err
	}
	out := make([]float32, 0, 2*nx*ny)
	for _, y := range ys {
		for _, x := range xs {
			out = append(out, x, y)
		}
	}
	return out, nil
}

// MoonsOptions configures TwoMoons and Circles. Zero fields take the defaults.
type MoonsOptions struct {
	// N is the number of points (default 200), half of each class (class 0 gets the extra one when odd).
	N int
	// Noise is the standard deviation of the Gaussian noise added to each coordinate (default 0.1; see
	// NoiseFree).
	Noise float64
	// NoiseFree puts the points exactly on the curves.
	NoiseFree bool
	// Factor is the inner circle's radius relative to the outer one, for Circles (default 0.5).
	Factor float64
	// Seed seeds the draw; the same seed gives the same points.
	Seed uint64
}

func (o MoonsOptions) withDefaults(what string) (MoonsOptions, error) {
	if o.N == 0 {
		o.N = 200
	}
	if o.Noise == 0 {
		o.Noise = 0.1
	}
	if o.NoiseFree {
		o.Noise = 0
	}
	if o.Factor == 0 {
		o.Factor = 0.5
	}
	if o.N < 2 {
		return o, fmt.Errorf("%s: N=%d, want at least 2 (one per class)", what, o.N)
	}
	if o.Noise < 0 || math.IsNaN(o.Noise) || math.IsInf(o.Noise, 0) {
		return o, fmt.Errorf("%s: Noise=%v, want a finite standard deviation ≥ 0 (NoiseFree for none)", what, o.Noise)
	}
	if !(o.Factor > 0 && o.Factor < 1) {
		return o, fmt.Errorf("%s: Factor=%v, want it in (0, 1)", what, o.Factor)
	}
	return o, nil
}

// TwoMoons draws the two-moons toy: class 0 on the upper half circle (cos t, sin t), class 1 on the lower
// half circle (1 − cos t, 0.5 − sin t), t uniform on [0, π], plus Gaussian noise; X [N, 2], labels 0/1, in a
// seeded random order.
func TwoMoons(opts MoonsOptions) (*Dataset, error) {
	o, err := opts.withDefaults("two moons")
	if err != nil {
		return nil, err
	}
	return twoClassCurves(o, fmt.Sprintf("two-moons(seed=%d)", o.Seed), func(class int, t float64) (float64, float64) {
		t *= math.Pi
		if class == 0 {
			return math.Cos(t), math.Sin(t)
		}
		return 1 - math.Cos(t), 0.5 - math.Sin(t)
	})
}

// Circles draws two concentric circles: class 0 on the unit circle, class 1 on the circle of radius Factor,
// angles uniform, plus Gaussian noise; X [N, 2], labels 0/1, in a seeded random order.
func Circles(opts MoonsOptions) (*Dataset, error) {
	o, err := opts.withDefaults("circles")
	if err != nil {
		return nil, err
	}
	return twoClassCurves(o, fmt.Sprintf("circles(seed=%d)", o.Seed), func(class int, t float64) (float64, float64) {
		rad := 1.0
		if class == 1 {
			rad = o.Factor
		}
		return rad * math.Cos(2*math.Pi*t), rad * math.Sin(2*math.Pi*t)
	})
}

// twoClassCurves draws N points on two parametrised curves (t uniform on [0, 1)), adds noise and shuffles.
func twoClassCurves(o MoonsOptions, name string, curve func(class int, t float64) (float64, float64)) (*Dataset, error) {
	r := newRand(o.Seed)
	ds := &Dataset{Name: name, Task: Classification, N: o.N, D: 2, Classes: 2, X: make([]float32, 2*o.N), Labels: make([]int32, o.N)}
	order := r.Perm(o.N)
	n0 := (o.N + 1) / 2
	for i := range o.N {
		class := 0
		if i >= n0 {
			class = 1
		}
		x, y := curve(class, r.Float64())
		x += o.Noise * r.NormFloat64()
		y += o.Noise * r.NormFloat64()
		row := order[i]
		ds.X[2*row], ds.X[2*row+1] = float32(x), float32(y)
		ds.Labels[row] = int32(class)
	}
	return ds, ds.Validate()
}
