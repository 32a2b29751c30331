package swag

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/samples"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Sample draws n parameter vectors θ = θ_SWA + √s (Σ_diag^{1/2} ⊙ z₁ + Dᵀ z₂/√(K'−1)) (LowRank) or
// θ_SWA + √s Σ_diag^{1/2} ⊙ z₁ (Diag), with z₁ [n, P] and z₂ [n, K'] standard normal from the PCG stream
// (seed, 0x5a9), in one compiled call, and returns them as a samples.Set (method "swag") with each sample's
// per-datum training loss U(θ)/n; MAP holds the start of the SGD phase.
func (s *SWAG) Sample(n int, seed uint64) (*samples.Set, error) {
	if n < 1 {
		return nil, fmt.Errorf("swag.Sample: n=%d, want >= 1", n)
	}
	start := time.Now()
	theta, err := s.sampleTheta(n, seed)
	if err != nil {
		return nil, fmt.Errorf("swag.Sample: %w", err)
	}
	set := &samples.Set{N: n, P: s.P, Theta: theta, MAP: append([]float32(nil), s.mapT...)}
	set.Method = "swag"
	set.Seed = int64(seed)
	set.Dataset = s.net.Dataset().Name
	set.FitSeconds = s.FitSeconds
	set.SampleSeconds = time.Since(start).Seconds() / float64(n)
	if err := set.SetNetwork(s.net.Spec); err != nil {
		return nil, err
	}
	set.Extras = map[string]any{
		"covariance": string(s.opts.Covariance), "rank": s.Rank, "epochs": s.Collected, "scale": s.opts.Scale,
		"schedule": string(s.opts.Schedule), "learning_rate": s.opts.LearningRate, "momentum": s.opts.Momentum,
		"batch_size": min(s.opts.BatchSize, s.net.NumData()), "fit_seed": s.opts.Seed,
	}
	if err := set.Validate(); err != nil {
		return nil, fmt.Errorf("swag.Sample: %w", err)
	}
	ev, err := s.net.Evaluator()
	if err != nil {
		return nil, fmt.Errorf("swag.Sample: %w", err)
	}
	u, err := ev.Potential(theta)
	if err != nil {
		return nil, fmt.Errorf("swag.Sample: training loss: %w", err)
	}
	set.Loss = make([]float32, n)
	for i, v := range u {
		set.Loss[i] = v / float32(s.net.NumData())
	}
	return set, set.Validate()
}

// MustSample is Sample that panics on error; for notebooks.
func (s *SWAG) MustSample(n int, seed uint64) *samples.Set {
	set, err := s.Sample(n, seed)
	if err != nil {
		panic(err)
	}
	return set
}

// sampleTheta draws the parameter vectors, [n, P].
func (s *SWAG) sampleTheta(n int, seed uint64) ([]float32, error) {
	k := max(s.Rank, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.smp == nil {
		scale := math.Sqrt(s.opts.Scale)
		lowRank := s.Rank > 0
		ex, err := NewExec(s.backend, func(mean, variance, dev, z1, z2 *Node) *Node {
			out := Add(ExpandAxes(mean, 0), MulScalar(Mul(z1, ExpandAxes(Sqrt(variance), 0)), scale))
			if lowRank {
				out = Add(out, MulScalar(Einsum("nk,kp->np", z2, dev), scale/math.Sqrt(float64(s.Rank-1))))
			}
			return out
		})
		if err != nil {
			return nil, err
		}
		s.smp = ex.WithName("swag.sample")
	}
	rng := rand.New(rand.NewPCG(seed, 0x5a9))
	z1 := make([]float32, n*s.P)
	for i := range z1 {
		z1[i] = float32(rng.NormFloat64())
	}
	z2 := make([]float32, n*k)
	if s.Rank > 0 {
		for i := range z2 {
			z2[i] = float32(rng.NormFloat64())
		}
	}
	dev := s.Deviations
	if dev == nil {
		dev = make([]float32, s.P)
	}
	res, err := s.smp.Call(tensors.FromFlatDataAndDimensions(s.Mean, s.P), tensors.FromFlatDataAndDimensions(s.Variance, s.P),
		tensors.FromFlatDataAndDimensions(dev, k, s.P), tensors.FromFlatDataAndDimensions(z1, n, s.P),
		tensors.FromFlatDataAndDimensions(z2, n, k))
	if err != nil {
		return nil, err
	}
	out := tensors.MustCopyFlatData[float32](res[0])
	res[0].FinalizeAll()
	return out, nil
}
