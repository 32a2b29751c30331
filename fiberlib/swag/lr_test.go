package swag_test

import (
	"math"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/swag"
)

// An automatic learning rate whose SGD phase diverges is halved and the phase rerun: on the gap toy with
// batches of 4, 0.8 of the stability limit diverges (given explicitly, Fit reports it), and the automatic
// rate at that fraction ends at 0.4 of the limit with finite moments.
func TestAutomaticLearningRateHalvesOnDivergence(t *testing.T) {
	net, theta := gapSetup(t)
	s, err := swag.Fit(net, theta, swag.Options{LRFraction: 0.8, BatchSize: 4, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	limit := 2 * (1 + s.Options().Momentum) / s.LambdaMax
	got := s.Options().LearningRate / limit
	t.Logf("automatic rate: %.3g = %.3f of the stability limit (asked 0.8)", s.Options().LearningRate, got)
	if math.Abs(got-0.4) > 1e-6 {
		t.Errorf("learning rate %.4f of the limit, want 0.4 (0.8 halved once)", got)
	}
	for i, m := range s.Mean {
		if math.IsNaN(float64(m)) || math.IsInf(float64(m), 0) {
			t.Fatalf("SWAG mean[%d] = %g", i, m)
		}
	}
	_, err = swag.Fit(net, theta, swag.Options{LearningRate: 0.8 * limit, BatchSize: 4, Seed: 5})
	if err == nil || !strings.Contains(err.Error(), "diverged") {
		t.Errorf("explicit rate 0.8 of the limit: err = %v, want a divergence (a given rate is not changed)", err)
	}
}
