package flow

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/laplace"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// BenchmarkPeerFlowPredictive is the flow side of bench/peers (scripts/bench-peers.sh): on the problem that
// fiberlib/laplace's BenchmarkPeerLaplace writes to FIBERBNN_PEERS_LAPLACE_DIR (UCI kin8nm, 8 → 50 → 1 tanh
// MLP and its MAP), it times drawing 100 parameter vectors from a stage-2 flow and the Monte Carlo
// predictive (Bayesian model average) of those 100 networks on the test set: the counterpart of
// laplace-torch's sampling ("nn") predictive with 100 samples.
//
// The flow has the default architecture on a subspace fitted to 64 stand-in walk samples (θ* plus Gaussian
// noise of scale 0.05; a short training of 200 steps): the cost of sampling and predicting depends on the
// architecture, the rank and P, not on how well the flow was trained. Fitting is not timed.
//
//	FIBERBNN_PEERS_LAPLACE_DIR=/tmp/p go test -run '^$' -bench 'PeerFlowPredictive$' -benchtime 3x ./fiberlib/flow/
func BenchmarkPeerFlowPredictive(b *testing.B) {
	if peerFlow.f == nil {
		peerFlow.f, peerFlow.net, peerFlow.xtest = peerFlowProblem(b)
	}
	f, net, xtest := peerFlow.f, peerFlow.net, peerFlow.xtest
	const draws = 100
	run := func(seed uint64) {
		d, err := f.Sample(draws, seed)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := laplace.NetworkPredictive(net, d.Theta, xtest); err != nil {
			b.Fatal(err)
		}
	}
	run(1) // compile
	b.ResetTimer()
	t0 := time.Now()
	for i := 0; i < b.N; i++ {
		run(uint64(i + 2))
	}
	b.ReportMetric(time.Since(t0).Seconds()/float64(b.N), "s/op")
	b.ReportMetric(float64(f.Rank()), "rank")
	b.ReportMetric(0, "ns/op")
}

// peerFlow caches the benchmark's flow across the calls of the benchmark function (b.N = 1, then more).
var peerFlow struct {
	f     *Flow
	net   *posterior.Network
	xtest []float32
}

// peerFlowProblem reads the problem and fits the flow (not timed).
func peerFlowProblem(b *testing.B) (*Flow, *posterior.Network, []float32) {
	dir := os.Getenv("FIBERBNN_PEERS_LAPLACE_DIR")
	if dir == "" {
		b.Skip("FIBERBNN_PEERS_LAPLACE_DIR is not set (written by fiberlib/laplace BenchmarkPeerLaplace)")
	}
	var meta struct {
		N, M, D, Params int
		Hidden          []int
		Sigma, Alpha    float64
	}
	raw, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		b.Fatal(err)
	}
	read := func(name string, n int) []float32 {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		if len(raw) != 4*n {
			b.Fatalf("%s: %d bytes, want %d", name, len(raw), 4*n)
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24)
		}
		return v
	}
	train := &data.Dataset{Name: "peer", Task: data.Regression, N: meta.N, D: meta.D, T: 1,
		X: read("xtrain", meta.N*meta.D), Y: read("ytrain", meta.N)}
	xtest := read("xtest", meta.M*meta.D)
	theta := read("theta", meta.Params)
	spec := nets.MLP(meta.D, meta.Hidden, 1, nets.Tanh)
	net, err := posterior.NewNetwork(spec, train, posterior.NetworkOptions{Sigma: meta.Sigma, PriorPrecision: meta.Alpha})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	const walkers = 64
	samples := make([]float32, walkers*meta.Params)
	for i := range samples {
		samples[i] = theta[i%meta.Params] + float32(0.05*rng.NormFloat64())
	}
	f, err := Fit(theta, samples, SubspaceOptions{}, Options{Seed: 1}, TrainOptions{MaxSteps: 100, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	return f, net, xtest
}
