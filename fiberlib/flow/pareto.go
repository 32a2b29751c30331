package flow

import (
	"fmt"
	"math"
	"slices"
)

// Generalized Pareto tail fits and Pareto-smoothed importance sampling (PSIS).
//
// The generalized Pareto distribution (GPD) with shape ξ and scale σ has density
// f(x) = σ⁻¹ (1 + ξx/σ)^(−1/ξ−1), x ≥ 0. Importance weights whose upper tail is GPD with shape ξ have
// finite variance only for ξ < ½ and a finite mean only for ξ < 1; PSIS (Vehtari, Simpson, Gelman, Yao,
// Gabry 2024, "Pareto smoothed importance sampling", JMLR) uses the fitted shape, k̂ = ξ̂, as a
// diagnostic: below min(1 − 1/log₁₀S, 0.7) the self-normalised estimate is reliable.
//
// The fit is the empirical-Bayes estimator of Zhang & Stephens (2009, "A new and efficient estimation
// method for the generalized Pareto distribution", Technometrics 51:316), written from the paper:
// with τ = ξ/σ, the likelihood maximised over ξ for fixed τ has ξ̂(τ) = mean log(1 + τx) and profile
// log-likelihood ℓ(τ) = n [log(τ/ξ̂(τ)) − ξ̂(τ) − 1]. With b = −τ, the estimator averages b over the
// grid b_j = 1/x₍ₙ₎ + (1 − √(m/(j − ½))) / (3 x₍q₎), j = 1..m, m = 30 + ⌊√n⌋, x₍q₎ the first quartile,
// with weights ∝ exp ℓ(b_j) (a posterior mean under the paper's prior); then ξ̂ = mean log(1 − b̂x),
// σ̂ = −ξ̂/b̂. As in PSIS, ξ̂ is finally shrunk towards ½ by a weak prior worth 10 observations:
// ξ̂ ← (n ξ̂ + 5)/(n + 10).

// FitGeneralizedPareto estimates the shape ξ and scale σ of a GPD from exceedances x (all > 0, at least
// 5 of them) by the Zhang–Stephens estimator. With shrink, ξ̂ is pulled towards ½ as PSIS does.
func FitGeneralizedPareto(x []float64, shrink bool) (xi, sigma float64, err error) {
	n := len(x)
	if n < 5 {
		return 0, 0, fmt.Errorf("flow.FitGeneralizedPareto: %d exceedances, need at least 5", n)
	}
	s := slices.Clone(x)
	slices.Sort(s)
	if !(s[0] > 0) || math.IsInf(s[n-1], 0) || math.IsNaN(s[n-1]) {
		return 0, 0, fmt.Errorf("flow.FitGeneralizedPareto: exceedances must be positive and finite (min %g, max %g)", s[0], s[n-1])
	}
	m := 30 + int(math.Sqrt(float64(n)))
	q := s[max(int(float64(n)/4+0.5)-1, 0)]
	xmax := s[n-1]
	bs := make([]float64, m)
	ls := make([]float64, m)
	for j := 1; j <= m; j++ {
		b := 1/xmax + (1-math.Sqrt(float64(m)/(float64(j)-0.5)))/(3*q)
		k := 0.0
		for _, v := range s {
			k += math.Log1p(-b * v)
		}
		k /= float64(n)
		// ℓ = n [log(−b/k) − k − 1]: with ξ̂ = k, τ = −b; −b/k > 0 whenever b ≠ 0.
		bs[j-1] = b
		ls[j-1] = float64(n) * (math.Log(-b/k) - k - 1)
	}
	// Weights w_j = 1 / Σ_l exp(ℓ_l − ℓ_j), computed stably.
	lmax := math.Inf(-1)
	for _, l := range ls {
		if !math.IsNaN(l) {
			lmax = max(lmax, l)
		}
	}
	bhat, wsum := 0.0, 0.0
	for j, l := range ls {
		if math.IsNaN(l) {
			continue
		}
		w := math.Exp(l - lmax)
		bhat += w * bs[j]
		wsum += w
	}
	if wsum == 0 {
		return 0, 0, fmt.Errorf("flow.FitGeneralizedPareto: no finite profile likelihood on the grid")
	}
	bhat /= wsum
	xi = 0.0
	for _, v := range s {
		xi += math.Log1p(-bhat * v)
	}
	xi /= float64(n)
	sigma = -xi / bhat
	if shrink {
		xi = (float64(n)*xi + 10*0.5) / (float64(n) + 10)
	}
	return xi, sigma, nil
}

// PSISResult holds Pareto-smoothed log importance weights and the tail diagnostic.
type PSISResult struct {
	// LogWeights are the smoothed log weights (unnormalised, same order as the input).
	LogWeights []float64
	// K is the Pareto-k̂ shape of the fitted upper tail (NaN when the tail was too short to fit).
	K float64
	// Sigma is the fitted GPD scale (in units of the largest weight, exp(log w − max log w)).
	Sigma float64
	// TailSize is M, the number of largest weights fitted and smoothed.
	TailSize int
	// KThreshold is min(1 − 1/log₁₀ S, 0.7): estimates are reliable for K below it.
	KThreshold float64
}

// PSIS smooths the upper tail of log importance weights logW [S] as in Vehtari et al. (2024): the
// M = ⌈min(0.2 S, 3√S)⌉ largest weights are replaced by the quantiles of a GPD fitted to their
// exceedances over the (M+1)-th largest, capped at the largest raw weight. It needs S ≥ 10.
func PSIS(logW []float64) (*PSISResult, error) {
	sN := len(logW)
	if sN < 10 {
		return nil, fmt.Errorf("flow.PSIS: %d weights, need at least 10", sN)
	}
	lmax := math.Inf(-1)
	for i, v := range logW {
		if math.IsNaN(v) || math.IsInf(v, 1) {
			return nil, fmt.Errorf("flow.PSIS: log weight %d is %g", i, v)
		}
		lmax = max(lmax, v)
	}
	if math.IsInf(lmax, -1) {
		return nil, fmt.Errorf("flow.PSIS: all %d weights are zero", sN)
	}
	res := &PSISResult{LogWeights: slices.Clone(logW), K: math.NaN(), Sigma: math.NaN(),
		KThreshold: min(1-1/math.Log10(float64(sN)), 0.7)}
	m := int(math.Ceil(min(0.2*float64(sN), 3*math.Sqrt(float64(sN)))))
	order := make([]int, sN)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmpFloat(logW[a], logW[b]) })
	cut := math.Exp(logW[order[sN-m-1]] - lmax)
	exc := make([]float64, 0, m)
	for _, i := range order[sN-m:] {
		if e := math.Exp(logW[i]-lmax) - cut; e > 0 {
			exc = append(exc, e)
		}
	}
	res.TailSize = m
	if len(exc) < 5 {
		return res, nil // too few distinct tail weights: nothing to fit, weights left as they are
	}
	xi, sigma, err := FitGeneralizedPareto(exc, true)
	if err != nil {
		return nil, err
	}
	res.K, res.Sigma = xi, sigma
	for z, i := range order[sN-m:] {
		p := (float64(z) + 0.5) / float64(m)
		var qv float64
		if math.Abs(xi) < 1e-12 {
			qv = -sigma * math.Log1p(-p)
		} else {
			qv = sigma / xi * (math.Pow(1-p, -xi) - 1)
		}
		w := min(cut+qv, 1) // capped at the largest raw weight, exp(0) = 1 on this scale
		res.LogWeights[i] = math.Log(w) + lmax
	}
	return res, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
