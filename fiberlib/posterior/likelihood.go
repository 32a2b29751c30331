package posterior

import (
	"fmt"
	"math"

	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
)

// Likelihood names the observation model p(y | f(x; θ)) of a Network.
type Likelihood string

const (
	// GaussianLikelihood: y ~ N(f(x), σ²) per target, with a fixed noise scale σ (Network.Sigma; fit it by
	// maximum likelihood at the MAP with FitNoise). The network has T outputs for T targets.
	GaussianLikelihood Likelihood = "gaussian"
	// Heteroscedastic: y ~ N(μ(x), σ(x)²), the network outputs [μ_1..μ_T, log σ_1..log σ_T] (2T outputs).
	Heteroscedastic Likelihood = "heteroscedastic"
	// Bernoulli: binary labels y ∈ {0, 1}, p(y=1) = sigmoid(f(x)); the network has 1 output (the logit).
	Bernoulli Likelihood = "bernoulli"
	// Categorical: labels y ∈ {0..C−1}, p(y) = softmax(f(x))_y; the network has C outputs (the logits).
	Categorical Likelihood = "categorical"
)

// Likelihoods lists the supported likelihoods.
var Likelihoods = []Likelihood{GaussianLikelihood, Heteroscedastic, Bernoulli, Categorical}

// IsRegression reports whether the likelihood models real-valued targets.
func (l Likelihood) IsRegression() bool { return l == GaussianLikelihood || l == Heteroscedastic }

// outputs returns the number of network outputs the likelihood needs for T targets or C classes.
func (l Likelihood) outputs(targets, classes int) int {
	switch l {
	case GaussianLikelihood:
		return targets
	case Heteroscedastic:
		return 2 * targets
	case Bernoulli:
		return 1
	case Categorical:
		return classes
	}
	return 0
}

// halfLog2Pi is ½ log 2π.
var halfLog2Pi = 0.5 * math.Log(2*math.Pi)

// ExampleNLL returns the negative log-likelihood −log p(y_b | f_{n,b}) of every example under every
// parameter vector, [N, B], from the network outputs out [N, B, O] and the targets y: regression targets
// [B, T] or [N, B, T] (float), or class labels [B] or [N, B] (int32). sigma is the Gaussian noise scale
// (used by GaussianLikelihood only). All normalising constants are included.
func (l Likelihood) ExampleNLL(out, y *Node, sigma float64) *Node {
	n := out.Shape().Dimensions[0]
	o := out.Shape().Dimensions[2]
	if l.IsRegression() {
		if y.Rank() == 2 {
			y = ExpandAxes(y, 0) // [1, B, T]
		}
		if y.Rank() != 3 || (y.Shape().Dimensions[0] != n && y.Shape().Dimensions[0] != 1) {
			panic(fmt.Sprintf("posterior: %s likelihood needs targets [B, T] or [N=%d, B, T], got %s", l, n, y.Shape()))
		}
		y = ConvertDType(y, out.DType())
	} else {
		if y.Rank() == 1 {
			y = ExpandAxes(y, 0) // [1, B]
		}
		if y.Rank() != 2 || !y.DType().IsInt() {
			panic(fmt.Sprintf("posterior: %s likelihood needs int labels [B] or [N=%d, B], got %s", l, n, y.Shape()))
		}
	}
	switch l {
	case GaussianLikelihood:
		t := y.Shape().Dimensions[2]
		if o != t {
			panic(fmt.Sprintf("posterior: gaussian likelihood with %d outputs for %d targets", o, t))
		}
		r := Sub(out, y)
		sq := MulScalar(ReduceSum(Square(r), -1), 1/(2*sigma*sigma))
		return AddScalar(sq, float64(t)*(math.Log(sigma)+halfLog2Pi))
	case Heteroscedastic:
		t := y.Shape().Dimensions[2]
		if o != 2*t {
			panic(fmt.Sprintf("posterior: heteroscedastic likelihood with %d outputs for %d targets, want %d", o, t, 2*t))
		}
		mu := nets.SliceRange(out, 2, 0, t)
		logSigma := nets.SliceRange(out, 2, t, 2*t)
		r := Sub(mu, y)
		term := Add(MulScalar(Mul(Square(r), Exp(MulScalar(logSigma, -2))), 0.5), logSigma)
		return AddScalar(ReduceSum(term, -1), float64(t)*halfLog2Pi)
	case Bernoulli:
		if o != 1 {
			panic(fmt.Sprintf("posterior: bernoulli likelihood with %d outputs, want 1", o))
		}
		z := Squeeze(out, 2) // [N, B]
		yf := ConvertDType(y, z.DType())
		return Sub(Softplus(z), Mul(yf, z))
	case Categorical:
		logp := LogSoftmax(out, -1)
		oneHot := OneHot(y, o, out.DType()) // [1|N, B, C]
		return Neg(ReduceSum(Mul(logp, oneHot), -1))
	}
	panic(fmt.Sprintf("posterior: unknown likelihood %q", l))
}

// labelDType is the dtype of class labels in the data tensors.
const labelDType = dtypes.Int32
