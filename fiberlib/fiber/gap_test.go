package fiber_test

import (
	"context"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/fiber"
	"github.com/fiberbnn/fiberbnn/fiberlib/fiber/internal/fibertest"
)

// On the 1-D gap toy (80 points in [−2,−0.6] ∪ [0.6,2], 1×50 tanh MLP, σ = 0.1, α = 1), the walk with its
// default settings gives in-between uncertainty (epistemic std in the gap at least twice that at the
// data) without hurting the fit: its held-out predictive NLL is no worse than the MAP's.
func TestGapToyDefaults(t *testing.T) {
	b := testBackend(t)
	g, err := fibertest.NewGap(b, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := fiber.Walk(context.Background(), b, g.Net, g.MAP, fiber.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r.Summary())
	mapEval, err := g.Evaluate(g.MAP)
	if err != nil {
		t.Fatal(err)
	}
	e, err := g.Evaluate(r.Positions)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("epistemic std: gap %.4f, data %.4f (ratio %.1f); held-out NLL: walk %.4f, MAP %.4f",
		e.StdGap, e.StdDat, e.StdGap/e.StdDat, e.NLL, mapEval.NLL)
	if len(r.Stopped) > 0 {
		t.Errorf("%d particles stopped: %v", len(r.Stopped), r.Stopped)
	}
	if e.StdGap < 2*e.StdDat {
		t.Errorf("std in the gap %.4f < 2 × std at the data %.4f", e.StdGap, e.StdDat)
	}
	if e.NLL > mapEval.NLL {
		t.Errorf("walk's held-out NLL %.4f is worse than the MAP's %.4f", e.NLL, mapEval.NLL)
	}
	for _, rise := range r.FinalRise() {
		if rise > r.Settings.Tau*1.001 {
			t.Errorf("final rise %.4g above τ = %.4g", rise, r.Settings.Tau)
		}
	}
}
