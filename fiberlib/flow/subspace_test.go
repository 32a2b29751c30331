package flow

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// lowRankSamples returns θ* [p] and n samples θ = θ* + A c + noise·ε, with A [p, k] orthonormal and
// c_j ~ N(0, sd_j²): a known k-dimensional subspace with known variances.
func lowRankSamples(n, p int, sd []float64, noise float64, seed uint64) (center, samples []float32, a *mat.Dense) {
	rng := rand.New(rand.NewPCG(seed, 3))
	k := len(sd)
	g := mat.NewDense(p, k, nil)
	for i := 0; i < p; i++ {
		for j := 0; j < k; j++ {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q mat.Dense
	qr.QTo(&q)
	a = mat.DenseCopyOf(q.Slice(0, p, 0, k))
	center = make([]float32, p)
	for i := range center {
		center[i] = float32(rng.NormFloat64())
	}
	samples = make([]float32, n*p)
	c := make([]float64, k)
	for s := 0; s < n; s++ {
		for j := range c {
			c[j] = sd[j] * rng.NormFloat64()
		}
		for i := 0; i < p; i++ {
			v := float64(center[i]) + noise*rng.NormFloat64()
			for j := 0; j < k; j++ {
				v += a.At(i, j) * c[j]
			}
			samples[s*p+i] = float32(v)
		}
	}
	return center, samples, a
}

// PCA recovers a known 3-dimensional subspace of R^40 (largest principal angle ≈ 0), picks rank 3 by
// the variance threshold, and reports the variance kept: with noise variance ν per coordinate the kept
// fraction is ≈ (Σ sd² + 3ν)/(Σ sd² + 40ν).
func TestSubspaceRecoversKnownLowRank(t *testing.T) {
	sd := []float64{3, 1.5, 0.8}
	p, n, noise := 40, 500, 0.01
	center, samples, a := lowRankSamples(n, p, sd, noise, 1)
	sub, err := FitSubspace(center, samples, SubspaceOptions{VarianceThreshold: 0.999})
	if err != nil {
		t.Fatal(err)
	}
	if sub.Rank != 3 {
		t.Fatalf("rank %d, want 3 (singular values %.3g)", sub.Rank, sub.SingularValues[:6])
	}
	// sin of the largest principal angle = ‖(I − A Aᵀ) U‖₂.
	u := mat.NewDense(p, 3, toF64(sub.Basis))
	var atu, proj, res mat.Dense
	atu.Mul(a.T(), u)
	proj.Mul(a, &atu)
	res.Sub(u, &proj)
	sinAngle := mat.Norm(&res, 2)
	sig := 0.0
	for _, s := range sd {
		sig += s * s
	}
	wantKept := (sig + 3*noise*noise) / (sig + float64(p)*noise*noise)
	t.Logf("rank %d, sin(max principal angle) %.2e, variance kept %.6f (expected ≈ %.6f)", sub.Rank, sinAngle, sub.VarianceKept, wantKept)
	if sinAngle > 0.01 {
		t.Errorf("largest principal angle has sine %.3g > 0.01", sinAngle)
	}
	if math.Abs(sub.VarianceKept-wantKept) > 2e-4 {
		t.Errorf("variance kept %.6f, want ≈ %.6f", sub.VarianceKept, wantKept)
	}
	// Variance kept is exactly Σ_{i<r} s_i²/Σ s_i² and mean squared displacement Σ s_i²/N.
	tot, kept := 0.0, 0.0
	for i, s := range sub.SingularValues {
		tot += s * s
		if i < 3 {
			kept += s * s
		}
	}
	if math.Abs(kept/tot-sub.VarianceKept) > 1e-12 {
		t.Errorf("VarianceKept %.9f ≠ Σ kept s² / Σ s² = %.9f", sub.VarianceKept, kept/tot)
	}
	msd := 0.0
	for s := 0; s < n; s++ {
		for i := 0; i < p; i++ {
			d := float64(samples[s*p+i]) - float64(center[i])
			msd += d * d
		}
	}
	msd /= float64(n)
	if math.Abs(msd/sub.MeanSquaredDisplacement-1) > 1e-5 {
		t.Errorf("MeanSquaredDisplacement %.6f, direct %.6f", sub.MeanSquaredDisplacement, msd)
	}
	// Fixed rank and whitening: coordinates have unit second moment; decode(encode(θ)) ≈ projection.
	w, err := FitSubspace(center, samples, SubspaceOptions{Rank: 2, Whiten: true})
	if err != nil {
		t.Fatal(err)
	}
	coords, off, err := w.Encode(samples)
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 2; k++ {
		m2 := 0.0
		for s := 0; s < n; s++ {
			m2 += float64(coords[s*2+k]) * float64(coords[s*2+k])
		}
		if math.Abs(m2/float64(n)-1) > 1e-4 {
			t.Errorf("whitened coordinate %d has second moment %.6f, want 1", k, m2/float64(n))
		}
	}
	back, err := w.Decode(coords[:2*5])
	if err != nil {
		t.Fatal(err)
	}
	for s := 0; s < 5; s++ {
		r2 := 0.0
		for i := 0; i < p; i++ {
			d := float64(samples[s*p+i] - back[s*p+i])
			r2 += d * d
		}
		if math.Abs(math.Sqrt(r2)-off[s]) > 1e-4*(1+off[s]) {
			t.Errorf("sample %d: ‖θ − decode(encode(θ))‖ = %.6f, Encode's distance %.6f", s, math.Sqrt(r2), off[s])
		}
	}
}

// Bad inputs give errors that name the problem.
func TestSubspaceErrors(t *testing.T) {
	center := []float32{0, 0, 0}
	ok := []float32{1, 0, 0, 0, 1, 0, 0, 0, 1}
	for _, tc := range []struct {
		name    string
		center  []float32
		samples []float32
		opts    SubspaceOptions
		want    string
	}{
		{"empty center", nil, ok, SubspaceOptions{}, "empty center"},
		{"ragged", center, ok[:8], SubspaceOptions{}, "multiple of P=3"},
		{"one sample", center, ok[:3], SubspaceOptions{}, "at least 2"},
		{"NaN", center, append([]float32{float32(math.NaN())}, ok[1:]...), SubspaceOptions{}, "not finite"},
		{"rank too big", center, ok, SubspaceOptions{Rank: 3}, "min(N−1, P)=2"},
		{"bad threshold", center, ok, SubspaceOptions{VarianceThreshold: 1.5}, "VarianceThreshold"},
		{"all at center", center, make([]float32, 9), SubspaceOptions{}, "equal θ*"},
	} {
		_, err := FitSubspace(tc.center, tc.samples, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}
