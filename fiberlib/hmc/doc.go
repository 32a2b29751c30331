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
// only at the start of a trajectory, so the numbers do not depend on how the loop is laid out. On the
// pure-Go backend (whose While does not support gradients in its body) the same iteration is unrolled
// [transitions × leapfrog steps] times, with the iterations past the end masked out.
//
// # Divergences
//
// A transition is divergent when the energy error H(new) − H(old) exceeds Options.DivergenceThreshold
// (1000, as Stan and blackjax) or when the proposal's potential, position or gradient is NaN or infinite.
// Divergent proposals are always rejected; Sample reports each with its chain and iteration.
package hmc
