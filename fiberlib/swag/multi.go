package swag

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/fiberbnn/fiberbnn/fiberlib/samples"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Multi is MultiSWAG (Wilson & Izmailov, "Bayesian Deep Learning and a Probabilistic Perspective of
// Generalization", NeurIPS 2020): one SWAG per start (normally the members of a deep ensemble), sampled as an
// equal-weight mixture.
type Multi struct {
	// Members are the fitted SWAGs, one per start.
	Members []*SWAG
	// FitSeconds is the wall time of FitMulti (compilation included).
	FitSeconds float64

	mu  sync.Mutex
	smp *Exec
}

// FitMulti runs the SWAG phase from every row of starts [M, P] (row-major; normally the members of a deep
// ensemble) in ONE compiled computation: the M SGD runs share the minibatch order and the learning rate
// (chosen, when automatic, from the curvature at the first start). Each member is what Fit would give from
// its start with that learning rate.
func FitMulti(net *posterior.Network, starts []float32, opts Options) (*Multi, error) {
	t0 := time.Now()
	if net == nil {
		return nil, fmt.Errorf("swag.FitMulti: nil network")
	}
	p := net.NumParams()
	if len(starts) == 0 || len(starts)%p != 0 {
		return nil, fmt.Errorf("swag.FitMulti: %d start values, want M×P with P=%d (one row per start)", len(starts), p)
	}
	ms, err := fitStarts(net, starts, len(starts)/p, opts)
	if err != nil {
		return nil, err
	}
	return &Multi{Members: ms, FitSeconds: time.Since(t0).Seconds()}, nil
}

// MustFitMulti is FitMulti that panics on error; for notebooks.
func MustFitMulti(net *posterior.Network, starts []float32, opts Options) *Multi {
	m, err := FitMulti(net, starts, opts)
	if err != nil {
		panic(err)
	}
	return m
}

// Sample draws n parameter vectors from the mixture, in one compiled call: draw i comes from member i mod M
// (equal weights), as that member's Sample would draw it (θ_SWA + √s (Σ_diag^{1/2} ⊙ z₁ + Dᵀ z₂/√(K'−1))),
// with z₁ [n, P] and z₂ [n, K'] standard normal from the PCG stream (seed, 0x5a9). It returns a samples.Set
// (method "multiswag") with each sample's per-datum training loss U(θ)/n.
func (mu *Multi) Sample(n int, seed uint64) (*samples.Set, error) {
	if n < 1 {
		return nil, fmt.Errorf("swag.Multi.Sample: n=%d, want >= 1", n)
	}
	t0 := time.Now()
	s0 := mu.Members[0]
	m, p, k := len(mu.Members), s0.P, max(s0.Rank, 1)
	mu.mu.Lock()
	if mu.smp == nil {
		scale := math.Sqrt(s0.opts.Scale)
		lowRank := s0.Rank > 0
		rank := s0.Rank
		ex, err := NewExec(s0.backend, func(mean, variance, dev, idx, z1, z2 *Node) *Node {
			ix := ExpandAxes(idx, -1) // [n, 1]
			out := Add(Gather(mean, ix), MulScalar(Mul(z1, Sqrt(Gather(variance, ix))), scale))
			if lowRank {
				out = Add(out, MulScalar(Einsum("nk,nkp->np", z2, Gather(dev, ix)), scale/math.Sqrt(float64(rank-1))))
			}
			return out
		})
		if err != nil {
			mu.mu.Unlock()
			return nil, fmt.Errorf("swag.Multi.Sample: %w", err)
		}
		mu.smp = ex.WithName("swag.multisample")
	}
	mu.mu.Unlock()
	mean, variance, dev := make([]float32, 0, m*p), make([]float32, 0, m*p), make([]float32, 0, m*k*p)
	for _, s := range mu.Members {
		mean, variance = append(mean, s.Mean...), append(variance, s.Variance...)
		if s.Deviations != nil {
			dev = append(dev, s.Deviations...)
		} else {
			dev = append(dev, make([]float32, k*p)...)
		}
	}
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = int32(i % m)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5a9))
	z1 := make([]float32, n*p)
	for i := range z1 {
		z1[i] = float32(rng.NormFloat64())
	}
	z2 := make([]float32, n*k)
	if s0.Rank > 0 {
		for i := range z2 {
			z2[i] = float32(rng.NormFloat64())
		}
	}
	res, err := mu.smp.Call(tensors.FromFlatDataAndDimensions(mean, m, p), tensors.FromFlatDataAndDimensions(variance, m, p),
		tensors.FromFlatDataAndDimensions(dev, m, k, p), tensors.FromFlatDataAndDimensions(idx, n),
		tensors.FromFlatDataAndDimensions(z1, n, p), tensors.FromFlatDataAndDimensions(z2, n, k))
	if err != nil {
		return nil, fmt.Errorf("swag.Multi.Sample: %w", err)
	}
	theta := tensors.MustCopyFlatData[float32](res[0])
	res[0].FinalizeAll()
	set := &samples.Set{N: n, P: p, Theta: theta}
	set.Method = "multiswag"
	set.Seed = int64(seed)
	set.Dataset = s0.net.Dataset().Name
	set.FitSeconds = mu.FitSeconds
	set.SampleSeconds = time.Since(t0).Seconds() / float64(n)
	if err := set.SetNetwork(s0.net.Spec); err != nil {
		return nil, err
	}
	o := s0.opts
	set.Extras = map[string]any{
		"members": m, "covariance": string(o.Covariance), "rank": s0.Rank, "epochs": s0.Collected, "scale": o.Scale,
		"schedule": string(o.Schedule), "learning_rate": o.LearningRate, "momentum": o.Momentum,
		"batch_size": min(o.BatchSize, s0.net.NumData()), "fit_seed": o.Seed,
	}
	member := make([]float32, n)
	for i, j := range idx {
		member[i] = float32(j)
	}
	set.Diagnostics = map[string][]float32{"member": member}
	ev, err := s0.net.Evaluator()
	if err != nil {
		return nil, fmt.Errorf("swag.Multi.Sample: %w", err)
	}
	u, err := ev.Potential(theta)
	if err != nil {
		return nil, fmt.Errorf("swag.Multi.Sample: training loss: %w", err)
	}
	set.Loss = make([]float32, n)
	for i, v := range u {
		set.Loss[i] = v / float32(s0.net.NumData())
	}
	return set, set.Validate()
}

// MustSample is Sample that panics on error; for notebooks.
func (mu *Multi) MustSample(n int, seed uint64) *samples.Set {
	set, err := mu.Sample(n, seed)
	if err != nil {
		panic(err)
	}
	return set
}
