package flow

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/core/graph"
	"gonum.org/v1/gonum/mat"
)

// SubspaceOptions choose the rank of the linear subspace the flow lives in.
type SubspaceOptions struct {
	// Rank, when > 0, fixes the number of directions r kept. It must be ≤ min(N−1, P) and ≤ the numerical
	// rank of the displacements. When 0, r is the smallest rank whose kept variance reaches
	// VarianceThreshold.
	Rank int

	// VarianceThreshold is the fraction of Σ‖θ−θ*‖² the kept directions must explain when Rank is 0.
	// In (0, 1]; 0 means the default, 0.99.
	VarianceThreshold float64

	// MaxRank caps r when Rank is 0; 0 means min(N−1, P).
	MaxRank int

	// Whiten divides each coordinate by its root-mean-square (about θ*), so that every kept direction
	// has unit second moment. The flow standardises its inputs anyway; whitening matters for users of the
	// coordinates themselves (the VAE, plots).
	Whiten bool
}

// DefaultVarianceThreshold is the kept-variance fraction used when SubspaceOptions.VarianceThreshold is 0.
const DefaultVarianceThreshold = 0.99

// Subspace is the affine subspace θ* + span(U) of parameter space that the samples' displacements span,
// found by a singular value decomposition of Δ = θ − θ* (not centred at the sample mean: the origin of the
// coordinates is the MAP θ*, so that θ = θ* + U·diag(Scale)·c).
//
// Coordinates: c = diag(Scale)⁻¹ Uᵀ (θ − θ*), θ = θ* + U diag(Scale) c.
type Subspace struct {
	// P is the number of parameters.
	P int
	// Rank is r, the number of directions kept.
	Rank int
	// NumSamples is N, the number of samples the subspace was fitted on.
	NumSamples int
	// Center is θ* [P].
	Center []float32
	// Basis is U [P, Rank], row-major, with orthonormal columns (the right singular vectors of Δ, each
	// signed so that its largest-magnitude entry is positive).
	Basis []float32
	// Scale [Rank] divides the coordinates: all ones, or each direction's RMS s_i/√N when whitened.
	Scale []float32
	// Whitened tells whether Scale holds the RMS values.
	Whitened bool
	// SingularValues are all min(N, P) singular values of Δ [N, P], in decreasing order.
	SingularValues []float64
	// VarianceKept is Σ_{i<r} s_i² / Σ_i s_i²: the fraction of the mean squared displacement kept.
	VarianceKept float64
	// MeanSquaredDisplacement is Σ_i s_i² / N = mean over samples of ‖θ − θ*‖².
	MeanSquaredDisplacement float64
}

// numericalRankTol: singular values below this fraction of the largest count as zero.
const numericalRankTol = 1e-6

// FitSubspace finds the subspace of the displacements of samples [N, P] (row-major, N = len(samples)/P)
// from center θ* [P], with P = len(center).
func FitSubspace(center, samples []float32, opts SubspaceOptions) (*Subspace, error) {
	p := len(center)
	if p == 0 {
		return nil, fmt.Errorf("flow.FitSubspace: empty center θ*: pass the MAP parameters [P]")
	}
	if len(samples) == 0 || len(samples)%p != 0 {
		return nil, fmt.Errorf("flow.FitSubspace: samples has %d values, want a positive multiple of P=%d (samples [N, P] row-major)", len(samples), p)
	}
	n := len(samples) / p
	if n < 2 {
		return nil, fmt.Errorf("flow.FitSubspace: %d sample(s), need at least 2", n)
	}
	if i := firstNonFinite(center); i >= 0 {
		return nil, fmt.Errorf("flow.FitSubspace: center[%d]=%g is not finite", i, center[i])
	}
	if i := firstNonFinite(samples); i >= 0 {
		return nil, fmt.Errorf("flow.FitSubspace: sample %d, parameter %d is %g (not finite)", i/p, i%p, samples[i])
	}
	thr := opts.VarianceThreshold
	if thr == 0 {
		thr = DefaultVarianceThreshold
	}
	if !(thr > 0 && thr <= 1) {
		return nil, fmt.Errorf("flow.FitSubspace: VarianceThreshold=%g, want a fraction in (0, 1]", opts.VarianceThreshold)
	}
	maxRank := min(n-1, p)
	if opts.MaxRank < 0 || opts.Rank < 0 {
		return nil, fmt.Errorf("flow.FitSubspace: Rank=%d, MaxRank=%d: must not be negative", opts.Rank, opts.MaxRank)
	}
	if opts.MaxRank > 0 {
		maxRank = min(maxRank, opts.MaxRank)
	}

	delta := mat.NewDense(n, p, nil)
	for i := 0; i < n; i++ {
		row := samples[i*p : (i+1)*p]
		for j, v := range row {
			delta.Set(i, j, float64(v)-float64(center[j]))
		}
	}
	var svd mat.SVD
	if !svd.Factorize(delta, mat.SVDThinV) {
		return nil, fmt.Errorf("flow.FitSubspace: SVD of the %d×%d displacements did not converge", n, p)
	}
	sv := svd.Values(nil)
	total := 0.0
	for _, s := range sv {
		total += s * s
	}
	if total == 0 || sv[0] == 0 {
		return nil, fmt.Errorf("flow.FitSubspace: all %d samples equal θ*: no displacement to model", n)
	}
	numRank := 0
	for _, s := range sv {
		if s > numericalRankTol*sv[0] {
			numRank++
		}
	}
	r := opts.Rank
	if r > 0 {
		if r > min(n-1, p) {
			return nil, fmt.Errorf("flow.FitSubspace: Rank=%d exceeds min(N−1, P)=%d (N=%d samples, P=%d)", r, min(n-1, p), n, p)
		}
		if r > numRank {
			return nil, fmt.Errorf("flow.FitSubspace: Rank=%d exceeds the numerical rank %d of the displacements: the samples span only %d directions", r, numRank, numRank)
		}
	} else {
		cum := 0.0
		for r = 0; r < len(sv); {
			cum += sv[r] * sv[r]
			r++
			if cum >= thr*total*(1-1e-12) {
				break
			}
		}
		r = min(r, maxRank, numRank)
	}
	kept := 0.0
	for i := 0; i < r; i++ {
		kept += sv[i] * sv[i]
	}

	var v mat.Dense
	svd.VTo(&v) // [P, min(N,P)]
	basis := make([]float32, p*r)
	scale := make([]float32, r)
	for k := 0; k < r; k++ {
		// Sign convention: the largest-magnitude entry of each direction is positive.
		best, sign := 0.0, 1.0
		for j := 0; j < p; j++ {
			if a := math.Abs(v.At(j, k)); a > best {
				best, sign = a, math.Copysign(1, v.At(j, k))
			}
		}
		for j := 0; j < p; j++ {
			basis[j*r+k] = float32(sign * v.At(j, k))
		}
		scale[k] = 1
		if opts.Whiten {
			scale[k] = float32(sv[k] / math.Sqrt(float64(n)))
		}
	}
	return &Subspace{
		P: p, Rank: r, NumSamples: n,
		Center:                  append([]float32(nil), center...),
		Basis:                   basis,
		Scale:                   scale,
		Whitened:                opts.Whiten,
		SingularValues:          sv,
		VarianceKept:            kept / total,
		MeanSquaredDisplacement: total / float64(n),
	}, nil
}

// Encode returns the coordinates c [N, Rank] of theta [N, P] (row-major), and for each row the norm of the
// part of θ − θ* outside the subspace (0 for points of the subspace, up to rounding).
func (s *Subspace) Encode(theta []float32) (coords []float32, offNorm []float64, err error) {
	if len(theta) == 0 || len(theta)%s.P != 0 {
		return nil, nil, fmt.Errorf("flow.Subspace.Encode: theta has %d values, want a positive multiple of P=%d", len(theta), s.P)
	}
	if i := firstNonFinite(theta); i >= 0 {
		return nil, nil, fmt.Errorf("flow.Subspace.Encode: theta row %d, parameter %d is %g (not finite)", i/s.P, i%s.P, theta[i])
	}
	n, p, r := len(theta)/s.P, s.P, s.Rank
	coords = make([]float32, n*r)
	offNorm = make([]float64, n)
	proj := make([]float64, r)
	d := make([]float64, p)
	for i := 0; i < n; i++ {
		clear(proj)
		for j := 0; j < p; j++ {
			d[j] = float64(theta[i*p+j]) - float64(s.Center[j])
			for k := 0; k < r; k++ {
				proj[k] += d[j] * float64(s.Basis[j*r+k])
			}
		}
		for k := 0; k < r; k++ {
			coords[i*r+k] = float32(proj[k] / float64(s.Scale[k]))
		}
		// The residual Δ − U Uᵀ Δ, computed explicitly (‖Δ‖² − ‖UᵀΔ‖² cancels badly).
		res := 0.0
		for j := 0; j < p; j++ {
			e := d[j]
			for k := 0; k < r; k++ {
				e -= float64(s.Basis[j*r+k]) * proj[k]
			}
			res += e * e
		}
		offNorm[i] = math.Sqrt(res)
	}
	return coords, offNorm, nil
}

// Decode returns θ [N, P] = θ* + U diag(Scale) c for coords [N, Rank] (row-major).
func (s *Subspace) Decode(coords []float32) ([]float32, error) {
	if len(coords) == 0 || len(coords)%s.Rank != 0 {
		return nil, fmt.Errorf("flow.Subspace.Decode: coords has %d values, want a positive multiple of Rank=%d", len(coords), s.Rank)
	}
	n, p, r := len(coords)/s.Rank, s.P, s.Rank
	theta := make([]float32, n*p)
	for i := 0; i < n; i++ {
		for j := 0; j < p; j++ {
			acc := float64(s.Center[j])
			for k := 0; k < r; k++ {
				acc += float64(s.Basis[j*r+k]) * float64(s.Scale[k]) * float64(coords[i*r+k])
			}
			theta[i*p+j] = float32(acc)
		}
	}
	return theta, nil
}

// LogAbsDetScale is Σ log Scale_k: log q(θ) on the subspace = log q_c(c) − LogAbsDetScale.
func (s *Subspace) LogAbsDetScale() float64 {
	acc := 0.0
	for _, v := range s.Scale {
		acc += math.Log(float64(v))
	}
	return acc
}

// decodeGraph builds θ [N, P] = center + (coords ⊙ scale) basisᵀ for coords [N, r], center [P],
// basis [P, r], scale [r].
func decodeGraph(coords, center, basis, scale *Node) *Node {
	scaled := Mul(coords, ExpandAxes(scale, 0))
	d := Dot(scaled, basis).General([]int{1}, nil, []int{1}, nil) // [N, P]
	return Add(d, ExpandAxes(center, 0))
}

// encodeGraph builds c [N, r] = ((θ − center) basis) ⊘ scale for theta [N, P].
func encodeGraph(theta, center, basis, scale *Node) *Node {
	d := Sub(theta, ExpandAxes(center, 0))
	c := Dot(d, basis).Product()
	return Div(c, ExpandAxes(scale, 0))
}

func firstNonFinite(x []float32) int {
	for i, v := range x {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return i
		}
	}
	return -1
}
