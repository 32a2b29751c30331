package diagnostics

import (
	"fmt"
	"math"
	"sort"
)

// check validates chains [chains][draws]: at least one chain, equal lengths of at least minDraws, finite
// values.
func check(name string, chains [][]float64, minDraws int) error {
	if len(chains) == 0 {
		return fmt.Errorf("diagnostics.%s: no chains", name)
	}
	n := len(chains[0])
	for c, ch := range chains {
		if len(ch) != n {
			return fmt.Errorf("diagnostics.%s: chain %d has %d draws, chain 0 has %d; give chains of equal length",
				name, c, len(ch), n)
		}
		for s, v := range ch {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("diagnostics.%s: chain %d draw %d is %v; draws must be finite", name, c, s, v)
			}
		}
	}
	if n < minDraws {
		return fmt.Errorf("diagnostics.%s: %d draws per chain, want at least %d", name, n, minDraws)
	}
	return nil
}

// split cuts every chain into its first and second half (dropping the middle draw of an odd-length chain,
// as ArviZ does), doubling the number of chains.
func split(chains [][]float64) [][]float64 {
	out := make([][]float64, 0, 2*len(chains))
	for _, ch := range chains {
		h := len(ch) / 2
		out = append(out, ch[:h], ch[len(ch)-h:])
	}
	return out
}

// rankNormalize replaces every draw by Φ⁻¹((r − 3/8)/(S + 1/4)), where r is its rank among all S draws of
// all chains (ties get their average rank): Vehtari et al. (2021), eq. (14), Blom's offset.
func rankNormalize(chains [][]float64) [][]float64 {
	type item struct {
		v    float64
		c, s int
	}
	var all []item
	for c, ch := range chains {
		for s, v := range ch {
			all = append(all, item{v, c, s})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	S := float64(len(all))
	out := make([][]float64, len(chains))
	for c, ch := range chains {
		out[c] = make([]float64, len(ch))
	}
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		r := float64(i+j+1) / 2 // average of the 1-based ranks i+1 … j
		z := normalQuantile((r - 0.375) / (S + 0.25))
		for k := i; k < j; k++ {
			out[all[k].c][all[k].s] = z
		}
		i = j
	}
	return out
}

// fold returns |θ − median(θ)| over all draws of all chains.
func fold(chains [][]float64) [][]float64 {
	var all []float64
	for _, ch := range chains {
		all = append(all, ch...)
	}
	sort.Float64s(all)
	n := len(all)
	med := all[n/2]
	if n%2 == 0 {
		med = (all[n/2-1] + all[n/2]) / 2
	}
	out := make([][]float64, len(chains))
	for c, ch := range chains {
		out[c] = make([]float64, len(ch))
		for s, v := range ch {
			out[c][s] = math.Abs(v - med)
		}
	}
	return out
}

// normalQuantile is Φ⁻¹(p), the standard normal quantile, for p in (0, 1).
func normalQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }
