// Package metrics scores predictive distributions: RMSE and Gaussian NLL for regression; accuracy, NLL,
// expected calibration error (ECE), Brier score, predictive entropy and out-of-distribution AUROC for
// classification; and mean ± standard error over data splits for benchmark tables.
//
// Conventions (stated once, used everywhere):
//
//   - Classification probabilities are [B, C] row-major (B points, C classes), labels are class indices in
//     [0, C). Every row must hold finite values in [0, 1] summing to 1 within ProbTolerance.
//   - The predicted class is the argmax of a row; ties go to the lowest class index. Confidence is the
//     largest probability of the row.
//   - NLL is in nats, averaged over points. A zero probability on the true label gives +Inf (nothing is
//     clamped); predict.Classification.NLL uses log-probabilities and stays finite.
//   - ECE uses M equal-width confidence bins (15 by default): bin k holds the confidences in
//     (k/M, (k+1)/M], and bin 0 also holds 0. ECE = Σ_k (n_k/N)·|accuracy_k − confidence_k|, reported in
//     percent (Guo et al. 2017).
//   - Brier score is the multiclass form Σ_c (p_c − 1[y=c])², summed over classes and averaged over points:
//     it lies in [0, 2]. (Some papers halve it, or score binary tasks on the positive class alone, which
//     halves it as well.)
//   - Entropy is the entropy of the predictive distribution, −Σ_c p_c log p_c in nats, with 0·log 0 = 0.
//   - AUROC is the probability that a random positive (out-of-distribution) point scores higher than a
//     random negative (in-distribution) one, ties counting one half: the Mann–Whitney U statistic over
//     n_pos·n_neg, computed from rank sums with average ranks for ties.
//
// Functions validate their input (lengths, NaN, probability rows, label range, emptiness) and return
// errors naming the offending value.
package metrics
