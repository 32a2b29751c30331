package metrics

import (
	"fmt"
	"math"
)

// Summary is the mean of a metric over N data splits (or seeds) and its standard error.
type Summary struct {
	Mean float64
	// SE is the standard error of the mean, s/√N with s the sample standard deviation (N−1 denominator);
	// NaN when N = 1 (undefined).
	SE float64
	N  int
}

// Summarize returns the mean and standard error of values (one per split). Values must be finite.
func Summarize[F Float](values []F) (Summary, error) {
	if err := checkValues("values", values); err != nil {
		return Summary{}, err
	}
	n := float64(len(values))
	var mean float64
	for _, v := range values {
		mean += float64(v)
	}
	mean /= n
	s := Summary{Mean: mean, SE: math.NaN(), N: len(values)}
	if len(values) > 1 {
		var ss float64
		for _, v := range values {
			d := float64(v) - mean
			ss += d * d
		}
		s.SE = math.Sqrt(ss/(n-1)) / math.Sqrt(n)
	}
	return s, nil
}

// MustSummarize is Summarize for notebooks: it panics on error.
func MustSummarize[F Float](values []F) Summary {
	s, err := Summarize(values)
	if err != nil {
		panic(err)
	}
	return s
}

// String formats s as "mean ± SE" with 3 decimals, e.g. "2.871 ± 0.034" ("2.871 ± n/a" for one value).
func (s Summary) String() string { return s.Format(3) }

// Format formats s as "mean ± SE" with the given number of decimals.
func (s Summary) Format(decimals int) string {
	if math.IsNaN(s.SE) {
		return fmt.Sprintf("%.*f ± n/a", decimals, s.Mean)
	}
	return fmt.Sprintf("%.*f ± %.*f", decimals, s.Mean, decimals, s.SE)
}
