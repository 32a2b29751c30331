// Package fiber implements stage 1 of "Walking on the Fiber" (Reichlin, Vasco, Kragic, arXiv 2512.01500):
// N particles start at a MAP θ*, each with its own fixed random unit drift direction d_i, and walk
//
//	θ_i ← θ_i + ε_i·s_i·d_i − η·∇ℓ(θ_i)        (ℓ = U/n, the per-datum loss)
//
// so that the drift pushes them away from θ* and the gradient cancels the part of the drift that climbs out
// of the low-loss valley. What is left slides along the set of near-optimal parameters (the "fiber"). The
// final (and optionally intermediate) positions are the samples.
//
// # Conventions (our choices; see Options for the defaults and METHOD.md for the evidence)
//
//   - The gradient is that of the per-datum loss ℓ(θ) = U(θ)/n, with U = −log p(D|θ) − log p(θ) the target's
//     potential and n = Target.NumData() (n = 1 for a target without data). So η is a learning rate in the
//     usual sense and does not have to change with the data set size. In a quadratic basin U = ½ΔθᵀAΔθ the
//     plain walk (ControlNone) settles at θ* + (ε·n/η)·A⁻¹·d.
//   - ε is a length in parameter space: the drift moves a particle by ε per step.
//   - τ (Tau) is a loss-rise budget per datum: the walk keeps ℓ(θ_i) − ℓ(θ*) ≤ τ. The default is the rise of
//     a typical posterior sample under the Laplace approximation, P_walk/(2n): in a Gaussian with P
//     dimensions, typical samples lie P/2 nats above the mode, whatever the curvature.
//   - The budget control (ControlBudget, the default) multiplies the drift by s_i = clip(1 − r_i/τ, 0, 1),
//     r_i = ℓ(θ_i) − ℓ(θ*), so a particle slows down as it spends its budget and the gradient holds it on
//     the level set ℓ* + τ, where it can still slide along the fiber. ControlNone is the paper's plain rule
//     (s_i = 1).
//   - ε adapts per particle (EpsilonGrowth): it grows geometrically while the particle has spent less than
//     half its budget, so one step ends up a small fixed fraction of the distance walked, whatever the scale
//     of the problem.
//
// Every particle walks in one compiled computation (a leading particle axis), many steps per executed call.
// Particles whose potential, gradient or position stop being finite, or whose rise exceeds DivergeRise, are
// frozen at the step it happens, reported with that step, and left out of the samples.
//
// The walk is not an exact MCMC sampler: with a fixed drift, its samples in a quadratic basin are
// θ* + c·A⁻¹·d (covariance ∝ A⁻², not the posterior's A⁻¹). It gives a cheap, diverse set of
// near-optimal parameters that follows curved valleys; the flow of stage 2 is fitted to it.
package fiber
