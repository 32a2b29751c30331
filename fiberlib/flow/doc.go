// Package flow is stage 2 of the method ("flow deformation"): it learns an invertible map from a standard
// Gaussian onto posterior samples (from the fiber walk or any other method), so that new samples and their
// densities cost one forward pass.
//
// # Model
//
// Samples θ₁..θ_N [P] around the MAP θ* are reduced to the span of their displacements Δ = θ − θ* by a
// singular value decomposition (FitSubspace, gonum's mat.SVD; uncentred, so that θ* is the origin of the
// coordinates), keeping r ≤ min(N−1, P) directions by a variance threshold or a given rank, optionally
// whitened. On the coordinates c = diag(Scale)⁻¹ Uᵀ(θ − θ*) [r] a normalizing flow is fitted by maximum
// likelihood:
//
//	θ = θ* + U·diag(Scale)·c,   c = Loc + Spread ⊙ T(z),   z ~ N(0, I_r),
//
// where Loc, Spread standardise the training coordinates and T is a stack of coupling layers (affine
// RealNVP couplings with a tanh-soft-clamped log-scale, rational-quadratic spline couplings after Durkan
// et al. 2019 with K bins on [−B, B] and identity tails, or both alternating), with a fixed permutation
// (reversal or seeded random) before every layer after the first, and tanh MLP conditioners. T and T⁻¹
// are exact, with exact log-determinants.
//
// # Densities
//
// q(θ) is a density on the r-dimensional affine subspace θ* + span(U), with respect to r-dimensional
// volume on it: log q(θ) = log N(z) − log|det ∂c/∂z| − Σ log Scale. For a θ off the subspace, LogProb
// evaluates q at its orthogonal projection and also returns the distance to the subspace; q says nothing
// about the P − r directions it discarded. Importance weights against an unnormalised posterior,
// log w = −U(θ) − log q(θ), therefore correct towards the posterior restricted to the subspace (all of it
// when r = P); SampleImportance returns them self-normalised, with the Pareto-k̂ diagnostic and PSIS
// smoothing (Vehtari et al. 2024; the generalized Pareto fit is Zhang & Stephens 2009), the effective sample
// size, and Resample draws an equally weighted sample from them.
//
// # Training
//
// Adam on minibatches (epoch-wise shuffles), many steps per compiled call (gloop.Repeat: a graph While
// loop on XLA), gradient-norm clipping, early stopping on a held-out fraction of the samples (the best
// parameters are kept), every random choice from a seed. Optionally λ·E_z[U(θ* + U T(z))] is added to the
// loss through a posterior.Target (reparameterised), to keep decoded parameters at low training loss; with
// TrainOptions.TargetLevel, λ is calibrated during training (multiplicative dual ascent) so that the draws'
// mean per-datum loss meets a given level. A non-finite loss, gradient or update stops training at the
// step it happens (TrainReport.NonFiniteStep), keeping the best parameters of the calls before. With
// TrainOptions.CheckpointPath the whole training state is saved atomically (kind "fiberbnn.flow.train")
// and a fit resumes from it with bit-identical results; TrainOptions.Context interrupts it.
//
// # Draws on the walk's loss levels
//
// Fiber-walk samples lie on a thin loss shell (the walk's budget control holds them at ℓ* + τ), which a
// density fitted to a few hundred samples blurs across the sharp directions of the valley.
// SampleOnLevels moves each draw along its ray from θ* onto a level drawn from the training samples'
// losses (Flow.Levels), by a bracketed root search; the result matches the walk's loss distribution but
// has no tractable density.
//
// # Draws on the fiber
//
// The walk's samples move along directions that keep the training outputs (the fiber of θ*) and the flow's
// draws do not. SampleCorrected (CorrectToFiber for any parameter vectors) moves each draw onto the fiber by
// damped Gauss–Newton steps on r(θ) = f(X; θ) − f(X; θ*) over (up to MaxRows) training inputs: the smallest
// step that removes the linearised output error, θ ← θ − Jᵀ(JJᵀ + μI)⁻¹r, solved by batched conjugate
// gradients, a step kept only if it lowers ‖r‖. The relative damping μ₀ decides which directions count as
// stiff: too small pins the outputs exactly and removes the spread the data leave free. When the flow knows
// the losses of the samples it was fitted on (Flow.Levels, or CorrectOptions.Levels), each draw then moves
// along the fiber onto a loss level drawn from them: along its displacement from θ* (or, if that line never
// crosses the level, the prior's gradient) with the output directions projected out, in two cycles of
// Gauss–Newton iterations and a bracketed root search, so the draws sit where the walk's budget control
// puts its particles (CorrectReport.LevelReached says which draws made it). No density.
//
// # Held-out samples
//
// Early stopping and the reported held-out loss use a fraction of the samples; with TrainOptions.Groups
// (filled by FitSamples from a walk's per-sample particle index) whole groups are held out, since the
// snapshots of one particle are correlated.
//
// VAE is the autoencoder variant for comparison with the paper's description (encoder and decoder MLPs on
// the same coordinates, ELBO training with the same loop; sampling decodes z ~ N(0, I_m)); it has no exact
// density.
//
// Fitted flows are saved and loaded atomically and checksummed (Save, Load; kind "fiberbnn.flow").
package flow
