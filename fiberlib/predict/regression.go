package predict

import (
	"fmt"
	"math"
)

// Regression is the BMA predictive of a Gaussian-likelihood regression model: S samples, B points.
type Regression struct {
	// S is the number of posterior samples, B the number of points (for T > 1 outputs per input, flatten
	// [B, T] into B·T points).
	S, B int
	// Means holds each sample's predictive mean, [S, B], in the units the network was trained in.
	Means []float32
	// Sigmas holds each sample's noise standard deviation, [S, B] (NewRegression expands a shared or
	// per-sample σ).
	Sigmas []float32
	// Shift and Scale map network units to original units: y = Shift + Scale·y_net. NewRegression sets
	// Shift 0, Scale 1; see Unstandardize.
	Shift, Scale float64
}

// NewRegression validates the per-sample outputs and returns their mixture. means is [s, b]; sigma holds
// the noise standard deviation, either one value shared by all, [s] (one per sample, e.g. a learned
// homoscedastic noise) or [s, b] (heteroscedastic). Means must be finite and σ finite and > 0.
func NewRegression(means, sigma []float32, s, b int) (*Regression, error) {
	if s < 1 || b < 1 {
		return nil, fmt.Errorf("predict: regression with S=%d samples and B=%d points: both must be >= 1", s, b)
	}
	if len(means) != s*b {
		return nil, fmt.Errorf("predict: regression means have %d values, want S×B = %d×%d = %d", len(means), s, b, s*b)
	}
	for i, v := range means {
		if !finite32(v) {
			return nil, fmt.Errorf("predict: regression mean of sample %d at point %d is %v: the network output diverged", i/b, i%b, v)
		}
	}
	sig := make([]float32, s*b)
	switch len(sigma) {
	case 1:
		for i := range sig {
			sig[i] = sigma[0]
		}
	case s:
		for i := range sig {
			sig[i] = sigma[i/b]
		}
	case s * b:
		copy(sig, sigma)
	default:
		return nil, fmt.Errorf("predict: regression sigma has %d values, want 1 (shared), S=%d (per sample) or S×B=%d (per point)", len(sigma), s, s*b)
	}
	for i, v := range sig {
		if !finite32(v) || v <= 0 {
			return nil, fmt.Errorf("predict: regression sigma of sample %d at point %d is %v, want a finite value > 0", i/b, i%b, v)
		}
	}
	return &Regression{S: s, B: b, Means: means, Sigmas: sig, Shift: 0, Scale: 1}, nil
}

// Unstandardize returns a copy of r (sharing Means and Sigmas) whose results are all reported in
// original units y = shift + scale·y_net, for a network trained on standardised targets. scale must be
// finite and > 0. The mixture NLL then equals NLL_std + log scale, and RMSE equals scale·RMSE_std.
func (r *Regression) Unstandardize(shift, scale float64) (*Regression, error) {
	if math.IsNaN(shift) || math.IsInf(shift, 0) || math.IsNaN(scale) || math.IsInf(scale, 0) || scale <= 0 {
		return nil, fmt.Errorf("predict: Unstandardize(shift=%v, scale=%v): want finite values and scale > 0", shift, scale)
	}
	out := *r
	out.Shift, out.Scale = shift+scale*r.Shift, scale*r.Scale
	return &out, nil
}

// mu and sigma return sample s's mean and σ at point i in reporting units.
func (r *Regression) mu(s, i int) float64 {
	return r.Shift + r.Scale*float64(r.Means[s*r.B+i])
}
func (r *Regression) sigma(s, i int) float64 { return r.Scale * float64(r.Sigmas[s*r.B+i]) }

// Moments holds the mean and the variance split of a predictive, each [B].
type Moments struct {
	// Mean is the mixture mean (1/S) Σ_s μ_s.
	Mean []float64
	// Epistemic is the spread of the sample means, (1/S) Σ_s (μ_s − Mean)² (divided by S, not S−1: it
	// is the variance of the mixture, not an estimate of a population variance).
	Epistemic []float64
	// Aleatoric is the mean noise variance (1/S) Σ_s σ_s².
	Aleatoric []float64
	// Total is Epistemic + Aleatoric, the variance of the mixture.
	Total []float64
}

// Moments returns the mixture mean and variance at each point, in reporting units.
func (r *Regression) Moments() Moments {
	m := Moments{Mean: make([]float64, r.B), Epistemic: make([]float64, r.B), Aleatoric: make([]float64, r.B), Total: make([]float64, r.B)}
	inv := 1 / float64(r.S)
	for i := 0; i < r.B; i++ {
		var mean, alea float64
		for s := 0; s < r.S; s++ {
			mean += r.mu(s, i)
			sg := r.sigma(s, i)
			alea += sg * sg
		}
		mean *= inv
		var epi float64
		for s := 0; s < r.S; s++ {
			d := r.mu(s, i) - mean
			epi += d * d
		}
		m.Mean[i], m.Epistemic[i], m.Aleatoric[i] = mean, epi*inv, alea*inv
		m.Total[i] = m.Epistemic[i] + m.Aleatoric[i]
	}
	return m
}

// logHalfTwoPi is ½ log 2π.
var logHalfTwoPi = 0.5 * math.Log(2*math.Pi)

// NLL returns the negative log density of the mixture at each target, [B]:
// −log (1/S) Σ_s N(y_i; μ_s, σ_s²), computed with log-sum-exp. y is [B], in reporting units.
func (r *Regression) NLL(y []float32) ([]float64, error) {
	if len(y) != r.B {
		return nil, fmt.Errorf("predict: regression NLL: %d targets for B=%d points", len(y), r.B)
	}
	out := make([]float64, r.B)
	logp := make([]float64, r.S)
	for i, yi := range y {
		if !finite32(yi) {
			return nil, fmt.Errorf("predict: regression NLL: target %d is %v", i, yi)
		}
		for s := range logp {
			sg := r.sigma(s, i)
			z := (float64(yi) - r.mu(s, i)) / sg
			logp[s] = -logHalfTwoPi - math.Log(sg) - 0.5*z*z
		}
		out[i] = math.Log(float64(r.S)) - logSumExp(logp)
	}
	return out, nil
}

// RMSE returns the root mean squared error of the mixture mean against y, [B], in reporting units.
func (r *Regression) RMSE(y []float32) (float64, error) {
	if len(y) != r.B {
		return 0, fmt.Errorf("predict: regression RMSE: %d targets for B=%d points", len(y), r.B)
	}
	m := r.Moments()
	var ss float64
	for i, yi := range y {
		if !finite32(yi) {
			return 0, fmt.Errorf("predict: regression RMSE: target %d is %v", i, yi)
		}
		d := float64(yi) - m.Mean[i]
		ss += d * d
	}
	return math.Sqrt(ss / float64(r.B)), nil
}

// logSumExp returns log Σ exp(x) without overflow; −Inf for an empty x or all −Inf.
func logSumExp(x []float64) float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = max(mx, v)
	}
	if math.IsInf(mx, -1) {
		return mx
	}
	var sum float64
	for _, v := range x {
		sum += math.Exp(v - mx)
	}
	return mx + math.Log(sum)
}

func finite32(v float32) bool { return math.Float32bits(v)&0x7f800000 != 0x7f800000 }
