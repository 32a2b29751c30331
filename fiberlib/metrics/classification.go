package metrics

import "math"

// Accuracy returns the fraction of points whose predicted class (argmax of probs [B, C], lowest index on
// ties) equals the label.
func Accuracy[F Float](probs []F, c int, labels []int32) (float64, error) {
	b, err := checkProbs(probs, c)
	if err != nil {
		return 0, err
	}
	if err := checkLabels(labels, b, c); err != nil {
		return 0, err
	}
	hits := 0
	for i, y := range labels {
		if k, _ := argmax(probs[i*c : (i+1)*c]); k == int(y) {
			hits++
		}
	}
	return float64(hits) / float64(b), nil
}

// NLLPerPoint returns −log probs[i, labels[i]] for each point (+Inf where that probability is 0).
func NLLPerPoint[F Float](probs []F, c int, labels []int32) ([]float64, error) {
	b, err := checkProbs(probs, c)
	if err != nil {
		return nil, err
	}
	if err := checkLabels(labels, b, c); err != nil {
		return nil, err
	}
	out := make([]float64, b)
	for i, y := range labels {
		out[i] = -math.Log(float64(probs[i*c+int(y)]))
	}
	return out, nil
}

// NLL returns the mean negative log-likelihood of the labels under probs [B, C], in nats.
func NLL[F Float](probs []F, c int, labels []int32) (float64, error) {
	per, err := NLLPerPoint(probs, c, labels)
	if err != nil {
		return 0, err
	}
	return meanOf(per), nil
}

// Brier returns the multiclass Brier score: Σ_c (p_c − 1[y=c])² summed over classes, averaged over points
// (range [0, 2]).
func Brier[F Float](probs []F, c int, labels []int32) (float64, error) {
	b, err := checkProbs(probs, c)
	if err != nil {
		return 0, err
	}
	if err := checkLabels(labels, b, c); err != nil {
		return 0, err
	}
	var total float64
	for i, y := range labels {
		for k, v := range probs[i*c : (i+1)*c] {
			d := float64(v)
			if k == int(y) {
				d -= 1
			}
			total += d * d
		}
	}
	return total / float64(b), nil
}

// Entropy returns the predictive entropy −Σ_c p_c log p_c of each row of probs [B, C], in nats
// (0·log 0 = 0). It lies in [0, log C].
func Entropy[F Float](probs []F, c int) ([]float64, error) {
	b, err := checkProbs(probs, c)
	if err != nil {
		return nil, err
	}
	out := make([]float64, b)
	for i := range out {
		var h float64
		for _, v := range probs[i*c : (i+1)*c] {
			if p := float64(v); p > 0 {
				h -= p * math.Log(p)
			}
		}
		out[i] = h
	}
	return out, nil
}

// Confidence returns the largest probability of each row of probs [B, C].
func Confidence[F Float](probs []F, c int) ([]float64, error) {
	b, err := checkProbs(probs, c)
	if err != nil {
		return nil, err
	}
	out := make([]float64, b)
	for i := range out {
		_, out[i] = argmax(probs[i*c : (i+1)*c])
	}
	return out, nil
}
