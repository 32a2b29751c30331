package posterior

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
)

// Surface is a 2-D section of the potential: U[j][i] = U(center + A[i]·u + B[j]·v).
type Surface struct {
	A, B []float64
	U    [][]float64 // [len(B)][len(A)]
}

// MaxSlicePoints is the largest number of grid points LossSlice evaluates in one compiled call; larger
// grids are split into equal chunks.
var MaxSlicePoints = 4096

// LossSlice evaluates the potential on the grid center + a·u + b·v for every a in as and b in bs, with the
// grid points on the particle axis: one compiled call for grids up to MaxSlicePoints points.
func LossSlice(ev *Evaluator, center, u, v []float32, as, bs []float64) (*Surface, error) {
	p := ev.target.NumParams()
	if len(center) != p || len(u) != p || len(v) != p {
		return nil, fmt.Errorf("posterior.LossSlice: center, u, v have %d, %d, %d values, want P=%d each", len(center), len(u), len(v), p)
	}
	if len(as) == 0 || len(bs) == 0 {
		return nil, fmt.Errorf("posterior.LossSlice: empty grid (%d × %d)", len(as), len(bs))
	}
	g := len(as) * len(bs)
	chunk := min(g, MaxSlicePoints)
	calls := (g + chunk - 1) / chunk
	chunk = (g + calls - 1) / calls // equal-sized calls: one compilation
	thetas := make([]float32, chunk*p)
	vals := make([]float64, 0, g)
	for start := 0; start < g; start += chunk {
		for c := 0; c < chunk; c++ {
			k := min(start+c, g-1) // pad the last chunk by repeating the last point
			a, b := as[k%len(as)], bs[k/len(as)]
			row := thetas[c*p : (c+1)*p]
			for j := range row {
				row[j] = float32(float64(center[j]) + a*float64(u[j]) + b*float64(v[j]))
			}
		}
		us, err := ev.Potential(thetas)
		if err != nil {
			return nil, fmt.Errorf("posterior.LossSlice: %w", err)
		}
		for c := 0; c < chunk && start+c < g; c++ {
			vals = append(vals, float64(us[c]))
		}
	}
	s := &Surface{A: append([]float64(nil), as...), B: append([]float64(nil), bs...), U: make([][]float64, len(bs))}
	for j := range s.U {
		s.U[j] = vals[j*len(as) : (j+1)*len(as)]
	}
	return s, nil
}

// Linspace returns n evenly spaced values from lo to hi inclusive.
func Linspace(lo, hi float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		if n == 1 {
			out[i] = lo
		} else {
			out[i] = lo + (hi-lo)*float64(i)/float64(n-1)
		}
	}
	return out
}

// RandomDirection returns a unit vector [p] with uniformly random orientation (a normalised Gaussian
// draw) from the given seed.
func RandomDirection(p int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0xd1ec))
	d := make([]float64, p)
	for i := range d {
		d[i] = rng.NormFloat64()
	}
	n := math.Sqrt(dot(d, d))
	out := make([]float32, p)
	for i := range d {
		out[i] = float32(d[i] / n)
	}
	return out
}

// FilterNormalize rescales direction d tensor by tensor so that each named tensor's part of d has the
// same norm as that tensor in theta (the "filter normalisation" of Li et al. 2018 for loss-landscape
// plots, here per weight tensor), making slices of networks with different weight scales comparable.
// Tensors of theta that are zero (fresh biases) get a zero direction.
func FilterNormalize(layout *nets.Layout, d, theta []float32) ([]float32, error) {
	if len(d) != layout.P || len(theta) != layout.P {
		return nil, fmt.Errorf("posterior.FilterNormalize: d and theta have %d and %d values, want P=%d", len(d), len(theta), layout.P)
	}
	out := make([]float32, layout.P)
	for _, t := range layout.Tensors {
		var nd, nt float64
		for i := t.Offset; i < t.Offset+t.Size; i++ {
			nd += float64(d[i]) * float64(d[i])
			nt += float64(theta[i]) * float64(theta[i])
		}
		if nd == 0 {
			continue
		}
		s := math.Sqrt(nt / nd)
		for i := t.Offset; i < t.Offset+t.Size; i++ {
			out[i] = float32(float64(d[i]) * s)
		}
	}
	return out, nil
}
