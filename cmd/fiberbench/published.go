package main

// Published UCI regression results (1×50 ReLU networks, the 20 standard splits), from
//
//	B. Lakshminarayanan, A. Pritzel, C. Blundell, "Simple and Scalable Predictive Uncertainty Estimation
//	using Deep Ensembles", NeurIPS 2017, Table 1 (PBP: Hernández-Lobato & Adams 2015; MC-dropout: Gal &
//	Ghahramani 2016; Deep Ensembles: M = 5, adversarial training, proper scoring rule).
//
// as transcribed in the project's design notes (method.md). Entries are mean ± standard error over splits;
// RMSE for kin8nm and naval is not transcribed there and is left out here rather than guessed. The NLL table
// gives no standard errors for most entries in our notes: SE is NaN where it is not known.

// published is one published result: a mean and its standard error (NaN when not transcribed).
type published struct {
	Mean, SE float64
}

// publishedSource is the citation printed under every table that shows published numbers.
const publishedSource = "Lakshminarayanan et al. 2017 (Deep Ensembles), Table 1: PBP (Hernández-Lobato & Adams 2015), " +
	"MC-dropout (Gal & Ghahramani 2016), Deep Ensembles (M = 5, with adversarial training); 1×50 ReLU, 20 splits"

// publishedMethods are the published methods, in the order they are printed.
var publishedMethods = []string{"PBP (published)", "MC-dropout (published)", "Deep Ensembles (published)"}

// publishedUCI maps metric → set folder name → published method → result.
var publishedUCI = map[string]map[string]map[string]published{
	"nll": {
		"bostonHousing":          trio(2.57, 0.09, 2.46, 0.25, 2.41, 0.25),
		"concrete":               trio(3.16, nan, 3.04, nan, 3.06, nan),
		"energy":                 trio(2.04, nan, 1.99, nan, 1.38, nan),
		"kin8nm":                 trio(-0.90, nan, -0.95, nan, -1.20, nan),
		"naval-propulsion-plant": trio(-3.73, nan, -3.80, nan, -5.63, nan),
		"power-plant":            trio(2.84, nan, 2.80, nan, 2.79, nan),
		"wine-quality-red":       trio(0.97, nan, 0.93, nan, 0.94, nan),
	},
	"rmse": {
		"bostonHousing":    trio(3.01, nan, 2.97, nan, 3.28, nan),
		"concrete":         trio(5.67, nan, 5.23, nan, 6.03, nan),
		"energy":           trio(1.80, nan, 1.66, nan, 2.09, nan),
		"power-plant":      trio(4.12, nan, 4.02, nan, 4.11, nan),
		"wine-quality-red": trio(0.64, nan, 0.62, nan, 0.64, nan),
	},
}

func trio(m1, s1, m2, s2, m3, s3 float64) map[string]published {
	return map[string]published{
		publishedMethods[0]: {m1, s1},
		publishedMethods[1]: {m2, s2},
		publishedMethods[2]: {m3, s3},
	}
}
