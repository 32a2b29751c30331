// Package compare measures how far apart two predictive distributions are in function space, averaged over
// test inputs: typically an approximation (fiber walk, Laplace, ensemble, SWAG) against the reference
// posterior predictive of HMC.
//
// Regression predictives are Gaussian per test input (and per output; arrays are flat over inputs ×
// outputs): the KL divergence and the 2-Wasserstein distance have closed forms. Classification predictives
// are categorical per test input: the KL divergence. KL is asymmetric: KL(ref ‖ approx) penalises an
// approximation that is too narrow where the reference has mass; Distances reports both directions.
package compare

import "math"

// Float is the element type accepted: float32 or float64 slices (computation is in float64).
type Float interface{ ~float32 | ~float64 }

func bad[F Float](x F) bool { return math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) }
