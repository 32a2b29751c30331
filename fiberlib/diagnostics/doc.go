// Package diagnostics computes convergence diagnostics of Markov chain Monte Carlo draws: the potential
// scale reduction factor R̂ and the effective sample size (ESS), per parameter and summarised.
//
// Two R̂ are offered: the classic split-R̂ of Gelman et al. (Bayesian Data Analysis, 3rd ed., §11.4), and the
// rank-normalised split-R̂ of Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021, "Rank-normalization,
// folding, and localization: an improved R̂", Bayesian Analysis 16(2)), which is the maximum of the bulk R̂
// (split-R̂ of the rank-normalised draws) and the tail R̂ (of the rank-normalised folded draws |θ − median|).
// Summaries report the rank-normalised one, as Stan and ArviZ do; the threshold in use is R̂ < 1.01.
//
// ESS follows the same paper (and Stan): autocorrelations from all chains combined through the multi-chain
// variance estimate, truncated by Geyer's initial positive sequence and made monotone (Geyer 1992,
// "Practical Markov chain Monte Carlo", Statistical Science 7(4)). BulkESS applies it to the
// rank-normalised split chains; ESS to the raw split chains.
//
// Everything here is host-side float64 arithmetic on draws laid out as chains[c][s]; autocovariances use a
// radix-2 FFT.
package diagnostics
