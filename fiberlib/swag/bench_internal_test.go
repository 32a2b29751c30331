package swag

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/fiberbnn/fiberbnn/fiberlib/train"
)

// benchNets returns the 1-D gap toy (1×50 tanh, n = 80, P = 151) and a Boston-sized regression (synthetic,
// n = 455, D = 13, 1×50 tanh, P = 751), each with a MAP from train (Adam).
func benchNets(b *testing.B) (names []string, netsOut []*posterior.Network, maps [][]float32) {
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
		name  string
		ds    *data.Dataset
		sigma float64
	}{{"gap", gap, 0.1}, {"boston-sized", bos, 0.3}} {
		net := posterior.MustNewNetwork(nets.MLP(c.ds.D, []int{50}, 1, nets.Tanh), c.ds, posterior.NetworkOptions{Sigma: c.sigma})
		r, err := train.MAP(net, train.Options{LearningRate: 0.01, Epochs: 200, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		names, netsOut, maps = append(names, c.name), append(netsOut, net), append(maps, r.Theta)
	}
	return
}

// BenchmarkFit measures the SWAG phase (20 epochs of batch-32 SGD with the moment updates, one compiled
// call, compiled once before the timing; the automatic learning rate's eigenvalue search included) and
// BenchmarkFit/.../sample the draw of 100 samples (one compiled call), reported per sample.
func BenchmarkFit(b *testing.B) {
	names, ns, maps := benchNets(b)
	for i, name := range names {
		for _, c := range []Covariance{LowRank, Diag} {
			net, theta := ns[i], maps[i]
			opts := Options{Covariance: c, Seed: 1}
			s, err := Fit(net, theta, opts)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(name+"/"+string(c)+"/fit", func(b *testing.B) {
				for k := 0; k < b.N; k++ {
					if _, err := Fit(net, theta, opts); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(name+"/"+string(c)+"/sample", func(b *testing.B) {
				if _, err := s.sampleTheta(100, 1); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for k := 0; k < b.N; k++ {
					if _, err := s.sampleTheta(100, uint64(k)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/sample")
			})
		}
	}
}

// BenchmarkFitMulti measures MultiSWAG with 5 members (starts: the MAP and 4 perturbations of it by
// N(0, 0.01²)): FitMulti (all members' SGD in one compiled call, compiled once before the timing) and
// BenchmarkFitMulti/.../sample the draw of 100 mixture samples (one compiled call, plus the per-sample
// training loss that Multi.Sample computes), reported per sample.
func BenchmarkFitMulti(b *testing.B) {
	const members = 5
	names, ns, maps := benchNets(b)
	for i, name := range names {
		net, theta := ns[i], maps[i]
		r := rand.New(rand.NewPCG(7, 7))
		starts := append([]float32(nil), theta...)
		for range members - 1 {
			for _, v := range theta {
				starts = append(starts, v+float32(0.01*r.NormFloat64()))
			}
		}
		opts := Options{Seed: 1}
		mu, err := FitMulti(net, starts, opts)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/fit", func(b *testing.B) {
			for k := 0; k < b.N; k++ {
				if _, err := FitMulti(net, starts, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/sample", func(b *testing.B) {
			if _, err := mu.Sample(100, 1); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for k := 0; k < b.N; k++ {
				if _, err := mu.Sample(100, uint64(k)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/sample")
		})
	}
}
