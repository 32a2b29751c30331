package metrics

import (
	"fmt"
	"math"
)

// RMSE returns the root mean squared error √((1/B) Σ (pred_i − y_i)²) of predictions against targets.
func RMSE[P, T Float](pred []P, y []T) (float64, error) {
	if err := checkPair("predictions", pred, "targets", y); err != nil {
		return 0, err
	}
	var ss float64
	for i := range pred {
		d := float64(pred[i]) - float64(y[i])
		ss += d * d
	}
	return math.Sqrt(ss / float64(len(y))), nil
}

// GaussianNLLPerPoint returns −log N(y_i; mean_i, variance_i) = ½ log(2π variance_i) + (y_i − mean_i)²/(2 variance_i)
// for each point. Variances must be > 0.
func GaussianNLLPerPoint[M, V, T Float](mean []M, variance []V, y []T) ([]float64, error) {
	if err := checkPair("means", mean, "targets", y); err != nil {
		return nil, err
	}
	if err := checkPair("variances", variance, "targets", y); err != nil {
		return nil, err
	}
	out := make([]float64, len(y))
	for i := range y {
		v := float64(variance[i])
		if v <= 0 {
			return nil, fmt.Errorf("metrics: variance %d is %v, want > 0", i, v)
		}
		d := float64(y[i]) - float64(mean[i])
		out[i] = 0.5*math.Log(2*math.Pi*v) + d*d/(2*v)
	}
	return out, nil
}

// GaussianNLL returns the mean over points of GaussianNLLPerPoint.
func GaussianNLL[M, V, T Float](mean []M, variance []V, y []T) (float64, error) {
	per, err := GaussianNLLPerPoint(mean, variance, y)
	if err != nil {
		return 0, err
	}
	return meanOf(per), nil
}

func meanOf(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
