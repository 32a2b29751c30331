// Command uciexp checks the walk's default settings on UCI regression (standard splits, 1×50 tanh MLP,
// standardised inputs and target, α = 1, σ fitted at the MAP): test NLL and RMSE in original units of the
// MAP and of the walk's final positions, with the walk's loss rise, distance and stops. Run it with
//
//	go run ./fiberlib/fiber/internal/uciexp -sets bostonHousing,energy -splits 2
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
	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/fiber"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/fiberbnn/fiberbnn/fiberlib/predict"
	"github.com/fiberbnn/fiberbnn/fiberlib/train"
)

var (
	flagSets   = flag.String("sets", "bostonHousing", "comma-separated UCI regression sets")
	flagSplits = flag.Int("splits", 1, "number of splits (from 0)")
	flagSteps  = flag.String("steps", "4000", "comma-separated walk lengths to compare")
	flagN      = flag.Int("particles", 64, "particles")
	flagTau    = flag.Float64("taufrac", 1, "τ as a fraction of the default P/(2n)")
	flagNoise  = flag.Float64("noise", 0, "NoiseTemperature")
)

func main() {
	flag.Parse()
	b := backend.MustNew()
	dir, err := data.Dir()
	check(err)
	fmt.Printf("%-14s %5s %6s %9s %9s %8s %8s %8s %8s %8s %5s %7s\n", "set", "split", "T", "NLL-MAP", "NLL-walk",
		"RMSE-MAP", "RMSE-wk", "rise", "τ", "dist", "stop", "time")
	for _, name := range strings.Split(*flagSets, ",") {
		for k := 0; k < *flagSplits; k++ {
			trainSet, testSet, err := data.LoadUCIRegression(dir, name, k)
			check(err)
			std, sets, err := data.Standardize(trainSet, testSet)
			check(err)
			tr, te := sets[0], sets[1]
			spec := nets.MLP(tr.D, []int{50}, 1, nets.Tanh)
			net, err := posterior.NewNetwork(spec, tr, posterior.NetworkOptions{Sigma: 1, PriorPrecision: 1})
			check(err)
			// MAP with σ = 1, σ by maximum likelihood at the MAP, then the MAP again from there with that σ
			// (twice).
			var theta []float32
			for round := 0; round < 3; round++ {
				res, err := train.MAP(net, train.Options{Epochs: 5000, BatchSize: tr.N, LearningRate: 0.01 / float64(1+round),
					Schedule: train.CosineLR, Seed: uint64(k + 1), Init: theta, FitNoise: round < 2, Backend: b})
				check(err)
				theta = res.Theta
				if round < 2 {
					net, err = net.WithSigma(math.Max(res.Sigma[0], 0.05))
					check(err)
				}
			}
			mapNLL, mapRMSE := testMetrics(net, std, theta, te)
			for _, ts := range strings.Split(*flagSteps, ",") {
				var steps int
				fmt.Sscan(ts, &steps)
				t0 := time.Now()
				r, err := fiber.Walk(context.Background(), b, net, theta, fiber.Options{Seed: int64(k + 1), Steps: steps, Particles: *flagN,
					Tau: *flagTau * float64(net.NumParams()) / float64(2*net.NumData()), NoiseTemperature: *flagNoise})
				check(err)
				el := time.Since(t0)
				nll, rmse := testMetrics(net, std, r.Positions, te)
				fmt.Printf("%-14s %5d %6d %9.4f %9.4f %8.4f %8.4f %8.4f %8.4f %8.3f %5d %6.0fs  σ=%.3f η=%.3g halv=%d\n", name, k, steps,
					mapNLL, nll, mapRMSE, rmse, mean(r.FinalRise()), r.Settings.Tau, mean(r.Distances()), len(r.Stopped),
					el.Seconds(), net.Sigma, r.Settings.Eta, sum(r.Halvings))
			}
		}
	}
}

// testMetrics returns the BMA test NLL per point and RMSE, in the target's original units.
func testMetrics(net *posterior.Network, std *data.Standardizer, thetas []float32, te *data.Dataset) (float64, float64) {
	s := len(thetas) / net.NumParams()
	out, err := net.Predict(thetas, te.X)
	check(err)
	reg, err := predict.NewRegression(out.Values, []float32{float32(net.Sigma)}, s, te.N)
	check(err)
	nll, err := reg.NLL(te.Y)
	check(err)
	rmse, err := reg.RMSE(te.Y)
	check(err)
	r, err := std.RMSEToOriginal(rmse)
	check(err)
	return std.NLLToOriginal(mean(nll)), r
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
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
