package laplace

import (
	"fmt"
	"math"

	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/gomlx/compute"
)

// SubsetOfWeights names the parameters the Laplace approximation covers (laplace-torch's
// subset_of_weights). The others stay at the MAP.
type SubsetOfWeights string

const (
	// AllWeights covers every parameter θ[0:P].
	AllWeights SubsetOfWeights = "all"
	// LastLayer covers the output layer θ[HeadStart:P] (weights and bias); the body is fixed at the MAP.
	LastLayer SubsetOfWeights = "last_layer"
)

// HessianStructure names the approximation of the generalised Gauss–Newton matrix (laplace-torch's
// hessian_structure).
type HessianStructure string

const (
	// Full keeps the dense GGN of the covered parameters (Ps × Ps).
	Full HessianStructure = "full"
	// Diag keeps its diagonal.
	Diag HessianStructure = "diag"
	// Kron keeps one Kronecker-factored block per dense layer (K-FAC): block ≈ A ⊗ G with A the second moment
	// of the layer's inputs (bias input 1 appended) and G the summed outer products of the back-propagated
	// GGN factors at its pre-activations. Supported for MLPs and for the last layer of any network.
	Kron HessianStructure = "kron"
)

// PredType names the predictive (laplace-torch's pred_type).
type PredType string

const (
	// GLM is the linearised predictive: f(x; θ) ≈ f(x; θ*) + J(x)(θ − θ*), so the outputs are Gaussian with
	// mean f(x; θ*) and covariance J Σ Jᵀ.
	GLM PredType = "glm"
	// NN samples parameters from the Laplace posterior and averages the network's predictions (Monte Carlo
	// Bayesian model averaging through the non-linear network).
	NN PredType = "nn"
)

// LinkApprox names how the GLM predictive of a classifier integrates the softmax/sigmoid over the Gaussian
// logits (laplace-torch's link_approx).
type LinkApprox string

const (
	// Probit is the probit approximation σ(m/√(1+πv/8)) per logit (MacKay 1992); GLM only.
	Probit LinkApprox = "probit"
	// MC draws logits from their Gaussian (full output covariance) and averages the probabilities; with
	// pred_type NN it is the only choice (the parameter samples are Monte Carlo).
	MC LinkApprox = "mc"
)

// TuningMethod names how the prior precision α is chosen after fitting.
type TuningMethod string

const (
	// TuneMarglik maximises the Laplace log marginal likelihood over log α by Newton's method (the objective
	// is concave in log α for a fixed MAP and GGN, so the maximum is unique and Newton with step control
	// converges to it). This is the default.
	TuneMarglik TuningMethod = "marglik"
	// TuneMarglikGrid evaluates the log marginal likelihood on a logarithmic grid of α (GridMin..GridMax in
	// log10, GridSize points) and keeps the best.
	TuneMarglikGrid TuningMethod = "marglik_grid"
	// TuneNone keeps α as given (Options.PriorPrecision or the network's).
	TuneNone TuningMethod = "none"
)

// Defaults of Options.
const (
	// DefaultMaxFullParams bounds Ps for a Full Hessian (a dense Ps×Ps matrix and its eigendecomposition,
	// O(Ps³) on the host).
	DefaultMaxFullParams = 3000
	// DefaultGridMin, DefaultGridMax and DefaultGridSize define the grid of TuneMarglikGrid: 100 values of
	// log10 α in [−4, 4], as laplace-torch's gridsearch.
	DefaultGridMin, DefaultGridMax, DefaultGridSize = -4.0, 4.0, 100
	// DefaultChunkValues bounds the size of one curvature call: examples are processed in chunks such that
	// chunk × K × (parameters touched per example) stays below this many values.
	DefaultChunkValues = 1 << 23
)

// Options configure Fit. The zero value is a last-layer Laplace with the full GGN, the network's prior
// precision as the starting point, tuned by the marginal likelihood, and the network's σ.
type Options struct {
	// SubsetOfWeights is LastLayer (default) or AllWeights.
	SubsetOfWeights SubsetOfWeights
	// HessianStructure is Full (default), Diag or Kron.
	HessianStructure HessianStructure
	// PriorPrecision is α of the prior N(0, α⁻¹ I) on the covered weights before tuning; 0 means the
	// network's PriorPrecision (which must then be > 0).
	PriorPrecision float64
	// Tuning chooses α after fitting: TuneMarglik (default), TuneMarglikGrid or TuneNone.
	Tuning TuningMethod
	// GridMin, GridMax (log10 α) and GridSize configure TuneMarglikGrid (defaults −4, 4, 100).
	GridMin, GridMax float64
	GridSize         int
	// FitSigma, for the Gaussian likelihood, replaces the network's σ by its maximum-likelihood value at the
	// MAP (σ² = mean squared training residual) before computing the curvature.
	FitSigma bool
	// MaxFullParams bounds Ps for the Full structure (default DefaultMaxFullParams); larger problems are
	// rejected with a message suggesting Diag, Kron or LastLayer.
	MaxFullParams int
	// ChunkSize is the number of examples per curvature call (0: from DefaultChunkValues).
	ChunkSize int
	// Backend runs the computations (nil: the process-wide backend).
	Backend compute.Backend
}

// withDefaults fills zero fields and validates the options against the network.
func (o Options) withDefaults(net *posterior.Network) (Options, error) {
	if o.SubsetOfWeights == "" {
		o.SubsetOfWeights = LastLayer
	}
	if o.HessianStructure == "" {
		o.HessianStructure = Full
	}
	if o.Tuning == "" {
		o.Tuning = TuneMarglik
	}
	if o.GridSize == 0 && o.GridMin == 0 && o.GridMax == 0 {
		o.GridMin, o.GridMax, o.GridSize = DefaultGridMin, DefaultGridMax, DefaultGridSize
	}
	if o.MaxFullParams == 0 {
		o.MaxFullParams = DefaultMaxFullParams
	}
	switch o.SubsetOfWeights {
	case AllWeights, LastLayer:
	default:
		return o, fmt.Errorf("laplace: unknown SubsetOfWeights %q: want %q or %q", o.SubsetOfWeights, AllWeights, LastLayer)
	}
	switch o.HessianStructure {
	case Full, Diag, Kron:
	default:
		return o, fmt.Errorf("laplace: unknown HessianStructure %q: want %q, %q or %q", o.HessianStructure, Full, Diag, Kron)
	}
	switch o.Tuning {
	case TuneMarglik, TuneMarglikGrid, TuneNone:
	default:
		return o, fmt.Errorf("laplace: unknown Tuning %q: want %q, %q or %q", o.Tuning, TuneMarglik, TuneMarglikGrid, TuneNone)
	}
	if o.Tuning == TuneMarglikGrid && (o.GridSize < 2 || !(o.GridMin < o.GridMax) || math.IsInf(o.GridMin, 0) || math.IsInf(o.GridMax, 0)) {
		return o, fmt.Errorf("laplace: marglik grid log10 α ∈ [%v, %v] with %d points: want GridMin < GridMax, both finite, and GridSize >= 2",
			o.GridMin, o.GridMax, o.GridSize)
	}
	if o.PriorPrecision < 0 || math.IsNaN(o.PriorPrecision) || math.IsInf(o.PriorPrecision, 0) {
		return o, fmt.Errorf("laplace: PriorPrecision=%v, want a finite value > 0 (or 0 for the network's)", o.PriorPrecision)
	}
	if o.PriorPrecision == 0 {
		o.PriorPrecision = net.PriorPrecision
		if o.PriorPrecision == 0 {
			return o, fmt.Errorf("laplace: the network has a flat prior (α = 0), which gives an improper Laplace posterior: set Options.PriorPrecision > 0")
		}
	}
	if o.MaxFullParams < 1 || o.ChunkSize < 0 {
		return o, fmt.Errorf("laplace: MaxFullParams=%d, ChunkSize=%d: want MaxFullParams >= 1 and ChunkSize >= 0", o.MaxFullParams, o.ChunkSize)
	}
	if o.FitSigma && net.Likelihood != posterior.GaussianLikelihood {
		return o, fmt.Errorf("laplace: FitSigma needs the gaussian likelihood, the network has %s", net.Likelihood)
	}
	layout := net.Layout()
	ps := layout.P
	if o.SubsetOfWeights == LastLayer {
		ps = layout.P - layout.HeadStart
	}
	if o.HessianStructure == Full && ps > o.MaxFullParams {
		return o, fmt.Errorf("laplace: a full Hessian on %s weights needs a dense %d×%d matrix (Ps=%d > MaxFullParams=%d): "+
			"use HessianStructure %q or %q, SubsetOfWeights %q, or raise MaxFullParams",
			o.SubsetOfWeights, ps, ps, ps, o.MaxFullParams, Diag, Kron, LastLayer)
	}
	if o.HessianStructure == Kron && o.SubsetOfWeights == AllWeights && net.Spec.Kind != nets.KindMLP {
		return o, fmt.Errorf("laplace: the %q structure on all weights supports MLPs only (K-FAC for convolutions is not implemented), the network is a %s: "+
			"use HessianStructure %q, or SubsetOfWeights %q with %q", Kron, net.Spec.Kind, Diag, LastLayer, Kron)
	}
	return o, nil
}

// PredictOptions configure a predictive. The zero value is the GLM predictive with the probit link for
// classifiers (laplace-torch's defaults), 100 samples where sampling is used, seed 0.
type PredictOptions struct {
	// PredType is GLM (default) or NN.
	PredType PredType
	// LinkApprox is Probit (default for GLM) or MC; NN requires MC (the default there).
	LinkApprox LinkApprox
	// Samples is the number of Monte Carlo draws (parameters for NN, logits for GLM with MC); default 100.
	Samples int
	// Seed seeds the draws.
	Seed uint64
}

// withDefaults fills and validates the predictive options for the likelihood lik.
func (o PredictOptions) withDefaults(lik posterior.Likelihood) (PredictOptions, error) {
	if o.PredType == "" {
		o.PredType = GLM
	}
	if o.Samples == 0 {
		o.Samples = 100
	}
	switch o.PredType {
	case GLM, NN:
	default:
		return o, fmt.Errorf("laplace: unknown PredType %q: want %q or %q", o.PredType, GLM, NN)
	}
	if o.LinkApprox == "" {
		o.LinkApprox = Probit
		if o.PredType == NN {
			o.LinkApprox = MC
		}
	}
	switch o.LinkApprox {
	case Probit, MC:
	default:
		return o, fmt.Errorf("laplace: unknown LinkApprox %q: want %q or %q", o.LinkApprox, Probit, MC)
	}
	if o.PredType == NN && o.LinkApprox != MC {
		return o, fmt.Errorf("laplace: pred_type %q samples parameters, so link_approx must be %q, not %q", NN, MC, o.LinkApprox)
	}
	if o.PredType == GLM && lik == posterior.Heteroscedastic {
		return o, fmt.Errorf("laplace: the %q predictive is not defined for the heteroscedastic likelihood (its noise head is not linearised): use PredType %q", GLM, NN)
	}
	if o.Samples < 1 {
		return o, fmt.Errorf("laplace: Samples=%d, want >= 1", o.Samples)
	}
	return o, nil
}
