package metrics

import (
	"fmt"
	"math"
)

// DefaultBins is the number of confidence bins of ECE (15, as in Guo et al. 2017 and most BNN papers).
const DefaultBins = 15

// Bin is one confidence bin of a reliability diagram.
type Bin struct {
	// Lower and Upper are the bin edges k/M and (k+1)/M; the bin holds confidences in (Lower, Upper]
	// (the first bin also holds 0).
	Lower, Upper float64
	// Count is the number of points whose confidence falls in the bin.
	Count int
	// Confidence is their mean confidence and Accuracy the fraction predicted correctly (both 0 when
	// Count is 0).
	Confidence, Accuracy float64
}

// Reliability sorts the points of probs [B, C] into bins equal-width confidence bins and returns, per
// bin, the count, mean confidence and accuracy: the data of a reliability diagram.
func Reliability[F Float](probs []F, c int, labels []int32, bins int) ([]Bin, error) {
	if bins < 1 {
		return nil, fmt.Errorf("metrics: %d calibration bins, want >= 1", bins)
	}
	b, err := checkProbs(probs, c)
	if err != nil {
		return nil, err
	}
	if err := checkLabels(labels, b, c); err != nil {
		return nil, err
	}
	out := make([]Bin, bins)
	for k := range out {
		out[k].Lower = float64(k) / float64(bins)
		out[k].Upper = float64(k+1) / float64(bins)
	}
	out[bins-1].Upper = 1
	// Compare confidences with the edges rounded to the input's precision, so that a float32 confidence of
	// 0.6 lands in (8/15, 9/15] as it does in float64.
	uppers := make([]float64, bins)
	for k := range uppers {
		uppers[k] = float64(F(out[k].Upper))
	}
	for i, y := range labels {
		pred, conf := argmax(probs[i*c : (i+1)*c])
		k := binOf(uppers, conf)
		out[k].Count++
		out[k].Confidence += conf
		if pred == int(y) {
			out[k].Accuracy++
		}
	}
	for k := range out {
		if n := out[k].Count; n > 0 {
			out[k].Confidence /= float64(n)
			out[k].Accuracy /= float64(n)
		}
	}
	return out, nil
}

// binOf returns the first bin whose upper edge is >= conf, i.e. the bin whose (lower, upper] holds it,
// comparing against the edges themselves (so a confidence equal to an edge goes to the bin below, whatever
// the rounding of conf·M would say).
func binOf(uppers []float64, conf float64) int {
	lo, hi := 0, len(uppers)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if conf <= uppers[mid] {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// ECE returns the expected calibration error in percent with DefaultBins (15) equal-width bins:
// 100·Σ_k (n_k/N)·|accuracy_k − confidence_k|. See the package doc for the bin convention.
func ECE[F Float](probs []F, c int, labels []int32) (float64, error) {
	return ECEBins(probs, c, labels, DefaultBins)
}

// ECEBins is ECE with the given number of bins.
func ECEBins[F Float](probs []F, c int, labels []int32, bins int) (float64, error) {
	rel, err := Reliability(probs, c, labels, bins)
	if err != nil {
		return 0, err
	}
	var ece float64
	for _, bn := range rel {
		ece += float64(bn.Count) * math.Abs(bn.Accuracy-bn.Confidence)
	}
	return 100 * ece / float64(len(labels)), nil
}
