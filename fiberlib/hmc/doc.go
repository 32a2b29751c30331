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
// NUTS is not implemented (our choice): its tree building does not fit one vectorised loop over chains of
// different tree depths without much masking, and every chain would pay for the deepest tree of the
// transition. The static kernel with jittered trajectory lengths (uniform on 1..NumSteps, Neal 2011,
// §5.4.2.2) is the reference sampler; choose NumSteps·ε̄ comparable to the posterior's longest scale.
//
// # A converged reference for a small network
//
// For a neural network, judge convergence in function space (Result.FunctionSummary): the weight posterior
// is multimodal through symmetries, so the R̂ of parameters stays far above 1 even when the chains agree
// on the function. On the 1-D gap toy (1×50 tanh MLP, P = 151, 80 points, σ = 0.1, α = 1) the settings
// that give split-R̂ < 1.05 for f(x) everywhere on [−3, 3] are (measured on XLA CPU, see gap_test.go):
//
//   - overdispersed starts: one chain per independently trained MAP (train.MAP with Members = chains), so
//     that chains begin in different modes and R̂ can see disagreement;
//   - long jittered trajectories: NumSteps = 256 (ε̄ ≈ 0.0025 after warm-up: the stiff directions along the
//     data limit ε, the prior directions of scale 1 need ~100 steps to cross);
//   - 16 chains, 300 warm-up transitions and 400 draws per chain: max R̂ 1.029, min bulk ESS 602 of 6400,
//     no divergences after warm-up, about 70 s of CPU time on two cores.
//
// Shorter trajectories do not make up for it with more transitions at equal cost: NumSteps 32 (400 + 100
// transitions) gave R̂ 1.6, NumSteps 128 (300 + 100) 1.27, NumSteps 256 with 200 draws 1.06, and 8 chains of
// 150 draws 1.16. The regions that converge last are the gap and the extrapolation beyond the data, where
// the function is set by the weakly identified directions.
//
// # Checkpoints and NaN
//
// With Options.CheckpointPath, Sample writes its whole progress (the chains' State, random state included,
// the position in the warm-up plan and what was recorded) atomically to a binfile every
// Options.CheckpointEvery transitions and when its context is cancelled, and a later Sample with the same
// options and starting points resumes from the file: the result is bit-identical to an uninterrupted run
// (tested after a context cancel and after SIGKILL of a child process). A proposal whose potential,
// position or gradient is NaN or infinite is rejected and reported (Divergence.NonFinite, with chain and
// transition); that chain stays where it was and the other chains are not affected (their draws are
// bit-identical to a run without the NaN).
//
// # Divergences
//
// A transition is divergent when the energy error H(new) − H(old) exceeds Options.DivergenceThreshold
// (1000, as Stan and blackjax) or when the proposal's potential, position or gradient is NaN or infinite.
// Divergent proposals are always rejected; Sample reports each with its chain and iteration.
package hmc
