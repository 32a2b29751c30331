// Package laplace fits Laplace approximations to the posterior of a fiberlib network,
// q(θ) = N(θ*, Σ), at a MAP θ*, with the vocabulary of laplace-torch (Daxberger et al., "Laplace Redux",
// 2021): which weights (SubsetOfWeights: AllWeights or LastLayer), which curvature structure
// (HessianStructure: Full, Diag or Kron), which predictive (PredType: GLM or NN) and which link
// approximation for classifiers (LinkApprox: Probit or MC). Options are typed and validated before any
// computation; invalid combinations (a full Hessian above Options.MaxFullParams, Kron on all weights of a
// CNN, probit with the NN predictive, GLM with the heteroscedastic likelihood, FitSigma for a classifier)
// are rejected with a message naming the fix.
//
// # Curvature
//
// The posterior precision on the covered weights θ_s (all of θ, or the output layer) is the generalised
// Gauss–Newton matrix of the likelihood plus the prior precision,
//
//	Σ⁻¹ = GGN + αI,   GGN = Σ_b J_bᵀ Λ_b J_b,
//
// with J_b = ∂f(x_b; θ*)/∂θ_s the Jacobian of the network outputs [O, Ps] and Λ_b the Hessian of the
// example's negative log-likelihood in the outputs: I/σ² (gaussian), p(1−p) (bernoulli), diag(p) − ppᵀ
// (categorical), and for the heteroscedastic likelihood its Fisher diag(1/σ_t², 2) (the exact Hessian is
// not positive semi-definite away from a perfect fit). The GGN is computed through a symmetric factor
// Λ_b = L_bᵀ L_b (L = I/σ; √(p(1−p)); rows √p_k (e_k − p)), as V_bk = Σ_o L_bko ∂f_o/∂θ_s:
//
//   - LastLayer: in closed form from the features φ = nets' Features at θ*: ∂f_o/∂W[h,q] = φ_h δ_oq and
//     ∂f_o/∂b_q = δ_oq, so V_bk,(h,q) = φ̃_bh L_bkq with φ̃ = [φ, 1]. Full is then exact for the head.
//   - AllWeights: per-example gradients through the network's particle axis (θ repeated once per example
//     and factor row, one forward and one reverse pass per chunk of examples; memory O(chunk·O·P)), which
//     works for every network nets builds (MLPs and CNNs).
//   - Full keeps Σ_bk V_bk V_bkᵀ [Ps, Ps] (rejected above MaxFullParams), Diag its diagonal Σ_bk V_bk²
//     (the exact diagonal of the GGN, not an estimate), Kron one block per dense layer (K-FAC, Martens &
//     Grosse 2015; Ritter et al. 2018): block ≈ A ⊗ G with A = (1/n) Σ_b ã_b ã_bᵀ (ã = [layer input, 1]) and
//     G = Σ_b Σ_k g_bk g_bkᵀ (g_bk the factor row back-propagated to the layer's pre-activations). The
//     parameters of a layer are its weights [In, Out] then its bias [Out], read as the row-major matrix
//     W̃ [In+1, Out], so the block index (i, j) ↦ i·Out + j matches A ⊗ G. Kron is exact for one example and
//     for a network without hidden layers under a Gaussian likelihood.
//
// Everything is summed over chunks of the training data in float64 on the host. Host linear algebra is in
// float64 (gonum): Full needs the GGN's eigenvalues (for the marginal likelihood as a function of α) and the
// Cholesky factor L of GGN + αI (S = L⁻ᵀ is the square root of Σ used for sampling and the GLM predictive),
// Kron the eigendecompositions of every A and G (values and vectors), Diag nothing. gonum's symmetric
// eigensolver is about ten times slower with eigenvectors than without, so Full avoids them.
//
// # Marginal likelihood and prior precision
//
// With the MAP and the GGN fixed, the Laplace approximation of the evidence for prior precision α is
//
//	log p(D | α) ≈ log p(D | θ*) + log p(θ*_s) + (Ps/2) log 2π − ½ log det(GGN + αI)
//	             = log p(D | θ*) − (α/2) ‖θ*_s‖² + (Ps/2) log α − ½ Σ_i log(λ_i + α),
//
// where log p(θ_s) = −(α/2)‖θ_s‖² + (Ps/2) log(α/2π) is the Gaussian prior on the covered weights,
// log p(D | θ*) is the log-likelihood of all the data at θ* with every normalising constant (for the
// gaussian likelihood −RSS/(2σ²) − nT log σ − (nT/2) log 2π), and λ_i are the GGN's eigenvalues in the
// chosen structure (Full: of the dense matrix; Diag: its entries; Kron: every product λ^A_i λ^G_j, as
// laplace-torch's KronDecomposed). For a linear-Gaussian model at its MAP this is the exact evidence.
//
// The prior precision is tuned post hoc by maximising this over log α (TuneMarglik: Newton's method; the
// objective is concave in log α, with derivative −(α/2)‖θ*_s‖² + Ps/2 − ½ Σ α/(λ_i + α)) or on a grid of
// log10 α (TuneMarglikGrid; laplace-torch's default range [−4, 4], 100 points). laplace-torch tunes by
// Adam on log α for 100 steps; Newton reaches the same maximiser to machine precision in a few steps.
// Note that the MAP is not re-trained: the tuned α maximises the evidence of the Gaussian around this MAP.
// Alternating re-training and tuning (MacKay's evidence framework) converges to the exact evidence optimum
// for a linear-Gaussian model, because at θ* = θ*(α) the derivative of this approximation in α equals the
// exact evidence's.
//
// σ of the gaussian likelihood is the network's, or with Options.FitSigma its maximum-likelihood value at
// the MAP (σ² = mean squared training residual), as the project's protocol prescribes.
//
// # Predictives
//
// GLM (the default, as in laplace-torch): the network is linearised at θ*, so the outputs at x are
// Gaussian with mean f(x; θ*) and covariance J(x) Σ J(x)ᵀ (computed as (J S)(J S)ᵀ with Σ = S Sᵀ, in one
// compiled call per chunk of test points). Regression: N(f, diag(J Σ Jᵀ) + σ²). Classification: the probit
// approximation per logit (predict.ProbitSigmoid / ProbitSoftmax, with the diagonal of J Σ Jᵀ), or MC logit
// draws from the full output covariance averaged in probability. NN: parameter samples θ = θ* + S z drawn
// in one compiled call and evaluated through the network (NetworkPredictive, the same Bayesian model average
// every sampler's samples.Set gets). Measured on the gap toy (see the tests): the all-weights NN
// predictive of a GGN Laplace is an order of magnitude too wide, as Immer et al. (2021) report; use GLM.
//
// Sample returns a samples.Set (method "laplace") so that all predictive and metric code is shared.
package laplace
