// Package fiber implements stage 1 of "Walking on the Fiber" (Reichlin, Vasco, Kragic, arXiv 2512.01500):
// N particles start at a MAP θ*, each with its own fixed random unit drift direction d_i, and walk
//
//	θ_i ← θ_i + ε_i·s_i·d_i − η_i·∇ℓ(θ_i)        (ℓ = U/n, the per-datum loss)
//
// so that the drift pushes them away from θ* and the gradient cancels the part of the drift that climbs out
// of the low-loss valley. What is left slides along the set of near-optimal parameters (the "fiber"). The
// final (and optionally intermediate) positions are the samples.
//
// # Conventions and controls (our choices; numbers in METHOD.md)
//
//   - The gradient is that of the per-datum loss ℓ(θ) = U(θ)/n, with U = −log p(D|θ) − log p(θ) the target's
//     potential and n = Target.NumData() (n = 1 for a target without data). η is a learning rate in the
//     usual sense. In a quadratic basin U = ½ΔθᵀAΔθ the plain walk (ControlNone) settles at
//     θ* + (ε·n/η)·A⁻¹·d.
//   - ε is a length in parameter space: the drift moves a particle by ε·s per step.
//   - τ (Tau) is a loss-rise budget per datum. The default is the mean rise of a posterior sample under the
//     Laplace approximation, P_walk/(2n): in a Gaussian with P dimensions, samples lie on average P/2 nats
//     above the mode, whatever the curvature.
//   - The budget control (ControlBudget, the default) multiplies the drift by s_i = clip(1 − r_i/τ, 0, 1),
//     r_i = ℓ(θ_i) − ℓ(θ*): a particle slows down as it spends its budget, and the gradient holds it near the
//     level set ℓ* + τ, along which it keeps sliding. ControlNone is the paper's plain rule (s_i = 1).
//   - Step control (ControlBudget): a step that leaves a particle above 2τ is rejected (the particle returns
//     to its previous position), and a step that bounces back across the valley (the move points against the
//     previous one) is halved; either way the particle's ε and η are halved for good. The curvature across
//     the valley often grows along the fiber (e.g. the scale symmetry ab = const), so an η that is stable at
//     θ* need not stay stable.
//   - η defaults to 0.5/λ_max, with λ_max the largest eigenvalue of ∇²ℓ(θ*) on the walking parameters
//     (power iteration with exact Hessian-vector products, in one compiled call). ε starts at
//     0.01·√(2τ/λ_max) and grows by 3 % per step while the particle has spent less than half its budget, so
//     that it reaches the level set whatever the scale of the valley.
//
// # Running a walk
//
// Walk (or NewWalker then Walker.Run) runs all particles in one compiled computation with a leading particle
// axis, RecordEvery steps per executed call (a While loop on XLA, unrolled on the pure-Go backend). After each
// call it records, per particle: the loss on the full data, the distance from θ*, the gradient norm, the
// share of the drift orthogonal to the gradient, the gate s, the progress along the drift, ε and η (Trace).
// A particle whose potential, gradient or next position is not finite, or whose rise exceeds DivergeRise, is
// frozen inside the loop at the step it happens; Result lists it with that step and leaves it out of the
// samples. A walk saves checkpoints atomically and resumes from them with the same numbers (LoadCheckpoint;
// Walk does it by itself when Options.CheckpointPath exists). Result.ToSamples converts the samples to a
// samples.Set.
//
// # What the walk is not
//
// It is not an exact MCMC sampler: with a fixed drift, its samples in a quadratic basin are θ* + c·A⁻¹·d
// (covariance ∝ A⁻², not the posterior's A⁻¹), so flat directions weigh more than in the posterior. It gives
// a cheap, diverse set of near-optimal parameters that follows curved valleys; stage 2 fits a flow to it.
package fiber
