package compare

import (
	"fmt"
	"math"
)

// MinProb is the floor applied to probabilities inside logarithms, so that a class probability that
// underflowed to 0 in float32 gives a large but finite KL.
const MinProb = 1e-12

// CategoricalKL returns KL(p ‖ q) = Σ_k p_k log(p_k / q_k) of two probability vectors (terms with p_k = 0
// are 0; q_k and p_k are floored at MinProb inside the logarithm).
func CategoricalKL[F Float](p, q []F) float64 {
	var kl float64
	for k := range p {
		pk := float64(p[k])
		if pk <= 0 {
			continue
		}
		kl += pk * (math.Log(math.Max(pk, MinProb)) - math.Log(math.Max(float64(q[k]), MinProb)))
	}
	return kl
}

// CompareCategorical returns the KL in both directions between two classification predictives ref and
// approx, [points][classes] probability rows, averaged over points, with the per-point KL(ref ‖ approx).
// W2 is NaN. Every row must be non-negative and sum to 1 within 10⁻³.
func CompareCategorical[F Float](ref, approx [][]F) (Distances, []float64, error) {
	if len(ref) == 0 || len(ref) != len(approx) {
		return Distances{}, nil, fmt.Errorf("compare: reference has %d points, approximation %d; want the same, non-zero number",
			len(ref), len(approx))
	}
	k := len(ref[0])
	check := func(name string, rows [][]F) error {
		for i, r := range rows {
			if len(r) != k || k < 2 {
				return fmt.Errorf("compare: %s point %d has %d classes, want %d (>= 2)", name, i, len(r), k)
			}
			var s float64
			for c, v := range r {
				if bad(v) || v < 0 {
					return fmt.Errorf("compare: %s point %d class %d has probability %v", name, i, c, v)
				}
				s += float64(v)
			}
			if math.Abs(s-1) > 1e-3 {
				return fmt.Errorf("compare: %s point %d probabilities sum to %v, want 1 (pass probabilities, not logits)", name, i, s)
			}
		}
		return nil
	}
	if err := check("reference", ref); err != nil {
		return Distances{}, nil, err
	}
	if err := check("approximate", approx); err != nil {
		return Distances{}, nil, err
	}
	n := len(ref)
	d := Distances{N: n, W2: math.NaN()}
	per := make([]float64, n)
	for i := range n {
		per[i] = CategoricalKL(ref[i], approx[i])
		d.KL += per[i] / float64(n)
		d.KLReverse += CategoricalKL(approx[i], ref[i]) / float64(n)
	}
	return d, per, nil
}
