// Package swag fits SWAG (Stochastic Weight Averaging–Gaussian, Maddox et al., "A Simple Baseline for
// Bayesian Uncertainty in Deep Learning", NeurIPS 2019) to a network's posterior: starting from a MAP, it
// runs SGD with a constant or cyclic learning rate, collects one iterate per epoch, and fits a Gaussian to
// the iterates:
//
//	θ_SWA = (1/T) Σ_t θ_t,   Σ_diag = diag((1/T) Σ_t θ_t² − θ_SWA²)   (running first and second moments),
//	D = [θ_t − θ̄_t] for the last K iterates (θ̄_t the running mean after collecting θ_t), [K, P],
//
// and samples θ = θ_SWA + √s (Σ_diag^{1/2} z₁ + Dᵀ z₂ /√(K−1)), z₁ ~ N(0, I_P), z₂ ~ N(0, I_K), with scale
// s = ½ (the paper's ½(Σ_diag + DᵀD/(K−1)); with s = ½ this is θ_SWA + (1/√2) Σ_diag^{1/2} z₁ +
// (1/√(2(K−1))) Dᵀ z₂). The diagonal variant (SWAG-Diagonal) samples θ_SWA + √s Σ_diag^{1/2} z₁ with s = 1
// by default (the paper's N(θ_SWA, Σ_diag)).
//
// All SGD steps and the moment updates run in one compiled computation (a graph While loop on XLA: the
// minibatch of every step is gathered on the device from index arrays computed on the host from the seed;
// on the pure-Go backend, one epoch per call). The objective is the network's potential per example U(θ)/n
// (mean negative log-likelihood plus α/(2n)‖θ‖², the prior acting as weight decay), so the SGD noise is
// that of minibatches of the posterior the other samplers use.
//
// Our choices: the learning rate defaults to a fifth of the stability limit of heavy-ball SGD on the local
// quadratic, 2(1+μ)/λ_max with λ_max the top Hessian eigenvalue of U/n at the MAP (the paper tunes a fixed
// rate per data set; on the gap toy λ_max ≈ 1239 per example, so the usual 0.01 with momentum 0.9 diverges),
// halved while the iterates diverge (see DefaultLRFraction for the evidence);
// K' = min(T, K) deviations are kept and the low-rank term is divided by √(K'−1) (the reference code
// divides by √(K−1) even before K iterates are collected). Measured on the 1-D gap toy: SWAG's predictive
// widens outside the data range but not in the gap between the clusters (see the tests), because SGD noise
// is small along the flat directions that carry in-between uncertainty.
//
// MultiSWAG (Wilson & Izmailov 2020: one SWAG around each member of a deep ensemble, sampled as a mixture;
// FitMulti runs all members' SGD in one computation) inherits the ensemble's in-between uncertainty and is
// the SWAG configuration to pick when that matters: around 5 tanh members started from the prior
// (ensemble.Options.InitFromPrior, cosine decay) the mixture's epistemic sd is 0.23 in the gap and 0.050
// at the data, ratio 4.7 (test; HMC: 0.25 and 0.027), while each member's SWAG alone is narrower in the gap
// (0.45–0.84 measured around five such members); around 5 members from the default initialisation the
// mixture's ratio was 0.69.
package swag

import (
	"fmt"
	"math"

	"github.com/gomlx/compute"
)

// Covariance names the SWAG covariance.
type Covariance string

const (
	// LowRank is the diagonal plus the rank-K deviation matrix (SWAG proper). Default.
	LowRank Covariance = "lowrank"
	// Diag is the diagonal alone (SWAG-Diagonal).
	Diag Covariance = "diag"
)

// Schedule names the learning-rate schedule of the SWAG phase.
type Schedule string

const (
	// Constant keeps LearningRate for every step (Maddox et al.'s SWAG phase). Default.
	Constant Schedule = "constant"
	// Cyclic decreases the learning rate linearly within every epoch from LearningRate to
	// MinLearningRate (Izmailov et al. 2018's cyclical schedule with a cycle of one epoch); the iterate is
	// collected at the end of each cycle, at the smallest rate.
	Cyclic Schedule = "cyclic"
)

// Options configure Fit. The zero value runs 20 epochs of SGD (momentum 0.9, batch 32, learning rate half
// the stability limit at the start) from the MAP and fits the low-rank covariance with K = 20, seed 0.
type Options struct {
	// Covariance is LowRank (default) or Diag.
	Covariance Covariance
	// Rank is K, the number of deviation columns kept (default 20, the paper's); LowRank needs K >= 2.
	Rank int
	// Epochs is T, the number of SGD epochs and of collected iterates (default 20); LowRank needs T >= 2.
	Epochs int
	// Schedule is Constant (default) or Cyclic.
	Schedule Schedule
	// LearningRate of SGD on U(θ)/n; the cycle's maximum for Cyclic. The default 0 chooses it from the
	// curvature at the start: LRFraction × 2(1+μ)/λ_max, where λ_max is the largest eigenvalue of the Hessian
	// of U/n (posterior.TopEigen) and 2(1+μ)/λ_max the stability limit of heavy-ball SGD on a quadratic.
	LearningRate float64
	// LRFraction is the fraction of the stability limit used by the automatic learning rate (default
	// DefaultLRFraction). An automatic rate whose iterates diverge is halved and the phase rerun, up to 3
	// times (Options().LearningRate reports the rate used).
	LRFraction float64
	// MinLearningRate is the cycle's minimum for Cyclic (default LearningRate/10).
	MinLearningRate float64
	// Momentum of SGD (heavy ball, buf ← μ·buf + g, θ ← θ − lr·buf; default 0.9); NoMomentum sets it to 0.
	Momentum   float64
	NoMomentum bool
	// BatchSize is B (default 32, capped at the number of examples; B >= n means full-batch gradient descent,
	// whose iterates carry no minibatch noise).
	BatchSize int
	// Scale s multiplies the covariance when sampling (default ½ for LowRank, 1 for Diag).
	Scale float64
	// KeepIterates stores the T collected iterates in the result (memory T·P; for tests and diagnostics).
	KeepIterates bool
	// Seed seeds the minibatch order and, for Sample, nothing (Sample takes its own seed).
	Seed uint64
	// Backend runs the computations (nil: the process-wide backend).
	Backend compute.Backend
	// MaxUnrolledSteps caps the SGD steps per call where the loop is unrolled (the pure-Go backend; default
	// 8, lowered to a divisor of the steps per epoch so that every call has the same shape).
	MaxUnrolledSteps int
}

// VarianceClamp is the smallest variance of Σ_diag (round-off can make θ̄² − θ̄_SWA² slightly negative), as
// in the reference implementation.
const VarianceClamp = 1e-30

// withDefaults fills and validates the options.
func (o Options) withDefaults() (Options, error) {
	if o.Covariance == "" {
		o.Covariance = LowRank
	}
	if o.Rank == 0 {
		o.Rank = 20
	}
	if o.Epochs == 0 {
		o.Epochs = 20
	}
	if o.Schedule == "" {
		o.Schedule = Constant
	}
	if o.LRFraction == 0 {
		o.LRFraction = DefaultLRFraction
	}
	if o.Momentum == 0 && !o.NoMomentum {
		o.Momentum = 0.9
	}
	if o.NoMomentum {
		if o.Momentum != 0 {
			return o, fmt.Errorf("swag: NoMomentum with Momentum=%v: set one of them", o.Momentum)
		}
	}
	if o.BatchSize == 0 {
		o.BatchSize = 32
	}
	if o.MaxUnrolledSteps == 0 {
		o.MaxUnrolledSteps = 8
	}
	if o.Scale == 0 {
		o.Scale = 0.5
		if o.Covariance == Diag {
			o.Scale = 1
		}
	}
	switch {
	case o.Covariance != LowRank && o.Covariance != Diag:
		return o, fmt.Errorf("swag: unknown Covariance %q: want %q or %q", o.Covariance, LowRank, Diag)
	case o.Schedule != Constant && o.Schedule != Cyclic:
		return o, fmt.Errorf("swag: unknown Schedule %q: want %q or %q", o.Schedule, Constant, Cyclic)
	case o.Epochs < 1:
		return o, fmt.Errorf("swag: Epochs=%d, want >= 1", o.Epochs)
	case o.Covariance == LowRank && o.Rank < 2:
		return o, fmt.Errorf("swag: Rank=%d, the low-rank covariance needs K >= 2 (it divides by K−1): use K >= 2 or Covariance %q", o.Rank, Diag)
	case o.Covariance == LowRank && o.Epochs < 2:
		return o, fmt.Errorf("swag: Epochs=%d collects %d iterate, the low-rank covariance needs at least 2", o.Epochs, o.Epochs)
	case !(o.LearningRate >= 0) || math.IsInf(o.LearningRate, 0):
		return o, fmt.Errorf("swag: LearningRate=%v, want a finite value > 0 (or 0 for the automatic one)", o.LearningRate)
	case !(o.LRFraction > 0 && o.LRFraction < 1):
		return o, fmt.Errorf("swag: LRFraction=%v, want in (0, 1) (a fraction of the stability limit)", o.LRFraction)
	case o.MinLearningRate < 0 || (o.LearningRate > 0 && o.MinLearningRate > o.LearningRate):
		return o, fmt.Errorf("swag: MinLearningRate=%v, want in (0, LearningRate=%v]", o.MinLearningRate, o.LearningRate)
	case !(o.Momentum >= 0 && o.Momentum < 1):
		return o, fmt.Errorf("swag: Momentum=%v, want in [0, 1)", o.Momentum)
	case o.BatchSize < 1:
		return o, fmt.Errorf("swag: BatchSize=%d, want >= 1", o.BatchSize)
	case !(o.Scale > 0) || math.IsInf(o.Scale, 0):
		return o, fmt.Errorf("swag: Scale=%v, want a finite value > 0", o.Scale)
	case o.MaxUnrolledSteps < 1:
		return o, fmt.Errorf("swag: MaxUnrolledSteps=%d, want >= 1", o.MaxUnrolledSteps)
	}
	return o, nil
}

// DefaultLRFraction is the default Options.LRFraction. Evidence (fiberbench, UCI regression splits 0–2, test
// NLL against the MAP's): 0.5 diverged on 1 of 3 concrete and 3 of 3 wine splits and was worse than the MAP
// elsewhere (concrete 3.47 vs 3.21, energy 1.42 vs 1.04); 0.2 gave concrete 3.17, energy 1.01, wine 1.02
// (MAP 1.15); 0.05 gave 3.17, 1.03, 1.10; 0.01 stays at the MAP (see METHOD.md §5).
const DefaultLRFraction = 0.2
