package metrics_test

import (
	"fmt"

	"github.com/fiberbnn/fiberbnn/fiberlib/metrics"
)

func Example() {
	// Averaged predictive probabilities of 4 test points over 3 classes, and their labels.
	probs := []float64{
		0.7, 0.2, 0.1,
		0.1, 0.6, 0.3,
		0.2, 0.2, 0.6,
		0.5, 0.5, 0.0,
	}
	labels := []int32{0, 2, 2, 1}
	acc, _ := metrics.Accuracy(probs, 3, labels)
	nll, _ := metrics.NLL(probs, 3, labels)
	ece, _ := metrics.ECE(probs, 3, labels)
	brier, _ := metrics.Brier(probs, 3, labels)
	fmt.Printf("accuracy %.2f, NLL %.4f, ECE %.1f%%, Brier %.3f\n", acc, nll, ece, brier)

	// Test NLL on four splits, for a benchmark table: deviations (−0.07, 0.04, −0.10, 0.13) give
	// s = √(0.0334/3) = 0.10551, SE = s/√4 = 0.0528.
	fmt.Println(metrics.MustSummarize([]float64{2.41, 2.52, 2.38, 2.61}))
	// Output:
	// accuracy 0.50, NLL 0.6912, ECE 25.0%, Brier 0.435
	// 2.480 ± 0.053
}
