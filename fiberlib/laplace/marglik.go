package laplace

import (
	"fmt"
	"math"
)

// PriorPrecision returns the current prior precision α.
func (la *Laplace) PriorPrecision() float64 {
	la.mu.Lock()
	defer la.mu.Unlock()
	return la.alpha
}

// SetPriorPrecision sets α (> 0, finite). The MAP and the GGN are kept: only the posterior precision
// GGN + αI changes (post-hoc tuning, as laplace-torch does).
func (la *Laplace) SetPriorPrecision(alpha float64) error {
	if !(alpha > 0) || math.IsInf(alpha, 0) {
		return fmt.Errorf("laplace: prior precision %v, want a finite value > 0", alpha)
	}
	la.mu.Lock()
	la.alpha = alpha
	la.mu.Unlock()
	return nil
}

// GGNEigenvalues returns the eigenvalues λ_i of the likelihood's GGN in the chosen structure (Full: of the
// dense matrix; Diag: its diagonal; Kron: all products λ^A_i·λ^G_j), [Ps]. The posterior precision has
// eigenvalues λ_i + α.
func (la *Laplace) GGNEigenvalues() []float64 { return append([]float64(nil), la.lambdas...) }

// LogMarginalLikelihood returns the Laplace approximation of log p(D | α) at the current α (see
// LogMarginalLikelihoodAt).
func (la *Laplace) LogMarginalLikelihood() float64 {
	v, _ := la.LogMarginalLikelihoodAt(la.PriorPrecision())
	return v
}

// LogMarginalLikelihoodAt returns the Laplace approximation of the log evidence for prior precision alpha,
// with the MAP θ* and the GGN held fixed:
//
//	log p(D | α) ≈ log p(D | θ*) + log p(θ*_s) + (Ps/2) log 2π − ½ log det(GGN + αI)
//	             = log p(D | θ*) − (α/2) ‖θ*_s‖² + (Ps/2) log α − ½ Σ_i log(λ_i + α),
//
// with log p(θ_s) = −(α/2)‖θ_s‖² + (Ps/2) log(α/2π), λ_i the GGN's eigenvalues in the chosen structure, and
// θ*_s the covered weights. For a linear-Gaussian model at its exact MAP this is the exact log evidence.
func (la *Laplace) LogMarginalLikelihoodAt(alpha float64) (float64, error) {
	if !(alpha > 0) || math.IsInf(alpha, 0) {
		return math.NaN(), fmt.Errorf("laplace: prior precision %v, want a finite value > 0", alpha)
	}
	ps := float64(len(la.lambdas))
	v := la.logLik - 0.5*alpha*la.priorNorm2 + 0.5*ps*math.Log(alpha)
	for _, l := range la.lambdas {
		v -= 0.5 * math.Log(l+alpha)
	}
	return v, nil
}

// marglikDerivs returns the first and second derivatives of the log marginal likelihood with respect to
// u = log α:
//
//	M'(u)  = −(α/2)‖θ*_s‖² + Ps/2 − ½ Σ α/(λ_i + α),
//	M''(u) = −(α/2)‖θ*_s‖² − ½ Σ α λ_i/(λ_i + α)²  (< 0: M is concave in log α).
func (la *Laplace) marglikDerivs(alpha float64) (d1, d2 float64) {
	d1 = -0.5*alpha*la.priorNorm2 + 0.5*float64(len(la.lambdas))
	d2 = -0.5 * alpha * la.priorNorm2
	for _, l := range la.lambdas {
		r := alpha / (l + alpha)
		d1 -= 0.5 * r
		d2 -= 0.5 * r * l / (l + alpha)
	}
	return d1, d2
}

// TunePriorPrecision chooses α by method (TuneMarglik or TuneMarglikGrid; TuneNone keeps it), sets it and
// returns it.
func (la *Laplace) TunePriorPrecision(method TuningMethod) (float64, error) {
	var alpha float64
	var err error
	switch method {
	case TuneNone:
		return la.PriorPrecision(), nil
	case TuneMarglik:
		alpha, err = la.newtonAlpha(la.PriorPrecision())
	case TuneMarglikGrid:
		alpha, err = la.gridAlpha(la.opts.GridMin, la.opts.GridMax, la.opts.GridSize)
	default:
		return 0, fmt.Errorf("laplace: unknown tuning method %q: want %q, %q or %q", method, TuneMarglik, TuneMarglikGrid, TuneNone)
	}
	if err != nil {
		return 0, err
	}
	return alpha, la.SetPriorPrecision(alpha)
}

// newtonAlpha maximises the log marginal likelihood over u = log α by Newton's method from alpha0, with
// steps limited to |Δu| ≤ 2 (a trust region; M is concave, so the iteration cannot overshoot into a
// worse stationary point). It stops when |M'(u)| ≤ 1e-10·max(1, Ps) or after 200 iterations.
func (la *Laplace) newtonAlpha(alpha0 float64) (float64, error) {
	if la.priorNorm2 == 0 {
		return 0, fmt.Errorf("laplace: the covered MAP weights are all zero, so the marginal likelihood grows without bound in α: fix α instead (Tuning %q)", TuneNone)
	}
	u := math.Log(alpha0)
	tol := 1e-10 * math.Max(1, float64(len(la.lambdas)))
	for it := 0; it < 200; it++ {
		d1, d2 := la.marglikDerivs(math.Exp(u))
		if math.Abs(d1) <= tol {
			break
		}
		step := -d1 / d2
		if math.IsNaN(step) || math.IsInf(step, 0) {
			return 0, fmt.Errorf("laplace: Newton step on log α is %v at α=%g", step, math.Exp(u))
		}
		step = math.Max(-2, math.Min(2, step))
		u += step
		if u > 700 || u < -700 {
			return 0, fmt.Errorf("laplace: the marginal likelihood's maximum over α is out of range (log α = %g)", u)
		}
	}
	return math.Exp(u), nil
}

// gridAlpha returns the α of largest log marginal likelihood among size values with log10 α equally spaced
// on [lo, hi].
func (la *Laplace) gridAlpha(lo, hi float64, size int) (float64, error) {
	best, bestV := 0.0, math.Inf(-1)
	for i := 0; i < size; i++ {
		a := math.Pow(10, lo+(hi-lo)*float64(i)/float64(size-1))
		v, err := la.LogMarginalLikelihoodAt(a)
		if err != nil {
			return 0, err
		}
		if v > bestV {
			best, bestV = a, v
		}
	}
	return best, nil
}
