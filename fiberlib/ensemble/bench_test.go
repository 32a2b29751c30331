package ensemble_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/ensemble"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/fiberbnn/fiberbnn/fiberlib/train"
)

// BenchmarkFit measures training an ensemble of 5 members (Adam, batch 32, 100 epochs, one compiled
// computation for all members; compilation included, as train compiles per call) on the 1-D gap toy
// (1×50 tanh) and a Boston-sized regression (synthetic, n = 455, D = 13, 1×50 tanh); the per-sample cost
// of an ensemble is its fit divided by M.
func BenchmarkFit(b *testing.B) {
	gap, err := data.GapRegression(data.GapOptions{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 1))
	bos := &data.Dataset{Name: "boston-sized", Task: data.Regression, N: 455, D: 13, T: 1}
	for i := 0; i < bos.N; i++ {
		s := 0.0
		for j := 0; j < bos.D; j++ {
			x := rng.NormFloat64()
			s += x * float64(j%3-1)
			bos.X = append(bos.X, float32(x))
		}
		bos.Y = append(bos.Y, float32(math.Sin(s)+0.3*rng.NormFloat64()))
	}
	for _, c := range []struct {
		name string
		ds   *data.Dataset
	}{{"gap", gap}, {"boston-sized", bos}} {
		net := posterior.MustNewNetwork(nets.MLP(c.ds.D, []int{50}, 1, nets.Tanh), c.ds, posterior.NetworkOptions{Sigma: 0.3})
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := ensemble.Fit(net, ensemble.Options{Train: train.Options{LearningRate: 0.01, Epochs: 100, Seed: uint64(i)}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
