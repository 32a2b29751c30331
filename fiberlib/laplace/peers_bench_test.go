package laplace_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/laplace"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// The Laplace side of bench/peers (scripts/bench-peers.sh): the same network, MAP, training data and test
// set as bench/peers/laplace_torch.py, which reads them from the folder this benchmark writes when
// FIBERBNN_PEERS_LAPLACE_DIR is set (fiberlib/flow's BenchmarkPeerFlowPredictive reads it too).
//
// Problem: UCI kin8nm, split 0 of the standard splits (FIBERBNN_DATA), inputs and targets standardised with
// the training statistics, tanh MLP 8 → 50 → 1, σ = 0.3, α = 1, MAP by 1000 full-batch Adam steps.
//
//	FIBERBNN_DATA=... go test -run '^$' -bench 'PeerLaplace$' -benchtime 1x ./fiberlib/laplace/
const (
	peerSet    = "kin8nm"
	peerSigma  = 0.3
	peerAlpha  = 1.0
	peerHidden = 50
)

// peerLaplaceProblem loads the data set, fits the MAP and writes the problem for the torch peer.
func peerLaplaceProblem(b *testing.B) (*posterior.Network, []float32, []float32) {
	if benchCache["peer"].net != nil {
		p := benchCache["peer"]
		return p.net, p.theta, p.x
	}
	dir := os.Getenv("FIBERBNN_DATA")
	if dir == "" {
		b.Skip("FIBERBNN_DATA is not set (the UCI regression sets)")
	}
	train, test, err := data.LoadUCIRegression(dir, peerSet, 0)
	if err != nil {
		b.Fatal(err)
	}
	_, std, err := data.Standardize(train, test)
	if err != nil {
		b.Fatal(err)
	}
	train, test = std[0], std[1]
	spec := nets.MLP(train.D, []int{peerHidden}, 1, nets.Tanh)
	net, err := posterior.NewNetwork(spec, train, posterior.NetworkOptions{Sigma: peerSigma, PriorPrecision: peerAlpha})
	if err != nil {
		b.Fatal(err)
	}
	theta := fitMAP(b, net, spec.MustInit(1), 1000, 0.01)
	benchCache["peer"] = benchProblem{"peer", net, theta, test.X}
	if out := peerProblemDir(); out != "" {
		meta := map[string]any{"set": peerSet, "split": 0, "n": train.N, "m": test.N, "d": train.D,
			"hidden": []int{peerHidden}, "sigma": peerSigma, "alpha": peerAlpha, "params": net.NumParams()}
		writePeerFiles(b, out, meta, map[string][]float32{"xtrain": train.X, "ytrain": train.Y, "xtest": test.X,
			"ytest": test.Y, "theta": theta})
	}
	return net, theta, test.X
}

// peerProblemDir is where the problem is written for the torch peer ("" to skip).
func peerProblemDir() string { return os.Getenv("FIBERBNN_PEERS_LAPLACE_DIR") }

// writePeerFiles writes meta.json and raw little-endian float32 arrays into dir, each atomically.
func writePeerFiles(b *testing.B, dir string, meta map[string]any, arrays map[string][]float32) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	put := func(name string, raw []byte) {
		tmp := filepath.Join(dir, "."+name+".tmp")
		if err := os.WriteFile(tmp, raw, 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			b.Fatal(err)
		}
	}
	mj, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		b.Fatal(err)
	}
	put("meta.json", mj)
	for name, v := range arrays {
		raw := make([]byte, 4*len(v))
		for i, f := range v {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
		}
		put(name, raw)
	}
}

// peerVariants are the Laplace variants timed on both sides (laplace-torch names in the labels).
var peerVariants = []struct {
	name string
	opts laplace.Options
}{
	{"last_layer/kron", laplace.Options{SubsetOfWeights: laplace.LastLayer, HessianStructure: laplace.Kron}},
	{"last_layer/full", laplace.Options{SubsetOfWeights: laplace.LastLayer, HessianStructure: laplace.Full}},
	{"all/diag", laplace.Options{SubsetOfWeights: laplace.AllWeights, HessianStructure: laplace.Diag}},
	{"all/kron", laplace.Options{SubsetOfWeights: laplace.AllWeights, HessianStructure: laplace.Kron}},
}

// BenchmarkPeerLaplace times, per variant: fit (curvature on the training set and its decomposition, α kept:
// Tuning = TuneNone, as laplace-torch's fit), the GLM predictive on the test set, and the NN (sampling)
// predictive with 100 parameter samples on the test set. Metric: s/op of each phase (each phase run once
// after a warm-up call that compiles).
func BenchmarkPeerLaplace(b *testing.B) {
	net, theta, xtest := peerLaplaceProblem(b)
	for _, v := range peerVariants {
		opts := v.opts
		opts.Tuning = laplace.TuneNone
		b.Run(v.name+"/fit", func(b *testing.B) {
			if _, err := laplace.Fit(net, theta, opts); err != nil { // compile
				b.Fatal(err)
			}
			b.ResetTimer()
			t0 := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := laplace.Fit(net, theta, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(time.Since(t0).Seconds()/float64(b.N), "s/op")
			b.ReportMetric(0, "ns/op")
		})
		la, err := laplace.Fit(net, theta, opts)
		if err != nil {
			b.Fatal(err)
		}
		for _, pred := range []laplace.PredictOptions{{PredType: laplace.GLM}, {PredType: laplace.NN, Samples: 100}} {
			b.Run(fmt.Sprintf("%s/pred_%s", v.name, pred.PredType), func(b *testing.B) {
				if _, err := la.Predictive(xtest, pred); err != nil { // compile
					b.Fatal(err)
				}
				b.ResetTimer()
				t0 := time.Now()
				for i := 0; i < b.N; i++ {
					if _, err := la.Predictive(xtest, pred); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(time.Since(t0).Seconds()/float64(b.N), "s/op")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
