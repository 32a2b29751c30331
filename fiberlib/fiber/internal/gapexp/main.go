// Command gapexp compares walk settings on the 1-D gap toy (80 points in [−2,−0.6] ∪ [0.6,2],
// y = sin 2x + N(0, 0.1²), 1×50 tanh MLP, σ = 0.1, α = 1): loss rise, distance, epistemic std in the gap
// and at the data, and held-out predictive NLL against the MAP. It is the evidence behind the package's
// defaults; run it with `go run ./fiberlib/fiber/internal/gapexp`.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/fiber"
	"github.com/fiberbnn/fiberbnn/fiberlib/fiber/internal/toymlp"
)

var (
	flagOnly  = flag.String("only", "", "comma-separated config names to run (default all)")
	flagSeeds = flag.Int("seeds", 1, "number of walk seeds per config")
)

type config struct {
	name string
	opts fiber.Options
}

func main() {
	flag.Parse()
	b := backend.MustNew()
	x, y := toymlp.GapToy(80, 0.1, 1)
	m, err := toymlp.New([]int{1, 50, 1}, 0.1, 1, x, y)
	check(err)
	t0 := time.Now()
	mapTheta, err := toymlp.FitMAP(b, m, 1, 20000, 0.01)
	check(err)
	fmt.Printf("MAP fit %v, P = %d\n", time.Since(t0).Round(time.Millisecond), m.NumParams())

	// Held-out points from the data distribution; grids in the gap and over the data.
	xt, yt := toymlp.GapToy(500, 0.1, 2)
	var gap, dat []float32
	for i := 0; i <= 20; i++ {
		gap = append(gap, float32(-0.3+0.6*float64(i)/20))
		dat = append(dat, float32(0.6+1.4*float64(i)/20), float32(-0.6-1.4*float64(i)/20))
	}
	mapEval := evaluate(b, m, mapTheta, xt, yt, gap, dat)
	fmt.Printf("MAP: loss/datum %.4f, test NLL %.4f\n", perDatum(b, m, mapTheta), mapEval.nll)

	configs := []config{
		{"paper-1e-3-T2000", fiber.Options{Control: fiber.ControlNone, FixedEpsilon: true, Epsilon: 1e-3, Eta: 1e-3, Steps: 2000}},
		{"paper-1e-3-T20000", fiber.Options{Control: fiber.ControlNone, FixedEpsilon: true, Epsilon: 1e-3, Eta: 1e-3, Steps: 20000}},
		{"budget-default", fiber.Options{}},
		{"budget-T500", fiber.Options{Steps: 500}},
		{"budget-T8000", fiber.Options{Steps: 8000}},
		{"budget-tau/4", fiber.Options{Tau: 151.0 / 160 / 4}},
		{"budget-tau/2", fiber.Options{Tau: 151.0 / 160 / 2}},
		{"budget-tau*2", fiber.Options{Tau: 151.0 / 160 * 2}},
		{"budget-project", fiber.Options{Project: true}},
		{"budget-noise1", fiber.Options{NoiseTemperature: 1}},
		{"budget-batch16", fiber.Options{BatchSize: 16}},
		{"budget-fixedeps", fiber.Options{FixedEpsilon: true, Epsilon: 0.01}},
		{"budget-growth0.03", fiber.Options{EpsilonGrowth: 0.03}},
		{"T4000-g0.03", fiber.Options{Steps: 4000, EpsilonGrowth: 0.03}},
		{"T8000-g0.03", fiber.Options{Steps: 8000, EpsilonGrowth: 0.03}},
		{"T16000", fiber.Options{Steps: 16000}},
		{"T8000-tau/2", fiber.Options{Steps: 8000, Tau: 151.0 / 160 / 2}},
		{"T8000-project", fiber.Options{Steps: 8000, Project: true}},
	}
	only := map[string]bool{}
	for _, s := range strings.Split(*flagOnly, ",") {
		if s != "" {
			only[s] = true
		}
	}
	fmt.Printf("%-20s %4s %8s %8s %8s %7s %7s %6s %8s %8s %7s %6s\n", "config", "seed", "rise", "riseMax", "dist",
		"stdGap", "stdDat", "ratio", "NLL", "ΔNLL", "stop", "time")
	for _, c := range configs {
		if len(only) > 0 && !only[c.name] {
			continue
		}
		for seed := 0; seed < *flagSeeds; seed++ {
			o := c.opts
			o.Seed = int64(seed + 1)
			t0 := time.Now()
			r, err := fiber.Walk(context.Background(), b, m, mapTheta, o)
			if err != nil {
				fmt.Printf("%-20s %v\n", c.name, err)
				continue
			}
			el := time.Since(t0)
			e := evaluate(b, m, r.Positions, xt, yt, gap, dat)
			rise := r.FinalRise()
			fmt.Printf("%-20s %4d %8.4f %8.4f %8.3f %7.4f %7.4f %6.2f %8.4f %+8.4f %3d/%-3d %6.1fs  τ=%.3g η=%.3g ε₀=%.3g halv=%d\n",
				c.name, o.Seed, mean(rise), maxOf(rise), mean(r.Distances()), e.stdGap, e.stdDat, e.stdGap/e.stdDat,
				e.nll, e.nll-mapEval.nll, len(r.Stopped), r.Particles, el.Seconds(),
				r.Settings.Tau, r.Settings.Eta, r.Settings.Epsilon, sum(r.Halvings))
		}
	}
}

type eval struct{ nll, stdGap, stdDat float64 }

// evaluate returns the held-out NLL per point of the Gaussian mixture over samples (σ = 0.1) and the mean
// epistemic std of f over the gap and data grids.
func evaluate(b interface{}, m *toymlp.MLP, thetas []float32, xt, yt, gap, dat []float32) eval {
	bk := backend.MustNew()
	all := append(append(append([]float32(nil), xt...), gap...), dat...)
	pred, err := toymlp.Predict(bk, m, thetas, all)
	check(err)
	s := len(pred)
	var e eval
	sig := m.Sigma
	for i := range xt {
		// log mean_s N(y | f_s, σ²)
		mx := math.Inf(-1)
		lp := make([]float64, s)
		for k := 0; k < s; k++ {
			d := float64(yt[i] - pred[k][i])
			lp[k] = -0.5*d*d/(sig*sig) - math.Log(sig) - 0.5*math.Log(2*math.Pi)
			mx = math.Max(mx, lp[k])
		}
		var acc float64
		for _, v := range lp {
			acc += math.Exp(v - mx)
		}
		e.nll -= (mx + math.Log(acc/float64(s))) / float64(len(xt))
	}
	std := func(off, cnt int) float64 {
		var tot float64
		for j := off; j < off+cnt; j++ {
			var mu, m2 float64
			for k := 0; k < s; k++ {
				mu += float64(pred[k][j]) / float64(s)
			}
			for k := 0; k < s; k++ {
				d := float64(pred[k][j]) - mu
				m2 += d * d / float64(s)
			}
			tot += math.Sqrt(m2) / float64(cnt)
		}
		return tot
	}
	e.stdGap = std(len(xt), len(gap))
	e.stdDat = std(len(xt)+len(gap), len(dat))
	return e
}

func perDatum(b interface{}, m *toymlp.MLP, theta []float32) float64 {
	w, err := fiber.NewWalker(backend.MustNew(), m, theta, fiber.Options{Eta: 1, Epsilon: 1, Particles: 1, Steps: 1})
	check(err)
	return w.LossMAP()
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

func sum(v []int) int {
	s := 0
	for _, x := range v {
		s += x
	}
	return s
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
