package posterior

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Gaussian is the analytic target U(θ) = ½ (θ − Mean)ᵀ Precision (θ − Mean): a multivariate normal with a
// known mean and precision (inverse covariance). It has no data. Used as a reference in tests (quadratic
// basins, HMC moments).
type Gaussian struct {
	Mean      []float32   // [P]
	Precision [][]float32 // [P][P], symmetric positive definite
}

// NewGaussian checks the shapes and returns the target.
func NewGaussian(mean []float32, precision [][]float32) (*Gaussian, error) {
	p := len(mean)
	if p == 0 {
		return nil, fmt.Errorf("posterior.NewGaussian: empty mean")
	}
	if len(precision) != p {
		return nil, fmt.Errorf("posterior.NewGaussian: precision has %d rows, want %d (the length of mean)", len(precision), p)
	}
	for i, row := range precision {
		if len(row) != p {
			return nil, fmt.Errorf("posterior.NewGaussian: precision row %d has %d columns, want %d", i, len(row), p)
		}
	}
	return &Gaussian{Mean: mean, Precision: precision}, nil
}

// NumParams implements Target.
func (t *Gaussian) NumParams() int { return len(t.Mean) }

// Data implements Target: a Gaussian has no data.
func (t *Gaussian) Data() []*tensors.Tensor { return nil }

// NumData implements Target.
func (t *Gaussian) NumData() int { return 0 }

// Potential implements Target: ½ (θ − μ)ᵀ A (θ − μ) for each row of theta [N, P].
func (t *Gaussian) Potential(theta *Node, _ []*Node) *Node {
	g := theta.Graph()
	d := Sub(theta, ExpandAxes(Const(g, t.Mean), 0)) // [N, P]
	ad := Dot(d, Const(g, t.Precision)).Product()    // [N, P] (A symmetric)
	return MulScalar(ReduceSum(Mul(d, ad), -1), 0.5) // [N]
}
