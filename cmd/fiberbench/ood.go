package main

import (
	"fmt"
	"math"
)

// oodBins is the number of histogram bins of the per-example OOD scores.
const oodBins = 40

// oodHist holds histograms of per-example scores of the predictive on the in-distribution test set (In) and on
// the out-of-distribution set (Out): predictive entropy on [0, ln C] and max probability on [0, 1], oodBins
// equal-width bins each (a value on the upper edge goes to the last bin). Notebook 06 draws them.
type oodHist struct {
	Bins       int     `json:"bins"`
	EntropyMax float64 `json:"entropy_max"`
	EntropyIn  []int   `json:"entropy_in"`
	EntropyOut []int   `json:"entropy_out"`
	MaxProbIn  []int   `json:"maxprob_in"`
	MaxProbOut []int   `json:"maxprob_out"`
	// MeanEntropyIn and MeanEntropyOut are the mean predictive entropies (nats).
	MeanEntropyIn  float64 `json:"mean_entropy_in"`
	MeanEntropyOut float64 `json:"mean_entropy_out"`
}

// newOODHist bins the scores of the predictive probabilities in [B, C] and out [B', C] (row-major).
func newOODHist(in, out []float64, c int) (*oodHist, error) {
	if c < 2 || len(in)%c != 0 || len(out)%c != 0 || len(in) == 0 || len(out) == 0 {
		return nil, fmt.Errorf("OOD histograms: %d and %d probabilities are not non-empty multiples of %d classes", len(in), len(out), c)
	}
	h := &oodHist{Bins: oodBins, EntropyMax: math.Log(float64(c))}
	h.EntropyIn, h.MaxProbIn, h.MeanEntropyIn = binScores(in, c, h.EntropyMax)
	h.EntropyOut, h.MaxProbOut, h.MeanEntropyOut = binScores(out, c, h.EntropyMax)
	return h, nil
}

func binScores(p []float64, c int, hmax float64) (ent, mp []int, meanEnt float64) {
	ent, mp = make([]int, oodBins), make([]int, oodBins)
	bin := func(x, hi float64) int {
		k := int(x / hi * oodBins)
		return min(max(k, 0), oodBins-1)
	}
	n := len(p) / c
	for i := 0; i < n; i++ {
		var h, best float64
		for _, q := range p[i*c : (i+1)*c] {
			if q > 0 {
				h -= q * math.Log(q)
			}
			best = math.Max(best, q)
		}
		meanEnt += h
		ent[bin(h, hmax)]++
		mp[bin(best, 1)]++
	}
	return ent, mp, meanEnt / float64(n)
}
