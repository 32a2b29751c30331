package metrics

import (
	"fmt"
	"math"
)

// Float is the element type accepted for predictions, targets and probabilities.
type Float interface{ ~float32 | ~float64 }

// ProbTolerance is how far a row of probabilities may sum from 1.
const ProbTolerance = 1e-5

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// checkValues verifies that x is non-empty and finite.
func checkValues[F Float](what string, x []F) error {
	if len(x) == 0 {
		return fmt.Errorf("metrics: %s is empty", what)
	}
	for i, v := range x {
		if !isFinite(float64(v)) {
			return fmt.Errorf("metrics: %s[%d] is %v", what, i, v)
		}
	}
	return nil
}

// checkPair verifies two non-empty finite slices of equal length.
func checkPair[A, B Float](an string, a []A, bn string, b []B) error {
	if len(a) != len(b) {
		return fmt.Errorf("metrics: %s has %d values but %s has %d", an, len(a), bn, len(b))
	}
	if err := checkValues(an, a); err != nil {
		return err
	}
	return checkValues(bn, b)
}

// checkProbs verifies probs [B, C]: C >= 2 (or C >= 1 for allowOne), a whole number of rows, each value in
// [0, 1] and each row summing to 1 within ProbTolerance. It returns B.
func checkProbs[F Float](probs []F, c int) (int, error) {
	if c < 1 {
		return 0, fmt.Errorf("metrics: C=%d classes, want >= 1", c)
	}
	if len(probs) == 0 {
		return 0, fmt.Errorf("metrics: no probabilities (empty input)")
	}
	if len(probs)%c != 0 {
		return 0, fmt.Errorf("metrics: %d probabilities are not a whole number of rows of C=%d classes", len(probs), c)
	}
	b := len(probs) / c
	for i := 0; i < b; i++ {
		var sum float64
		for k, v := range probs[i*c : (i+1)*c] {
			p := float64(v)
			if math.IsNaN(p) || p < 0 || p > 1 {
				return 0, fmt.Errorf("metrics: probability of class %d at point %d is %v, want a value in [0, 1]", k, i, v)
			}
			sum += p
		}
		if math.Abs(sum-1) > ProbTolerance {
			return 0, fmt.Errorf("metrics: probabilities at point %d sum to %.9g, want 1 (±%g): pass probabilities, not logits", i, sum, ProbTolerance)
		}
	}
	return b, nil
}

// checkLabels verifies b labels in [0, c).
func checkLabels(labels []int32, b, c int) error {
	if len(labels) != b {
		return fmt.Errorf("metrics: %d labels for %d points", len(labels), b)
	}
	for i, y := range labels {
		if y < 0 || int(y) >= c {
			return fmt.Errorf("metrics: label %d of point %d out of range [0, %d)", y, i, c)
		}
	}
	return nil
}

// argmax returns the index of the largest value (the lowest index among ties) and the value.
func argmax[F Float](row []F) (int, float64) {
	best, bv := 0, float64(row[0])
	for k, v := range row[1:] {
		if float64(v) > bv {
			best, bv = k+1, float64(v)
		}
	}
	return best, bv
}
