// Package posterior defines the contract every posterior method in fiberlib uses: a potential energy
// U(θ) = −log p(D|θ) − log p(θ) (up to a constant) for a batch of parameter vectors θ [N, P], built inside
// one GoMLX graph, with its gradient.
//
// Samplers (fiber walk, HMC, SWAG, ...) see only a Target; networks with likelihoods and priors, and the
// analytic targets used in tests, implement it.
package posterior

import (
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Target is a (possibly unnormalised) log posterior over P parameters, evaluated for N parameter vectors at
// once.
type Target interface {
	// NumParams is P, the length of one parameter vector.
	NumParams() int

	// Data returns the host-side data tensors the potential needs (all with the examples on the first
	// axis, all of the same length NumData), or nil for a target without data.
	Data() []*tensors.Tensor

	// NumData is the number of examples along the first axis of every Data tensor (0 without data).
	NumData() int

	// Potential builds U(θ) for theta [N, P] and returns its values [N].
	//
	// data holds graph nodes for Data() in the same order, either the full data set or a minibatch of B
	// examples: the likelihood term is then multiplied by NumData()/B, so that the result (and its
	// gradient) is an unbiased estimate of the full-data potential. Particles are independent: row i of
	// the result depends on row i of theta only.
	Potential(theta *Node, data []*Node) *Node
}

// PotentialAndGrad returns U(θ) [N] and ∇U(θ) [N, P] for theta [N, P]. Because particles are independent,
// the gradient of ΣᵢU(θᵢ) with respect to theta holds each particle's own gradient in its row.
func PotentialAndGrad(t Target, theta *Node, data []*Node) (u, grad *Node) {
	u = t.Potential(theta, data)
	grad = Gradient(ReduceAllSum(u), theta)[0]
	return u, grad
}
