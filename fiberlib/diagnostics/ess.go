package diagnostics

import "math"

// ESS returns the effective sample size of one parameter's draws chains[chain][draw] (all chains together),
// computed on the split chains from the multi-chain autocorrelation estimate with Geyer's initial monotone
// sequence (Vehtari et al. 2021, §3.2; the algorithm of Stan). It is NaN when every half-chain is constant.
// It needs at least 8 draws per chain.
func ESS(chains [][]float64) (float64, error) {
	if err := check("ESS", chains, 8); err != nil {
		return 0, err
	}
	return ess(split(chains)), nil
}

// BulkESS is ESS of the rank-normalised draws (Vehtari et al. 2021): the effective sample size for the
// bulk of the distribution (means, medians), robust to heavy tails.
func BulkESS(chains [][]float64) (float64, error) {
	if err := check("BulkESS", chains, 8); err != nil {
		return 0, err
	}
	return ess(split(rankNormalize(chains))), nil
}

// ess is the effective sample size of m chains of equal length n ≥ 4 (not split here).
func ess(chains [][]float64) float64 {
	m := len(chains)
	n := len(chains[0])
	acov := make([][]float64, m)
	means := make([]float64, m)
	var w float64 // mean within-chain variance (n−1 denominator)
	for c, ch := range chains {
		acov[c] = autocov(ch)
		means[c], _ = meanVar(ch)
		w += acov[c][0] * float64(n) / float64(n-1)
	}
	w /= float64(m)
	vplus := w * float64(n-1) / float64(n)
	if m > 1 {
		_, b := meanVar(means)
		vplus += b
	}
	if vplus == 0 || w == 0 {
		return math.NaN()
	}
	// ρ̂_t = 1 − (W − mean_c acov_c(t)) / var⁺.
	rho := func(t int) float64 {
		var a float64
		for c := range chains {
			a += acov[c][t]
		}
		return 1 - (w-a/float64(m))/vplus
	}
	// Geyer's initial positive sequence: sum pairs Γ_k = ρ̂_{2k} + ρ̂_{2k+1} while positive; the last pair
	// is kept out of the loop (t < n−4), as a guard for antithetic chains.
	r := make([]float64, n+1)
	r[0], r[1] = 1, rho(1)
	even, odd := r[0], r[1]
	t := 1
	for t < n-4 && even+odd > 0 {
		even, odd = rho(t+1), rho(t+2)
		if even+odd >= 0 {
			r[t+1], r[t+2] = even, odd
		}
		t += 2
	}
	last := t
	if even > 0 {
		r[last+1] = even
	}
	// Initial monotone sequence: no pair may exceed the one before it.
	for k := 1; k <= last-3; k += 2 {
		if r[k+1]+r[k+2] > r[k-1]+r[k] {
			r[k+1] = (r[k-1] + r[k]) / 2
			r[k+2] = r[k+1]
		}
	}
	var sum float64
	for k := 0; k < last; k++ {
		sum += r[k]
	}
	tau := -1 + 2*sum + r[last+1]
	total := float64(m * n)
	// Bound τ̂ below (ESS at most total·log10(total)), as Stan does for antithetic chains.
	return total / math.Max(tau, 1/math.Log10(total))
}
