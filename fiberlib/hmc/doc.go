// Package hmc samples a posterior.Target with Hamiltonian Monte Carlo: full-batch HMC with a diagonal mass
// matrix, several chains at once in one compiled computation, the reference ("ground truth") baseline of
// fiberbnn on small problems.
//
// Chains are the particle axis: positions are [chains, params]. One executed call runs many transitions:
// the leapfrog integration, the Metropolis accept/reject, the warm-up adaptation and the recording of draws
// all happen inside the graph, driven by GoMLX's counter-based random number generator whose state is
// threaded through the loop, so the same seed gives the same chains on the same backend.
//
// The API follows blackjax: a Sampler has Init(position) → State and Step(State) → (State, Info), where Info
// carries the acceptance probability, the divergence flag, the step size and the potential of every chain;
// Run does many transitions in one call. Sample is the high-level entry point: windowed warm-up (step size
// by dual averaging, diagonal mass matrix from warm-up draws), then sampling with thinning, returning the
// draws [chains, draws, params] with per-chain and per-parameter diagnostics (split-R̂, bulk ESS).
//
// # The loop
//
// GoMLX v0.28.2 on XLA cannot nest a While loop inside another (closures are all children of the main
// function), so transitions and leapfrog steps share ONE While loop: every iteration is one leapfrog step;
// an iteration that begins a trajectory first draws the momentum (and the jittered number of steps), one
// that ends it does the accept/reject, the adaptation update and the recording. The random state advances
// only at the start of a trajectory. On the pure-Go backend (whose While does not support gradients in its
// body) the call is unrolled statically: transitions × NumSteps leapfrog steps, the steps past a jittered
// length and the transitions past the requested number masked out. Both layouts give the same numbers
// (tested on XLA); the random streams of the two backends differ, so the chains do too.
//
// # Adaptation (Stan's scheme, per chain)
//
// Warm-up follows Stan: the initial step size is found by the heuristic of Hoffman & Gelman (2014,
// Algorithm 4); dual averaging (ibid. §3.2, γ = 0.05, t₀ = 10, κ = 0.75, μ = log 10ε) tunes it towards a mean
// acceptance of 0.8; the diagonal inverse mass matrix is the regularised variance of the draws of slow
// windows 75 | 25, 50, 100, … | 50 (σ̂² n/(n+5) + 10⁻³·5/(n+5)); after each window the heuristic re-runs and
// dual averaging restarts; sampling uses the averaged step size ε̄. Every chain adapts its own step size and
// mass matrix, as independent Stan runs do (Options.PoolMass pools the windows' draws over the chains;
// on a 10-D Gaussian it made no measurable difference). Sampling acceptance is typically above the target
// (0.9–0.95 on Gaussians): ε̄ is smaller than the iterates that averaged 0.8. Divergences during warm-up are
// common (the iterates overshoot) and are reported separately.
//
// NUTS is not implemented: its tree building does not fit one vectorised loop over chains of different
// tree depths without much masking. The static kernel with jittered trajectory lengths is the reference
// sampler; choose NumSteps·ε̄ comparable to the posterior's longest scale.
//
// # Divergences
//
// A transition is divergent when the energy error H(new) − H(old) exceeds Options.DivergenceThreshold
// (1000, as Stan and blackjax) or when the proposal's potential, position or gradient is NaN or infinite.
// Divergent proposals are always rejected; Sample reports each with its chain and iteration.
package hmc
