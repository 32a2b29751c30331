package laplace

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/samples"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Sample draws n parameter vectors θ = θ* + S z, z ~ N(0, I_Ps) on the covered weights (Σ = S Sᵀ), with the
// other weights at the MAP, in one compiled call, and returns them as a samples.Set (method "laplace") with
// each sample's per-datum training loss U(θ)/n, the MAP, and the settings in Extras. The normal draws come
// from the PCG stream (seed, 0x1a91ace) on the host, so the same seed gives the same samples.
func (la *Laplace) Sample(n int, seed uint64) (*samples.Set, error) {
	if n < 1 {
		return nil, fmt.Errorf("laplace.Sample: n=%d, want >= 1", n)
	}
	start := time.Now()
	theta, err := la.sampleTheta(n, seed)
	if err != nil {
		return nil, fmt.Errorf("laplace.Sample: %w", err)
	}
	p := len(la.theta)
	sampleSeconds := time.Since(start).Seconds() / float64(n)
	set := &samples.Set{N: n, P: p, Theta: theta, MAP: la.MAP()}
	set.Method = "laplace"
	set.Seed = int64(seed)
	set.Dataset = la.net.Dataset().Name
	set.FitSeconds = la.fitSeconds
	set.SampleSeconds = sampleSeconds
	if err := set.SetNetwork(la.net.Spec); err != nil {
		return nil, err
	}
	set.Extras = map[string]any{
		"subset_of_weights": string(la.opts.SubsetOfWeights),
		"hessian_structure": string(la.opts.HessianStructure),
		"prior_precision":   la.PriorPrecision(),
		"sigma":             la.net.Sigma,
		"likelihood":        string(la.net.Likelihood),
		"log_marglik":       la.LogMarginalLikelihood(),
		"map_grad_norm":     la.gradNorm,
	}
	if err := set.Validate(); err != nil {
		return nil, fmt.Errorf("laplace.Sample: %w", err)
	}
	ev, err := la.net.Evaluator()
	if err != nil {
		return nil, fmt.Errorf("laplace.Sample: %w", err)
	}
	u, err := ev.Potential(theta)
	if err != nil {
		return nil, fmt.Errorf("laplace.Sample: training loss: %w", err)
	}
	set.Loss = make([]float32, n)
	for i, v := range u {
		set.Loss[i] = v / float32(la.net.NumData())
	}
	return set, set.Validate()
}

// sampleTheta draws n parameter vectors [n, P] (see Sample) in one compiled call.
func (la *Laplace) sampleTheta(n int, seed uint64) ([]float32, error) {
	ex, err := la.sampleExec()
	if err != nil {
		return nil, err
	}
	ps, p := la.NumParams(), len(la.theta)
	rng := rand.New(rand.NewPCG(seed, 0x1a91ace))
	z := make([]float32, n*ps)
	for i := range z {
		z[i] = float32(rng.NormFloat64())
	}
	args := []any{tensors.FromFlatDataAndDimensions(la.theta, p), tensors.FromFlatDataAndDimensions(z, n, ps)}
	for _, t := range la.sqrtParams() {
		args = append(args, t)
	}
	res, err := ex.Call(args...)
	if err != nil {
		return nil, err
	}
	theta := tensors.MustCopyFlatData[float32](res[0])
	res[0].FinalizeAll()
	return theta, nil
}

// MustSample is Sample that panics on error; for notebooks.
func (la *Laplace) MustSample(n int, seed uint64) *samples.Set {
	s, err := la.Sample(n, seed)
	if err != nil {
		panic(err)
	}
	return s
}

// sampleExec returns (building once) the executable θ [P], z [N, Ps], S params → samples [N, P].
func (la *Laplace) sampleExec() (*Exec, error) {
	return cachedExec(la.key("sample", 0), la.buildSample)
}

// buildSample compiles the sampler's executable.
func (la *Laplace) buildSample() (*Exec, error) {
	np := la.numSqrtParams()
	p := len(la.theta)
	ex, err := NewExec(la.backend, func(in []*Node) []*Node {
		theta, z, params := in[0], in[1], in[2:2+np]
		n := z.Shape().Dimensions[0]
		delta := la.applySqrt(z, params, false) // [N, Ps]
		parts := []*Node{}
		if la.start > 0 {
			parts = append(parts, BroadcastToDims(ExpandAxes(nets.SliceRange(theta, 0, 0, la.start), 0), n, la.start))
		}
		parts = append(parts, Add(ExpandAxes(nets.SliceRange(theta, 0, la.start, la.end), 0), delta))
		if la.end < p {
			parts = append(parts, BroadcastToDims(ExpandAxes(nets.SliceRange(theta, 0, la.end, p), 0), n, p-la.end))
		}
		if len(parts) == 1 {
			return []*Node{parts[0]}
		}
		return []*Node{Concatenate(parts, 1)}
	})
	if err != nil {
		return nil, err
	}
	return ex.WithName("laplace.sample"), nil
}
