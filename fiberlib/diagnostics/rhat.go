package diagnostics

import "math"

// SplitRHat returns the classic split-R̂ (Gelman et al., BDA3 §11.4) of one parameter's draws
// chains[chain][draw]: every chain is cut in half, then R̂ = √(var⁺/W) with W the mean within-chain variance
// and var⁺ = (n−1)/n·W + B/n (B/n the variance of the chain means). It is NaN when every half-chain is
// constant. It needs at least 4 draws per chain.
func SplitRHat(chains [][]float64) (float64, error) {
	if err := check("SplitRHat", chains, 4); err != nil {
		return 0, err
	}
	return rhat(split(chains)), nil
}

// RankRHat returns the rank-normalised split-R̂ of Vehtari et al. (2021): the larger of the bulk R̂ (split-R̂
// of the rank-normalised draws) and the tail R̂ (split-R̂ of the rank-normalised |θ − median|). Values above
// 1.01 indicate chains that have not mixed. It needs at least 4 draws per chain.
func RankRHat(chains [][]float64) (float64, error) {
	if err := check("RankRHat", chains, 4); err != nil {
		return 0, err
	}
	bulk := rhat(split(rankNormalize(chains)))
	tail := rhat(split(rankNormalize(fold(chains))))
	return math.Max(bulk, tail), nil
}

// rhat is the (non-split) R̂ of chains of equal length n ≥ 2.
func rhat(chains [][]float64) float64 {
	m := float64(len(chains))
	n := float64(len(chains[0]))
	means := make([]float64, len(chains))
	var w float64
	for c, ch := range chains {
		means[c], _ = meanVar(ch)
		_, v := meanVar(ch)
		w += v
	}
	w /= m
	var bn float64 // B/n: variance of the chain means
	if len(chains) > 1 {
		_, bn = meanVar(means)
	}
	if w == 0 {
		return math.NaN()
	}
	vplus := (n-1)/n*w + bn
	return math.Sqrt(vplus / w)
}

// meanVar returns the mean and the unbiased (n−1) variance of x.
func meanVar(x []float64) (mean, v float64) {
	for _, a := range x {
		mean += a
	}
	mean /= float64(len(x))
	for _, a := range x {
		v += (a - mean) * (a - mean)
	}
	if len(x) > 1 {
		v /= float64(len(x) - 1)
	}
	return mean, v
}
