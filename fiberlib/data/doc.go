// Package data holds fiberlib's in-memory data sets, their loaders (UCI regression and classification,
// banana, Fashion-MNIST, MNIST) and seeded toys, and the standardisation fitted on a training split.
//
// # Where the data comes from
//
// The reference sets live in one directory (the repository's ../shared/data on CI), found by Dir: the -data
// flag (RegisterDirFlag) or SetDir, else $FIBERBNN_DATA, else the first shared/data found walking up from the
// working directory. Every loader takes that directory as its first argument, so a user can point it at a
// copy of their own. Fashion-MNIST is read from Debian's package dataset-fashion-mnist
// (/usr/share/datasets/fashion-mnist), a folder of the user's, or the official files downloaded into
// $FIBERBNN_HOME/data/fashion-mnist and checked against pinned SHA-256s before use.
//
// # Policy
//
//   - Loaders return the data as in the files: nothing is standardised behind the caller's back. Use
//     FitStandardizer (or Standardize) on the training split and apply it to the other splits. Its default
//     standardises every input column and every regression target, as the UCI protocol of Hernández-Lobato
//     & Adams (2015) does and as Immer et al. (2021) do for the inputs of the UCI classification sets;
//     StandardizeOptions.KeepBinaryInputs leaves 0/1 columns alone for protocols that do not scale them.
//     The Standardizer converts predictions back (InverseTargets, InverseTargetStd) and metrics into
//     original units (NLL_orig = NLL_std + log scale; RMSE_orig = RMSE_std · scale).
//   - Class labels read from text are relabelled to 0..K-1 in sorted order (numerically when numeric), and
//     Dataset.ClassNames keeps each class's label as written (banana's 1/2 become 0/1 with names "1", "2").
//   - Every random choice (splits, toys) takes an explicit seed and uses PCG from math/rand/v2: the same seed
//     gives the same data everywhere.
//   - Bad input is an error, never a panic: messages name the file, the line (file:line:) and the field,
//     and say what to fix. Must and Must2 turn errors into panics for notebooks.
//
// Shapes: X is [N, D] row-major float32, Y is [N, T], Labels is [N]; images have InputShape [28, 28, 1].
package data
