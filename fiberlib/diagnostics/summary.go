package diagnostics

import (
	"fmt"
	"math"
)

// Summary holds per-parameter diagnostics of draws [chains, draws, params] and their worst values.
type Summary struct {
	// Mean and SD are every parameter's mean and standard deviation over all draws, [params].
	Mean, SD []float64
	// RHat is every parameter's rank-normalised split-R̂ (RankRHat), [params].
	RHat []float64
	// ESS is every parameter's bulk effective sample size (BulkESS), [params].
	ESS []float64
	// MaxRHat is the largest R̂ and MaxRHatParam its parameter; MinESS is the smallest ESS and MinESSParam
	// its parameter. Parameters whose R̂ or ESS is NaN (constant draws) are left out; -1 if all are.
	MaxRHat      float64
	MaxRHatParam int
	MinESS       float64
	MinESSParam  int
}

// String returns a one-line summary.
func (s *Summary) String() string {
	return fmt.Sprintf("max R̂ %.4f (param %d), min bulk ESS %.1f (param %d), %d params",
		s.MaxRHat, s.MaxRHatParam, s.MinESS, s.MinESSParam, len(s.RHat))
}

// Summarize computes the diagnostics of every parameter of draws, a row-major [chains, numDraws, params]
// array. It needs at least 8 draws per chain and finite values.
func Summarize(draws []float32, chains, numDraws, params int) (*Summary, error) {
	if chains < 1 || numDraws < 1 || params < 1 {
		return nil, fmt.Errorf("diagnostics.Summarize: chains=%d, numDraws=%d, params=%d: all must be >= 1",
			chains, numDraws, params)
	}
	if len(draws) != chains*numDraws*params {
		return nil, fmt.Errorf("diagnostics.Summarize: %d values, want chains·numDraws·params = %d·%d·%d = %d",
			len(draws), chains, numDraws, params, chains*numDraws*params)
	}
	s := &Summary{Mean: make([]float64, params), SD: make([]float64, params), RHat: make([]float64, params),
		ESS: make([]float64, params), MaxRHat: math.NaN(), MaxRHatParam: -1, MinESS: math.NaN(), MinESSParam: -1}
	x := make([][]float64, chains)
	for c := range x {
		x[c] = make([]float64, numDraws)
	}
	all := make([]float64, 0, chains*numDraws)
	for p := range params {
		all = all[:0]
		for c := range chains {
			for d := range numDraws {
				x[c][d] = float64(draws[(c*numDraws+d)*params+p])
				all = append(all, x[c][d])
			}
		}
		m, v := meanVar(all)
		s.Mean[p], s.SD[p] = m, math.Sqrt(v)
		r, err := RankRHat(x)
		if err != nil {
			return nil, fmt.Errorf("diagnostics.Summarize: parameter %d: %w", p, err)
		}
		e, err := BulkESS(x)
		if err != nil {
			return nil, fmt.Errorf("diagnostics.Summarize: parameter %d: %w", p, err)
		}
		s.RHat[p], s.ESS[p] = r, e
		if !math.IsNaN(r) && (s.MaxRHatParam < 0 || r > s.MaxRHat) {
			s.MaxRHat, s.MaxRHatParam = r, p
		}
		if !math.IsNaN(e) && (s.MinESSParam < 0 || e < s.MinESS) {
			s.MinESS, s.MinESSParam = e, p
		}
	}
	return s, nil
}
