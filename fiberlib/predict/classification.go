package predict

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Classification holds a predictive distribution over C classes at B points.
type Classification struct {
	B, C int
	// Probs holds the predictive probabilities, [B, C]; each row sums to 1.
	Probs []float64
	// LogProbs holds their logarithms, [B, C], computed stably (finite even where Probs underflows to 0).
	LogProbs []float64
}

// NLL returns the negative log predictive probability of each label, [B], from LogProbs.
func (c *Classification) NLL(labels []int32) ([]float64, error) {
	if len(labels) != c.B {
		return nil, fmt.Errorf("predict: classification NLL: %d labels for B=%d points", len(labels), c.B)
	}
	out := make([]float64, c.B)
	for i, y := range labels {
		if y < 0 || int(y) >= c.C {
			return nil, fmt.Errorf("predict: classification NLL: label %d of point %d out of range [0, %d)", y, i, c.C)
		}
		out[i] = -c.LogProbs[i*c.C+int(y)]
	}
	return out, nil
}

// checkLogits validates a logits slice of n = prod(dims) values.
func checkLogits(what string, logits []float32, dims ...int) error {
	n := 1
	for _, d := range dims {
		if d < 1 {
			return fmt.Errorf("predict: %s: dimensions %v must all be >= 1", what, dims)
		}
		n *= d
	}
	if len(logits) != n {
		return fmt.Errorf("predict: %s: %d values, want %v = %d", what, len(logits), dims, n)
	}
	for i, v := range logits {
		if !finite32(v) {
			return fmt.Errorf("predict: %s: value %d is %v: the network output diverged", what, i, v)
		}
	}
	return nil
}

// logSoftmax writes log softmax(x) into out (float64, max-shifted).
func logSoftmax[T float32 | float64](out []float64, x []T) {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = max(mx, float64(v))
	}
	var sum float64
	for _, v := range x {
		sum += math.Exp(float64(v) - mx)
	}
	lse := mx + math.Log(sum)
	for k, v := range x {
		out[k] = float64(v) - lse
	}
}

// lseAccumulator forms log (1/S) Σ_s exp(x_s) for many cells at once, one sample at a time, with a
// running maximum (online log-sum-exp): one exp per value and no [S, ...] buffer.
type lseAccumulator struct {
	max, sum []float64
	n        int
}

func newLSEAccumulator(cells int) *lseAccumulator {
	a := &lseAccumulator{max: make([]float64, cells), sum: make([]float64, cells)}
	for i := range a.max {
		a.max[i] = math.Inf(-1)
	}
	return a
}

// add folds in one sample's log-values for cells [off, off+len(x)).
func (a *lseAccumulator) add(off int, x []float64) {
	m, sum := a.max[off:off+len(x)], a.sum[off:off+len(x)]
	for k, v := range x {
		if v > m[k] {
			sum[k] = sum[k]*math.Exp(m[k]-v) + 1
			m[k] = v
		} else {
			sum[k] += math.Exp(v - m[k])
		}
	}
}

// result writes log (1/n) Σ exp into out, with n the number of samples.
func (a *lseAccumulator) result(out []float64, samples int) {
	logS := math.Log(float64(samples))
	for i := range out {
		out[i] = a.max[i] + math.Log(a.sum[i]) - logS
	}
}

// finish turns an accumulator over s samples into a Classification [b, c].
func finish(acc *lseAccumulator, s, b, c int) *Classification {
	out := &Classification{B: b, C: c, Probs: make([]float64, b*c), LogProbs: make([]float64, b*c)}
	acc.result(out.LogProbs, s)
	normalise(out)
	return out
}

// normalise sets Probs = exp(LogProbs), renormalising each row so it sums to 1 despite rounding.
func normalise(p *Classification) {
	for i := 0; i < p.B; i++ {
		row := p.LogProbs[i*p.C : (i+1)*p.C]
		lse := logSumExp(row)
		for k := range row {
			row[k] -= lse
			p.Probs[i*p.C+k] = math.Exp(row[k])
		}
	}
}

// AverageSoftmax returns the BMA of a classifier: the mean over S samples of softmax(logits), with logits
// [s, b, c] (sample, point, class).
func AverageSoftmax(logits []float32, s, b, c int) (*Classification, error) {
	if err := checkLogits("AverageSoftmax logits [S, B, C]", logits, s, b, c); err != nil {
		return nil, err
	}
	if c < 2 {
		return nil, fmt.Errorf("predict: AverageSoftmax: C=%d classes; for one binary logit use AverageSigmoid", c)
	}
	acc := newLSEAccumulator(b * c)
	row := make([]float64, c)
	for r := 0; r < s*b; r++ {
		logSoftmax(row, logits[r*c:(r+1)*c])
		acc.add((r%b)*c, row)
	}
	return finish(acc, s, b, c), nil
}

// AverageSigmoid returns the BMA of a binary classifier with one logit per point: logits [s, b] give
// p(y=1) = sigmoid(logit) per sample. The result has C = 2 classes: column 0 is p(y=0), column 1 p(y=1).
func AverageSigmoid(logits []float32, s, b int) (*Classification, error) {
	if err := checkLogits("AverageSigmoid logits [S, B]", logits, s, b); err != nil {
		return nil, err
	}
	acc := newLSEAccumulator(2 * b)
	var row [2]float64
	for r, v := range logits {
		row[0], row[1] = logSigmoid(-float64(v)), logSigmoid(float64(v))
		acc.add((r%b)*2, row[:])
	}
	return finish(acc, s, b, 2), nil
}

// logSigmoid returns log σ(x) = −log(1 + e^{−x}) without overflow.
func logSigmoid(x float64) float64 {
	if x >= 0 {
		return -math.Log1p(math.Exp(-x))
	}
	return x - math.Log1p(math.Exp(x))
}

// checkGaussian validates the mean and variance of Gaussian logits, each of n values.
func checkGaussian(what string, mean, variance []float32, dims ...int) error {
	if err := checkLogits(what+" mean", mean, dims...); err != nil {
		return err
	}
	if err := checkLogits(what+" variance", variance, dims...); err != nil {
		return err
	}
	for i, v := range variance {
		if v < 0 {
			return fmt.Errorf("predict: %s: variance %d is %v, want >= 0", what, i, v)
		}
	}
	return nil
}

// probitKappa is 1/√(1 + πv/8), the probit approximation's shrinkage of a logit with variance v.
func probitKappa(v float64) float64 { return 1 / math.Sqrt(1+math.Pi*v/8) }

// ProbitSoftmax returns the multiclass probit approximation of a linearised (GLM) predictive: with logits
// f ~ N(mean, diag(variance)), mean and variance [b, c], the predictive is softmax(κ ⊙ mean) with
// κ_k = 1/√(1 + π·variance_k/8). This is laplace-torch's link_approx="probit" (which reads the diagonal of
// the logit covariance). For C = 2 it is not the same as ProbitSigmoid on the logit difference unless the
// two variances are equal.
func ProbitSoftmax(mean, variance []float32, b, c int) (*Classification, error) {
	if err := checkGaussian("ProbitSoftmax [B, C]", mean, variance, b, c); err != nil {
		return nil, err
	}
	out := &Classification{B: b, C: c, Probs: make([]float64, b*c), LogProbs: make([]float64, b*c)}
	scaled := make([]float64, c)
	for i := 0; i < b; i++ {
		for k := range scaled {
			scaled[k] = float64(mean[i*c+k]) * probitKappa(float64(variance[i*c+k]))
		}
		logSoftmax(out.LogProbs[i*c:(i+1)*c], scaled)
	}
	normalise(out)
	return out, nil
}

// ProbitSigmoid returns the probit approximation for one binary logit f ~ N(mean, variance), mean and
// variance [b]: p(y=1) ≈ σ(mean/√(1 + π·variance/8)) (MacKay 1992), from approximating σ by the Gaussian
// CDF Φ(√(π/8)·f), for which the Gaussian integral is exact. The result has C = 2 (column 1 is p(y=1)).
func ProbitSigmoid(mean, variance []float32, b int) (*Classification, error) {
	if err := checkGaussian("ProbitSigmoid [B]", mean, variance, b); err != nil {
		return nil, err
	}
	out := &Classification{B: b, C: 2, Probs: make([]float64, 2*b), LogProbs: make([]float64, 2*b)}
	for i := 0; i < b; i++ {
		z := float64(mean[i]) * probitKappa(float64(variance[i]))
		out.LogProbs[2*i], out.LogProbs[2*i+1] = logSigmoid(-z), logSigmoid(z)
	}
	normalise(out)
	return out, nil
}

// MCSoftmax integrates softmax over Gaussian logits f ~ N(mean, diag(variance)), mean and variance
// [b, c], by Monte Carlo with the given number of draws per point and a seeded PCG stream: the reference
// the probit approximation is judged against (laplace-torch's link_approx="mc" with a diagonal
// covariance). Same seed, same result.
func MCSoftmax(mean, variance []float32, b, c, draws int, seed uint64) (*Classification, error) {
	if err := checkGaussian("MCSoftmax [B, C]", mean, variance, b, c); err != nil {
		return nil, err
	}
	if draws < 1 {
		return nil, fmt.Errorf("predict: MCSoftmax: draws=%d, want >= 1", draws)
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	out := &Classification{B: b, C: c, Probs: make([]float64, b*c), LogProbs: make([]float64, b*c)}
	f := make([]float64, c)
	lp := make([]float64, c)
	acc := make([][]float64, c) // per class, the log-probabilities of every draw
	for k := range acc {
		acc[k] = make([]float64, draws)
	}
	for i := 0; i < b; i++ {
		for d := 0; d < draws; d++ {
			for k := range f {
				f[k] = float64(mean[i*c+k]) + math.Sqrt(float64(variance[i*c+k]))*rng.NormFloat64()
			}
			logSoftmax(lp, f)
			for k := range lp {
				acc[k][d] = lp[k]
			}
		}
		for k := range acc {
			out.LogProbs[i*c+k] = logSumExp(acc[k]) - math.Log(float64(draws))
		}
	}
	normalise(out)
	return out, nil
}
