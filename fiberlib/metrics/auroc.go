package metrics

import (
	"fmt"
	"slices"
)

// AUROC returns the area under the ROC curve for telling positives from negatives by their scores, a
// higher score meaning "more likely positive": P(s_pos > s_neg) + ½·P(s_pos = s_neg), computed as the
// Mann–Whitney U statistic from rank sums with average ranks for ties, U/(n_pos·n_neg). 1 is a perfect
// separation, 0.5 chance. Both sets must be non-empty and finite.
func AUROC[N, P Float](negatives []N, positives []P) (float64, error) {
	if err := checkValues("negative scores", negatives); err != nil {
		return 0, err
	}
	if err := checkValues("positive scores", positives); err != nil {
		return 0, err
	}
	type item struct {
		v   float64
		pos bool
	}
	all := make([]item, 0, len(negatives)+len(positives))
	for _, v := range negatives {
		all = append(all, item{float64(v), false})
	}
	for _, v := range positives {
		all = append(all, item{float64(v), true})
	}
	slices.SortFunc(all, func(a, b item) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	// Ranks are 1-based; a run of ties i..j-1 shares the average rank (i+1 + j)/2.
	var rankSum float64
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		avg := float64(i+1+j) / 2
		for k := i; k < j; k++ {
			if all[k].pos {
				rankSum += avg
			}
		}
		i = j
	}
	np, nn := float64(len(positives)), float64(len(negatives))
	u := rankSum - np*(np+1)/2
	return u / (np * nn), nil
}

// OODScore selects the score by which OODAUROC tells out-of-distribution points from in-distribution ones.
type OODScore int

const (
	// OODEntropy scores a point by its predictive entropy (higher = more likely OOD).
	OODEntropy OODScore = iota
	// OODMaxProb scores a point by its confidence, the largest class probability (lower = more likely OOD).
	OODMaxProb
)

// String returns "entropy" or "max_prob".
func (s OODScore) String() string {
	switch s {
	case OODEntropy:
		return "entropy"
	case OODMaxProb:
		return "max_prob"
	}
	return fmt.Sprintf("OODScore(%d)", int(s))
}

// OODAUROC returns the AUROC of detecting out-of-distribution points (outProbs [B_out, C]) among
// in-distribution ones (inProbs [B_in, C]) by the given score; OOD points are the positives.
func OODAUROC[F Float](inProbs, outProbs []F, c int, score OODScore) (float64, error) {
	var in, out []float64
	var err error
	switch score {
	case OODEntropy:
		if in, err = Entropy(inProbs, c); err != nil {
			return 0, fmt.Errorf("in-distribution: %w", err)
		}
		if out, err = Entropy(outProbs, c); err != nil {
			return 0, fmt.Errorf("out-of-distribution: %w", err)
		}
	case OODMaxProb:
		if in, err = Confidence(inProbs, c); err != nil {
			return 0, fmt.Errorf("in-distribution: %w", err)
		}
		if out, err = Confidence(outProbs, c); err != nil {
			return 0, fmt.Errorf("out-of-distribution: %w", err)
		}
		for i := range in {
			in[i] = -in[i]
		}
		for i := range out {
			out[i] = -out[i]
		}
	default:
		return 0, fmt.Errorf("metrics: unknown OOD score %v: use OODEntropy or OODMaxProb", score)
	}
	return AUROC(in, out)
}
