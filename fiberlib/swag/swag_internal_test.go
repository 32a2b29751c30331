package swag

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// The compiled SWAG phase runs exactly minibatch SGD with momentum and the cyclic schedule: its collected
// iterates equal those of a host loop over the same minibatches (PotentialAndGradBatch), and the mean and
// variance are those of the iterates.
func TestIteratesAreSGD(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ds := &data.Dataset{Name: "r", Task: data.Regression, N: 23, D: 2, T: 1}
	for i := 0; i < ds.N; i++ {
		a, b := rng.NormFloat64(), rng.NormFloat64()
		ds.X = append(ds.X, float32(a), float32(b))
		ds.Y = append(ds.Y, float32(math.Sin(a)+0.5*b+0.1*rng.NormFloat64()))
	}
	spec := nets.MLP(2, []int{4}, 1, nets.Tanh)
	net, err := posterior.NewNetwork(spec, ds, posterior.NetworkOptions{Sigma: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	theta0 := spec.MustInit(5)
	opts := Options{Epochs: 4, Rank: 3, BatchSize: 5, Schedule: Cyclic, LearningRate: 0.05, MinLearningRate: 0.01, Momentum: 0.8,
		KeepIterates: true, Seed: 9}
	s, err := Fit(net, theta0, opts)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := net.Evaluator()
	if err != nil {
		t.Fatal(err)
	}
	p, steps := len(theta0), ds.N/5
	idx := batchIndices(ds.N, 5, steps, 4, 9)
	theta := append([]float32(nil), theta0...)
	buf := make([]float64, p)
	for e := 0; e < 4; e++ {
		for k := 0; k < steps; k++ {
			rows := make([]int, 5)
			for i := range rows {
				rows[i] = int(idx[(e*steps+k)*5+i])
			}
			_, g, err := ev.PotentialAndGradBatch(theta, rows)
			if err != nil {
				t.Fatal(err)
			}
			f := float64(k+1) / float64(steps)
			lr := (1-f)*0.05 + f*0.01
			for j := range theta {
				buf[j] = 0.8*buf[j] + float64(g[j])/float64(ds.N)
				theta[j] = float32(float64(theta[j]) - lr*buf[j])
			}
		}
		for j := range theta {
			if got := s.Iterates[e*p+j]; math.Abs(float64(got-theta[j])) > 1e-4*(1+math.Abs(float64(theta[j]))) {
				t.Fatalf("epoch %d: iterate[%d] = %g, host SGD %g", e, j, got, theta[j])
			}
		}
	}
	if s.Collected != 4 || s.Rank != 3 || len(s.Deviations) != 3*p {
		t.Errorf("collected %d, rank %d, deviations %d values", s.Collected, s.Rank, len(s.Deviations))
	}
}

// The pure-Go backend (unrolled loop, one call per MaxUnrolledSteps steps) gives the same SWAG moments as
// XLA (one While loop for the whole phase).
func TestGoBackendMatchesXLA(t *testing.T) {
	gob, err := backend.NewWithConfig("go")
	if err != nil {
		t.Skipf("no Go backend: %v", err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	ds := &data.Dataset{Name: "r", Task: data.Classification, N: 12, D: 2, Classes: 3}
	for i := 0; i < ds.N; i++ {
		ds.X = append(ds.X, float32(rng.NormFloat64()), float32(rng.NormFloat64()))
		ds.Labels = append(ds.Labels, int32(i%3))
	}
	spec := nets.MLP(2, []int{3}, 3, nets.Tanh)
	net, err := posterior.NewNetwork(spec, ds, posterior.NetworkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	theta := spec.MustInit(1)
	opts := Options{Epochs: 3, Rank: 2, BatchSize: 4, LearningRate: 0.05, Seed: 2, MaxUnrolledSteps: 2}
	a, err := Fit(net, theta, opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Backend = gob
	b, err := Fit(net, theta, opts)
	if err != nil {
		t.Fatal(err)
	}
	for j := range a.Mean {
		if math.Abs(float64(a.Mean[j]-b.Mean[j])) > 1e-5 || math.Abs(float64(a.Variance[j]-b.Variance[j])) > 1e-6 {
			t.Fatalf("[%d]: XLA mean %g var %g, Go mean %g var %g", j, a.Mean[j], a.Variance[j], b.Mean[j], b.Variance[j])
		}
	}
	for j := range a.Deviations {
		if math.Abs(float64(a.Deviations[j]-b.Deviations[j])) > 1e-5 {
			t.Fatalf("deviation[%d]: XLA %g, Go %g", j, a.Deviations[j], b.Deviations[j])
		}
	}
}
