package posterior

import (
	"fmt"
	"math"
	"sync"

	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// NetworkOptions are the modelling choices of a Network.
type NetworkOptions struct {
	// Likelihood is the observation model; empty means GaussianLikelihood for a regression data set and
	// Categorical for a classification data set.
	Likelihood Likelihood
	// Sigma is the noise standard deviation of GaussianLikelihood (default 1). Fit it at the MAP with
	// FitNoise and set it with WithSigma.
	Sigma float64
	// PriorPrecision is α of the prior θ ~ N(0, α⁻¹ I) (default 1).
	PriorPrecision float64
	// FlatPrior selects α = 0, an improper flat prior: the prior term and its constant are dropped
	// (PriorPrecision must then be 0).
	FlatPrior bool
}

// Network is the posterior of a neural network's parameters: a nets.Spec, a likelihood and an isotropic
// Gaussian prior, on a data set. It implements Target with
//
//	U(θ) = −Σᵢ log p(yᵢ | xᵢ, θ) + α/2 ‖θ‖² − (P/2) log(α/2π),
//
// with every normalising constant included, so that exp(−U) integrates to the evidence p(D) and U is an
// exact negative log joint density (the Laplace evidence and the linear-Gaussian checks rely on this).
// On a minibatch of B rows the likelihood sum is multiplied by n/B.
//
// Data() holds X [n, D] (float32) and either Y [n, T] (float32, regression) or labels [n] (int32,
// classification). Potential also accepts per-particle data, X [N, B, D] with Y [N, B, T] or labels
// [N, B], so that every particle can see its own minibatch (deep ensembles).
type Network struct {
	Spec           nets.Spec
	Likelihood     Likelihood
	Sigma          float64
	PriorPrecision float64

	layout *nets.Layout
	ds     *data.Dataset
	tensor []*tensors.Tensor

	mu       sync.Mutex
	forward  *nets.Evaluator
	evalHost *Evaluator
}

// NewNetwork checks that spec, data set and options fit together and returns the posterior. Errors name
// the mismatch (input width, number of outputs, task, labels) and the fix.
func NewNetwork(spec nets.Spec, ds *data.Dataset, opts NetworkOptions) (*Network, error) {
	layout, err := spec.Layout()
	if err != nil {
		return nil, fmt.Errorf("posterior.NewNetwork: %w", err)
	}
	if ds == nil {
		return nil, fmt.Errorf("posterior.NewNetwork: nil data set")
	}
	if err := ds.Validate(); err != nil {
		return nil, fmt.Errorf("posterior.NewNetwork: %w", err)
	}
	lik := opts.Likelihood
	if lik == "" {
		lik = GaussianLikelihood
		if ds.Task == data.Classification {
			lik = Categorical
		}
	}
	known := false
	for _, l := range Likelihoods {
		known = known || l == lik
	}
	if !known {
		return nil, fmt.Errorf("posterior.NewNetwork: unknown likelihood %q, want one of %v", lik, Likelihoods)
	}
	if spec.InputDim() != ds.D {
		return nil, fmt.Errorf("posterior.NewNetwork: spec takes D=%d inputs (input_shape %v) but data set %q has D=%d features",
			spec.InputDim(), spec.InputShape, ds.Name, ds.D)
	}
	switch {
	case lik.IsRegression() && ds.Task != data.Regression:
		return nil, fmt.Errorf("posterior.NewNetwork: %s likelihood needs a regression data set, %q is %s", lik, ds.Name, ds.Task)
	case !lik.IsRegression() && ds.Task != data.Classification:
		return nil, fmt.Errorf("posterior.NewNetwork: %s likelihood needs a classification data set, %q is %s", lik, ds.Name, ds.Task)
	case lik == Bernoulli && ds.Classes != 2:
		return nil, fmt.Errorf("posterior.NewNetwork: bernoulli likelihood needs 2 classes, %q has %d: use categorical", ds.Name, ds.Classes)
	}
	if want := lik.outputs(ds.T, ds.Classes); spec.Outputs != want {
		return nil, fmt.Errorf("posterior.NewNetwork: %s likelihood on %q needs %d network outputs, spec has %d",
			lik, ds.Name, want, spec.Outputs)
	}
	sigma := opts.Sigma
	if sigma == 0 {
		sigma = 1
	}
	if !(sigma > 0) || math.IsInf(sigma, 0) {
		return nil, fmt.Errorf("posterior.NewNetwork: Sigma=%v, want a finite value > 0", opts.Sigma)
	}
	alpha := opts.PriorPrecision
	switch {
	case opts.FlatPrior && alpha != 0:
		return nil, fmt.Errorf("posterior.NewNetwork: FlatPrior with PriorPrecision=%v: set one of them", alpha)
	case opts.FlatPrior:
	case alpha == 0:
		alpha = 1
	case !(alpha > 0) || math.IsInf(alpha, 0):
		return nil, fmt.Errorf("posterior.NewNetwork: PriorPrecision=%v, want a finite value > 0 (or FlatPrior)", opts.PriorPrecision)
	}
	n := &Network{Spec: spec, Likelihood: lik, Sigma: sigma, PriorPrecision: alpha, layout: layout, ds: ds}
	n.tensor = datasetTensors(ds)
	return n, nil
}

// datasetTensors builds the data tensors of a data set.
func datasetTensors(ds *data.Dataset) []*tensors.Tensor {
	x := tensors.FromFlatDataAndDimensions(append([]float32(nil), ds.X...), ds.N, ds.D)
	if ds.Task == data.Regression {
		return []*tensors.Tensor{x, tensors.FromFlatDataAndDimensions(append([]float32(nil), ds.Y...), ds.N, ds.T)}
	}
	return []*tensors.Tensor{x, tensors.FromFlatDataAndDimensions(append([]int32(nil), ds.Labels...), ds.N)}
}

// MustNewNetwork is NewNetwork that panics on error; for notebooks.
func MustNewNetwork(spec nets.Spec, ds *data.Dataset, opts NetworkOptions) *Network {
	n, err := NewNetwork(spec, ds, opts)
	if err != nil {
		panic(err)
	}
	return n
}

// options returns the network's options (for building variants).
func (n *Network) options() NetworkOptions {
	return NetworkOptions{Likelihood: n.Likelihood, Sigma: n.Sigma, PriorPrecision: n.PriorPrecision,
		FlatPrior: n.PriorPrecision == 0}
}

// WithSigma returns a copy of the network with noise scale sigma (GaussianLikelihood), sharing the data.
func (n *Network) WithSigma(sigma float64) (*Network, error) {
	o := n.options()
	o.Sigma = sigma
	if !(sigma > 0) {
		return nil, fmt.Errorf("posterior.WithSigma: sigma=%v, want > 0", sigma)
	}
	return NewNetwork(n.Spec, n.ds, o)
}

// WithPriorPrecision returns a copy of the network with prior precision alpha (0: flat prior).
func (n *Network) WithPriorPrecision(alpha float64) (*Network, error) {
	o := n.options()
	o.PriorPrecision, o.FlatPrior = alpha, alpha == 0
	return NewNetwork(n.Spec, n.ds, o)
}

// WithData returns the same model (spec, likelihood, σ, α) on another data set (a validation or test
// split).
func (n *Network) WithData(ds *data.Dataset) (*Network, error) {
	return NewNetwork(n.Spec, ds, n.options())
}

// Subset returns the same model on the given rows of its data set (for train/validation splits).
func (n *Network) Subset(rows []int) (*Network, error) {
	sub, err := SubsetRows(n.ds, rows)
	if err != nil {
		return nil, fmt.Errorf("posterior.Subset: %w", err)
	}
	return n.WithData(sub)
}

// SubsetRows returns a new data set with the given rows of ds (copies), in the given order.
func SubsetRows(ds *data.Dataset, rows []int) (*data.Dataset, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("empty row selection of %q", ds.Name)
	}
	sub := &data.Dataset{Name: ds.Name, Task: ds.Task, N: len(rows), D: ds.D, InputShape: ds.InputShape,
		T: ds.T, Classes: ds.Classes}
	sub.X = make([]float32, 0, len(rows)*ds.D)
	for _, r := range rows {
		if r < 0 || r >= ds.N {
			return nil, fmt.Errorf("row %d out of range [0, %d) of %q", r, ds.N, ds.Name)
		}
		sub.X = append(sub.X, ds.Row(r)...)
		if ds.Task == data.Regression {
			sub.Y = append(sub.Y, ds.Y[r*ds.T:(r+1)*ds.T]...)
		} else {
			sub.Labels = append(sub.Labels, ds.Labels[r])
		}
	}
	return sub, nil
}

// Dataset returns the network's data set.
func (n *Network) Dataset() *data.Dataset { return n.ds }

// Layout returns the layout of the network's parameters.
func (n *Network) Layout() *nets.Layout { return n.layout }

// NumParams implements Target.
func (n *Network) NumParams() int { return n.layout.P }

// Data implements Target: X [n, D] and Y [n, T] (regression) or labels [n] int32 (classification).
// The tensors are created once and move to the device of the first backend that uses them: use one
// Network per backend (GoMLX refuses a tensor on two backend instances).
func (n *Network) Data() []*tensors.Tensor { return n.tensor }

// NumData implements Target.
func (n *Network) NumData() int { return n.ds.N }

// Outputs returns the raw network outputs [N, B, O] for theta [N, P] and x [B, D] or [N, B, D].
func (n *Network) Outputs(theta, x *Node) *Node { return n.Spec.Forward(theta, x) }

// ExampleNLL returns −log p(y_b | x_b, θ_n) [N, B] for theta [N, P] and data (X, Y or labels), shared
// ([B, ...]) or per particle ([N, B, ...]).
func (n *Network) ExampleNLL(theta *Node, data []*Node) *Node {
	if len(data) != 2 {
		panic(fmt.Sprintf("posterior.Network: want 2 data nodes (X and targets), got %d", len(data)))
	}
	return n.Likelihood.ExampleNLL(n.Spec.Forward(theta, data[0]), data[1], n.Sigma)
}

// LogPrior returns log p(θ) [N] = −α/2 ‖θ‖² + (P/2) log(α/2π) (0 for a flat prior).
func (n *Network) LogPrior(theta *Node) *Node {
	if n.PriorPrecision == 0 {
		return ReduceSum(ZerosLike(theta), -1)
	}
	a := n.PriorPrecision
	return AddScalar(MulScalar(ReduceSum(Square(theta), -1), -a/2), float64(n.layout.P)/2*math.Log(a/(2*math.Pi)))
}

// Potential implements Target: U(θ) [N] for theta [N, P]; data is the full data set, a minibatch of B
// rows (likelihood scaled by n/B), or per-particle minibatches [N, B, ...].
func (n *Network) Potential(theta *Node, data []*Node) *Node {
	nll := n.ExampleNLL(theta, data) // [N, B]
	b := nll.Shape().Dimensions[1]
	lik := ReduceSum(nll, -1)
	if b != n.ds.N {
		lik = MulScalar(lik, float64(n.ds.N)/float64(b))
	}
	return Sub(lik, n.LogPrior(theta))
}
