// Package predict forms the Bayesian model average (BMA) of a network's predictions over posterior
// samples, from per-sample outputs given as plain Go slices: the networks are evaluated elsewhere (in one
// batched graph), and this package only combines their outputs on the host, in float64.
//
// With S samples θ_s and B test points, the BMA predictive is the equal-weight mixture
//
//	p(y | x, D) ≈ (1/S) Σ_s p(y | x, θ_s).
//
// Regression ([Regression]): each sample predicts a Gaussian N(μ_s, σ_s²) (σ shared, per sample, or
// heteroscedastic per point); the mixture has mean μ̄ = (1/S) Σ μ_s and variance
// (1/S) Σ (μ_s − μ̄)² (epistemic) + (1/S) Σ σ_s² (aleatoric). Its log density is computed with a stable
// log-sum-exp. Targets are often standardised for training (y_std = (y − shift)/scale); results can be
// reported in original units, where NLL_orig = NLL_std + log scale and RMSE_orig = scale · RMSE_std.
//
// Classification ([Classification]): logits [S, B, C] → the mean over samples of the per-sample softmax
// (or sigmoid for one binary logit), with log-probabilities computed by log-sum-exp so that a confidently
// wrong sample gives a large but finite NLL.
//
// Linearised (GLM) predictives: given the mean and variance of the logits, [ProbitSoftmax] and
// [ProbitSigmoid] apply the probit approximation ∫ σ(f) N(f; m, v) df ≈ σ(m / √(1 + πv/8)) (MacKay 1992),
// applied per class before the softmax in the multiclass case, as laplace-torch's link_approx="probit"
// does; [MCSoftmax] integrates by seeded Monte Carlo instead.
//
// Functions validate shapes and values and return errors naming the problem.
package predict
