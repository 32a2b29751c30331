package flow

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// Coupling selects the elementwise transform of the coupling layers.
type Coupling string

const (
	// Affine couplings (RealNVP, Dinh et al. 2017): y = x·exp(s) + t, with the log-scale s soft-clamped
	// to (−ScaleClamp, ScaleClamp) by s = c·tanh(s_raw/c).
	Affine Coupling = "affine"
	// Spline couplings: monotone rational-quadratic splines with K bins on [−Bound, Bound] and identity
	// tails (Durkan et al. 2019).
	Spline Coupling = "spline"
	// Mixed alternates affine couplings (layers 1, 3, ...) with spline couplings (layers 2, 4, ...):
	// the affine layers carry large shifts and scalings, which the splines' bounded interval cannot.
	Mixed Coupling = "mixed"
)

// Permutation selects how the coordinates are reordered between coupling layers.
type Permutation string

const (
	// PermuteReverse reverses the coordinate order before every coupling layer after the first, so that the
	// halves alternate between conditioning and being transformed.
	PermuteReverse Permutation = "reverse"
	// PermuteRandom uses a fixed random permutation (drawn from Options.Seed) before every layer after the
	// first.
	PermuteRandom Permutation = "random"
)

// Options describe the flow's architecture. The zero value gives the defaults.
type Options struct {
	// Coupling is Affine, Spline or Mixed. Default Mixed.
	Coupling Coupling
	// Layers is the number of coupling layers. Default 6.
	Layers int
	// Hidden holds the widths of the conditioner networks' hidden layers (tanh). Default [64, 64].
	Hidden []int
	// Bins is K, the number of spline bins. Default 8.
	Bins int
	// Bound is B: splines act on [−B, B] (in standardised coordinates) and are the identity outside.
	// Default 4 for Mixed (its affine layers carry the large shifts), 6 for Spline (whose bounded
	// interval must reach the tails by itself).
	Bound float64
	// ScaleClamp bounds the affine log-scale to (−ScaleClamp, ScaleClamp). Default 3.
	ScaleClamp float64
	// Permutation between layers: PermuteReverse (default) or PermuteRandom.
	Permutation Permutation
	// Seed draws the initial conditioner weights and random permutations.
	Seed uint64
}

// Defaults of Options.
const (
	DefaultLayers      = 4
	DefaultBins        = 8
	DefaultBound       = 4.0
	DefaultSplineBound = 6.0
	DefaultScaleClamp  = 3.0
)

// DefaultHidden are the default conditioner hidden widths.
var DefaultHidden = []int{64, 64}

// withDefaults fills zero fields with the defaults and validates the result.
func (o Options) withDefaults() (Options, error) {
	if o.Coupling == "" {
		o.Coupling = Mixed
	}
	if o.Layers == 0 {
		o.Layers = DefaultLayers
	}
	if o.Hidden == nil {
		o.Hidden = slices.Clone(DefaultHidden)
	}
	if o.Bins == 0 {
		o.Bins = DefaultBins
	}
	if o.Bound == 0 && o.Coupling == Spline {
		o.Bound = DefaultSplineBound
	}
	if o.Bound == 0 {
		o.Bound = DefaultBound
	}
	if o.ScaleClamp == 0 {
		o.ScaleClamp = DefaultScaleClamp
	}
	if o.Permutation == "" {
		o.Permutation = PermuteReverse
	}
	switch {
	case o.Coupling != Affine && o.Coupling != Spline && o.Coupling != Mixed:
		return o, fmt.Errorf("flow: Coupling=%q, want %q, %q or %q", o.Coupling, Affine, Spline, Mixed)
	case o.Permutation != PermuteReverse && o.Permutation != PermuteRandom:
		return o, fmt.Errorf("flow: Permutation=%q, want %q or %q", o.Permutation, PermuteReverse, PermuteRandom)
	case o.Layers < 1 || o.Layers > 64:
		return o, fmt.Errorf("flow: Layers=%d, want 1..64", o.Layers)
	case o.Bins < 2 || o.Bins > 256:
		return o, fmt.Errorf("flow: Bins=%d, want 2..256", o.Bins)
	case !(o.Bound > 0) || math.IsInf(o.Bound, 0):
		return o, fmt.Errorf("flow: Bound=%g, want a positive finite number", o.Bound)
	case !(o.ScaleClamp > 0) || math.IsInf(o.ScaleClamp, 0):
		return o, fmt.Errorf("flow: ScaleClamp=%g, want a positive finite number", o.ScaleClamp)
	}
	for i, h := range o.Hidden {
		if h < 1 {
			return o, fmt.Errorf("flow: Hidden[%d]=%d, want a positive width", i, h)
		}
	}
	return o, nil
}

// TrainOptions control maximum-likelihood training with Adam. The zero value gives the defaults.
type TrainOptions struct {
	// MaxSteps is the largest number of Adam steps. Default 3000.
	MaxSteps int
	// StepsPerCall is the number of steps run inside one compiled call (a graph While loop on XLA);
	// validation and early stopping happen between calls. Default 100.
	StepsPerCall int
	// BatchSize is the minibatch size (capped at the number of training samples). Default 256.
	BatchSize int
	// LearningRate of Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e-8). Default 2e-3.
	LearningRate float64
	// CosineDecay, when true, decays the learning rate along a half cosine to 0 at MaxSteps.
	// Default false.
	CosineDecay bool
	// ClipNorm clips the global gradient norm. Default 10; negative disables.
	ClipNorm float64
	// ValidFraction is the fraction of samples held out for early stopping and the reported held-out
	// negative log-likelihood. Default 0.2; at least one sample is held out.
	ValidFraction float64
	// Groups, when not nil, labels each sample (one int per row); the held-out fraction is then made of
	// whole groups. Samples of one group are correlated (the snapshots of one walk particle, the draws of
	// one chain), and holding out single rows lets early stopping reward a density that memorises each
	// group. FitSamples fills it from a set's "particle" diagnostics (fiber walks) unless it is set.
	// Groups must have one label per sample and at least two distinct labels.
	Groups []int
	// Patience stops training after this many calls (of StepsPerCall steps) without a better held-out
	// loss; the best parameters are kept. Default 5; negative disables early stopping.
	Patience int
	// Seed draws the train/validation split, the minibatches, and the latent draws of the potential
	// term (and of a VAE's reparameterisation).
	Seed uint64

	// Target, when set with Lambda > 0, adds λ·E_z[U(θ* + U·T(z))] to the loss (reparameterised: z is
	// drawn in the graph, the gradient flows through T). U is the target's potential (total, not per
	// datum). The held-out loss then adds the same term at PotentialSamples fixed latents, so that early
	// stopping sees the whole objective.
	Target posterior.Target
	// Lambda weighs the potential term. Default 0 (off).
	Lambda float64
	// PotentialSamples is the number of z drawn per step for the potential term. Default 32.
	PotentialSamples int

	// TargetLevel, when set (with Target), calibrates λ during training so that the flow's draws reach
	// this mean per-datum loss E_q[ℓ], ℓ = U/n (for walk samples: their mean loss, the level the walk held
	// them at). After every call λ ← λ·exp(LambdaRate·clip((E_q[ℓ] − TargetLevel)/(TargetLevel − ℓ(θ*)),
	// −1, 1)), with E_q[ℓ] averaged over the call's draws: a multiplicative dual-ascent step on the
	// constraint E_q[ℓ] = TargetLevel. Lambda, when set, is the starting value (default 1/n). Early
	// stopping compares the kept and current parameters under the current λ. Default 0 (λ fixed).
	TargetLevel float64
	// LambdaRate is the step of log λ per call when TargetLevel is set. Default 0.5.
	LambdaRate float64

	// Context, when not nil, interrupts training between calls when it is cancelled: the fit then saves
	// a checkpoint (with CheckpointPath) and returns an error wrapping the context's error.
	Context context.Context
	// CheckpointPath, when set, is where training saves its whole state (atomically: temporary file and
	// rename) every CheckpointEvery calls, at the end and when Context is cancelled. A fit with the same
	// samples and options finds it and resumes, with the same numbers as an uninterrupted run; a checkpoint
	// of another run is refused with an error.
	CheckpointPath string
	// CheckpointEvery is the number of calls (of StepsPerCall steps) between checkpoints. Default 5.
	CheckpointEvery int
	// Progress, when not nil, is called with the report so far after every call.
	Progress func(TrainReport)

	nanAtStep int // test hook: a NaN loss at this 1-based step
}

// Defaults of TrainOptions.
const (
	DefaultMaxSteps         = 3000
	DefaultStepsPerCall     = 100
	DefaultBatchSize        = 256
	DefaultLearningRate     = 2e-3
	DefaultClipNorm         = 10.0
	DefaultValidFraction    = 0.2
	DefaultPatience         = 5
	DefaultPotentialSamples = 32
	DefaultLambdaRate       = 0.5
	DefaultCheckpointEvery  = 5
)

func (o TrainOptions) withDefaults() (TrainOptions, error) {
	if o.MaxSteps == 0 {
		o.MaxSteps = DefaultMaxSteps
	}
	if o.StepsPerCall == 0 {
		o.StepsPerCall = DefaultStepsPerCall
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.LearningRate == 0 {
		o.LearningRate = DefaultLearningRate
	}
	if o.ClipNorm == 0 {
		o.ClipNorm = DefaultClipNorm
	}
	if o.ValidFraction == 0 {
		o.ValidFraction = DefaultValidFraction
	}
	if o.Patience == 0 {
		o.Patience = DefaultPatience
	}
	if o.PotentialSamples == 0 {
		o.PotentialSamples = DefaultPotentialSamples
	}
	if o.LambdaRate == 0 {
		o.LambdaRate = DefaultLambdaRate
	}
	if o.CheckpointEvery == 0 {
		o.CheckpointEvery = DefaultCheckpointEvery
	}
	switch {
	case o.MaxSteps < 1:
		return o, fmt.Errorf("flow: MaxSteps=%d, want ≥ 1", o.MaxSteps)
	case o.StepsPerCall < 1:
		return o, fmt.Errorf("flow: StepsPerCall=%d, want ≥ 1", o.StepsPerCall)
	case o.BatchSize < 1:
		return o, fmt.Errorf("flow: BatchSize=%d, want ≥ 1", o.BatchSize)
	case !(o.LearningRate > 0) || math.IsInf(o.LearningRate, 0):
		return o, fmt.Errorf("flow: LearningRate=%g, want a positive finite number", o.LearningRate)
	case math.IsNaN(o.ClipNorm):
		return o, fmt.Errorf("flow: ClipNorm is NaN")
	case !(o.ValidFraction > 0 && o.ValidFraction < 1):
		return o, fmt.Errorf("flow: ValidFraction=%g, want a fraction in (0, 1)", o.ValidFraction)
	case o.Lambda < 0 || math.IsNaN(o.Lambda) || math.IsInf(o.Lambda, 0):
		return o, fmt.Errorf("flow: Lambda=%g, want ≥ 0", o.Lambda)
	case o.Lambda > 0 && o.Target == nil:
		return o, fmt.Errorf("flow: Lambda=%g but no Target: set TrainOptions.Target to the posterior", o.Lambda)
	case o.TargetLevel != 0 && o.Target == nil:
		return o, fmt.Errorf("flow: TargetLevel=%g but no Target: set TrainOptions.Target to the posterior", o.TargetLevel)
	case math.IsNaN(o.TargetLevel) || math.IsInf(o.TargetLevel, 0):
		return o, fmt.Errorf("flow: TargetLevel=%g, want a finite per-datum loss", o.TargetLevel)
	case !(o.LambdaRate > 0) || math.IsInf(o.LambdaRate, 0):
		return o, fmt.Errorf("flow: LambdaRate=%g, want a positive finite step", o.LambdaRate)
	case o.CheckpointEvery < 1:
		return o, fmt.Errorf("flow: CheckpointEvery=%d, want ≥ 1 call", o.CheckpointEvery)
	case o.PotentialSamples < 1:
		return o, fmt.Errorf("flow: PotentialSamples=%d, want ≥ 1", o.PotentialSamples)
	}
	return o, nil
}
