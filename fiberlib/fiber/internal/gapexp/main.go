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
	"github.com/fiberbnn/fiberbnn/fiberlib/fiber/internal/fibertest"
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
	t0 := time.Now()
	g, err := fibertest.NewGap(b, 1)
	check(err)
	fmt.Printf("MAP fit %v, P = %d\n", time.Since(t0).Round(time.Millisecond), g.Net.NumParams())
	mapEval, err := g.Evaluate(g.MAP)
	check(err)
	w, err := fiber.NewWalker(b, g.Net, g.MAP, fiber.Options{Particles: 1, Steps: 1, Eta: 1, Epsilon: 1})
	check(err)
	fmt.Printf("MAP: loss/datum %.4f (with the likelihood and prior constants), test NLL %.4f\n", w.LossMAP(), mapEval.NLL)
	tau := float64(g.Net.NumParams()) / float64(2*g.Net.NumData())
	configs := []config{
		{"paper-1e-3-T2000", fiber.Options{Control: fiber.ControlNone, FixedEpsilon: true, Epsilon: 1e-3, Eta: 1e-3, Steps: 2000}},
		{"paper-1e-3-T20000", fiber.Options{Control: fiber.ControlNone, FixedEpsilon: true, Epsilon: 1e-3, Eta: 1e-3, Steps: 20000}},
		{"budget-default", fiber.Options{}},
		{"budget-T500", fiber.Options{Steps: 500}},
		{"budget-T8000", fiber.Options{Steps: 8000}},
		{"budget-tau/4", fiber.Options{Tau: tau / 4}},
		{"budget-tau/2", fiber.Options{Tau: tau / 2}},
		{"budget-tau*2", fiber.Options{Tau: tau * 2}},
		{"budget-project", fiber.Options{Project: true}},
		{"budget-noise1", fiber.Options{NoiseTemperature: 1}},
		{"budget-batch16", fiber.Options{BatchSize: 16}},
		{"budget-batch40", fiber.Options{BatchSize: 40}},
		{"budget-fixedeps", fiber.Options{FixedEpsilon: true, Epsilon: 0.01}},
		{"budget-growth0.03", fiber.Options{EpsilonGrowth: 0.03}},
		{"T4000-g0.03", fiber.Options{Steps: 4000, EpsilonGrowth: 0.03}},
		{"T8000-g0.03", fiber.Options{Steps: 8000, EpsilonGrowth: 0.03}},
		{"T16000", fiber.Options{Steps: 16000}},
		{"T8000-tau/2", fiber.Options{Steps: 8000, Tau: tau / 2}},
		{"T8000-project", fiber.Options{Steps: 8000, Project: true}},
		{"T8000-noise1", fiber.Options{Steps: 8000, NoiseTemperature: 1}},
		{"T4000-noise1-g0.03", fiber.Options{Steps: 4000, NoiseTemperature: 1, EpsilonGrowth: 0.03}},
		{"T16000-noise1", fiber.Options{Steps: 16000, NoiseTemperature: 1}},
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
			r, err := fiber.Walk(context.Background(), b, g.Net, g.MAP, o)
			if err != nil {
				fmt.Printf("%-20s %v\n", c.name, err)
				continue
			}
			el := time.Since(t0)
			e, err := g.Evaluate(r.Positions)
			check(err)
			rise := r.FinalRise()
			fmt.Printf("%-20s %4d %8.4f %8.4f %8.3f %7.4f %7.4f %6.2f %8.4f %+8.4f %3d/%-3d %6.1fs  τ=%.3g η=%.3g ε₀=%.3g halv=%d\n",
				c.name, o.Seed, mean(rise), maxOf(rise), mean(r.Distances()), e.StdGap, e.StdDat, e.StdGap/e.StdDat,
				e.NLL, e.NLL-mapEval.NLL, len(r.Stopped), r.Particles, el.Seconds(),
				r.Settings.Tau, r.Settings.Eta, r.Settings.Epsilon, sum(r.Halvings))
		}
	}
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
