package flow

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"gonum.org/v1/gonum/mat"
)

// randomArch returns an architecture whose layers are far from the identity: output layers drawn at
// outScale (1: strongly warped, 0.2: moderate), plus jitter on every parameter (biases too, so that the
// unconditional layers of r = 1 move points as well).
func randomArch(t *testing.T, coupling Coupling, r int, perm Permutation, outScale, jitter float64) (*arch, []float32) {
	t.Helper()
	o, err := Options{Coupling: coupling, Layers: 3, Hidden: []int{8}, Bins: 6, Bound: 3, Permutation: perm, Seed: 7}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	a := newArch(o, r)
	params := a.initParams(outScale)
	rng := rand.New(rand.NewPCG(11, 12))
	for i := range params {
		params[i] += float32(jitter * rng.NormFloat64())
	}
	return a, params
}

func randNormal(rng *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(scale * rng.NormFloat64())
	}
	return x
}

func toF64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// T⁻¹(T(z)) = z and the two log-determinants cancel, for both coupling kinds; z spans the spline
// interval and its identity tails (|z| up to ≈ 6 > B = 3).
//
// float32 on moderately warped maps (log-dets of a few nats), to float32 tolerance; float64 on strongly
// warped ones (log-dets down to ≈ −20 nats, where float32 inversion loses digits to conditioning: an
// error in y of 1e-7 becomes 1e-7·|dx/dy| in x), to 1e-9.
func TestInverseUndoesForward(t *testing.T) {
	b := backend.MustNew()
	for _, tc := range []struct {
		c    Coupling
		p    Permutation
		r    int
		f64  bool
		warp float64
		tol  float64
	}{
		{Affine, PermuteRandom, 5, false, 0.2, 2e-5}, {Spline, PermuteRandom, 6, false, 0.2, 2e-5},
		{Spline, PermuteReverse, 1, false, 1, 2e-5},
		{Affine, PermuteReverse, 5, true, 1, 1e-9}, {Spline, PermuteReverse, 5, true, 1, 1e-9},
	} {
		jitter := 0.05
		if tc.warp >= 1 {
			jitter = 0.2
		}
		a, params32 := randomArch(t, tc.c, tc.r, tc.p, tc.warp, jitter)
		n := 256
		z32 := randNormal(rand.New(rand.NewPCG(1, 2)), n*tc.r, 2)
		z := toF64(z32)
		exec := MustNewExec(b, func(g *Graph, in []*Node) []*Node {
			x, ldF := a.forward(in[0], in[1])
			z2, ldI := a.inverse(in[0], x)
			return []*Node{ConvertDType(x, dtypes.Float64), ConvertDType(z2, dtypes.Float64),
				ConvertDType(ldF, dtypes.Float64), ConvertDType(ldI, dtypes.Float64)}
		})
		var out []*tensors.Tensor
		if tc.f64 {
			out = exec.MustCall(toF64(params32), tensors.FromFlatDataAndDimensions(z, n, tc.r))
		} else {
			out = exec.MustCall(params32, tensors.FromFlatDataAndDimensions(z32, n, tc.r))
		}
		x := out[0].Value().([][]float64)
		z2 := out[1].Value().([][]float64)
		ldF := out[2].Value().([]float64)
		ldI := out[3].Value().([]float64)
		maxErr, maxLd, moved, minLd := 0.0, 0.0, 0.0, 0.0
		for i := 0; i < n; i++ {
			for j := 0; j < tc.r; j++ {
				zv := z[i*tc.r+j]
				maxErr = max(maxErr, math.Abs(z2[i][j]-zv)/(1+math.Abs(zv)))
				moved = max(moved, math.Abs(x[i][j]-zv))
			}
			maxLd = max(maxLd, math.Abs(ldF[i]+ldI[i])/(1+math.Abs(ldF[i])))
			minLd = min(minLd, ldF[i])
		}
		name := fmt.Sprintf("%s/%s r=%d float64=%v", tc.c, tc.p, tc.r, tc.f64)
		t.Logf("%s: max |T⁻¹(T(z)) − z|/(1+|z|) = %.2e, max |ldF + ldI|/(1+|ldF|) = %.2e, max |T(z) − z| = %.2f, min log-det %.1f",
			name, maxErr, maxLd, moved, minLd)
		if maxErr > tc.tol {
			t.Errorf("%s: inverse error %.2e > %.0e", name, maxErr, tc.tol)
		}
		if maxLd > tc.tol {
			t.Errorf("%s: forward and inverse log-dets do not cancel: %.2e > %.0e", name, maxLd, tc.tol)
		}
		if moved < 0.5 {
			t.Errorf("%s: the random flow barely moves points (max %.3f): the test would not see errors", name, moved)
		}
	}
}

// The log-determinant equals log|det J| of the map, with J by central finite differences; the graph runs
// in float64 (same code, float64 parameters) so that differences with h = 1e-5 are accurate to ~1e-9.
func TestLogDetMatchesFiniteDifferences(t *testing.T) {
	b := backend.MustNew()
	for _, c := range []Coupling{Affine, Spline} {
		r := 3
		a, params32 := randomArch(t, c, r, PermuteReverse, 0.5, 0.1)
		params := toF64(params32)
		rng := rand.New(rand.NewPCG(3, 4))
		npts := 8
		const h = 1e-5
		// Rows: for each point, the point itself and ±h along each axis.
		rows := make([]float64, 0, npts*(1+2*r)*r)
		for i := 0; i < npts; i++ {
			p := make([]float64, r)
			for j := range p {
				p[j] = 1.8 * rng.NormFloat64()
			}
			rows = append(rows, p...)
			for j := 0; j < r; j++ {
				for _, sgn := range []float64{1, -1} {
					q := append([]float64(nil), p...)
					q[j] += sgn * h
					rows = append(rows, q...)
				}
			}
		}
		m := len(rows) / r
		for _, inverse := range []bool{false, true} {
			exec := MustNewExec(b, func(g *Graph, in []*Node) []*Node {
				if inverse {
					y, ld := a.inverse(in[0], in[1])
					return []*Node{y, ld}
				}
				y, ld := a.forward(in[0], in[1])
				return []*Node{y, ld}
			})
			out := exec.MustCall(params, tensors.FromFlatDataAndDimensions(rows, m, r))
			y := out[0].Value().([][]float64)
			ld := out[1].Value().([]float64)
			worst := 0.0
			for i := 0; i < npts; i++ {
				base := i * (1 + 2*r)
				jac := mat.NewDense(r, r, nil)
				for j := 0; j < r; j++ {
					plus, minus := y[base+1+2*j], y[base+2+2*j]
					for k := 0; k < r; k++ {
						jac.Set(k, j, (plus[k]-minus[k])/(2*h))
					}
				}
				var lu mat.LU
				lu.Factorize(jac)
				logDet, _ := lu.LogDet()
				worst = max(worst, math.Abs(logDet-ld[base]))
			}
			t.Logf("%s inverse=%v: max |log|det J_fd| − logdet| = %.2e", c, inverse, worst)
			if worst > 1e-6 {
				t.Errorf("%s inverse=%v: log-det differs from finite differences by %.2e > 1e-6", c, inverse, worst)
			}
		}
	}
}

// With zero output layers every coupling is the identity: T(z) = z, log-det 0 (the training start).
func TestZeroInitIsIdentity(t *testing.T) {
	b := backend.MustNew()
	for _, c := range []Coupling{Affine, Spline} {
		o, _ := Options{Coupling: c, Layers: 2, Hidden: []int{8}}.withDefaults()
		a := newArch(o, 4)
		params := a.initParams(0)
		z := randNormal(rand.New(rand.NewPCG(5, 6)), 40, 2)
		out := MustNewExec(b, func(g *Graph, in []*Node) []*Node {
			x, ld := a.forward(in[0], in[1])
			return []*Node{x, ld}
		}).MustCall(params, tensors.FromFlatDataAndDimensions(z, 10, 4))
		x := out[0].Value().([][]float32)
		// The permutations between layers compose to the net reordering src: x[:, j] = z[:, src[j]].
		src := []int{0, 1, 2, 3}
		for _, l := range a.layers {
			if l.perm != nil {
				next := make([]int, 4)
				for j, p := range l.perm {
					next[j] = src[p]
				}
				src = next
			}
		}
		for i := range x {
			for j := range x[i] {
				if d := math.Abs(float64(x[i][j] - z[i*4+src[j]])); d > 1e-5 {
					t.Fatalf("%s: zero-initialised flow moved z[%d][%d] by %g", c, i, j, d)
				}
			}
		}
		for i, v := range out[1].Value().([]float32) {
			if math.Abs(float64(v)) > 1e-5 {
				t.Fatalf("%s: zero-initialised flow has log-det %g at row %d", c, v, i)
			}
		}
	}
}
