package laplace

import (
	"fmt"
	"math"

	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"gonum.org/v1/gonum/mat"
)

// This file holds the host-side views of the curvature and the posterior covariance, and the graph-side
// square root S of Σ = S Sᵀ that sampling and the linearised predictive use:
//
//	Full: S = L⁻ᵀ with L Lᵀ = GGN + αI (Cholesky; lower triangular S has the same product S Sᵀ = Σ);
//	Diag: S = diag((h + α)^−½);
//	Kron: per layer S = (Q_A ⊗ Q_G) diag((λ^A_i λ^G_j + α)^−½), with A = Q_A diag(λ^A) Q_Aᵀ, G likewise;
//	      so S z = vec(Q_A (D ⊙ Z) Q_Gᵀ) and Sᵀ j = vec(D ⊙ (Q_Aᵀ J Q_G)) for row-major vec of [In+1, Out].

// GGN returns the likelihood's GGN in the chosen structure as a dense row-major [Ps, Ps] matrix (Diag: the
// diagonal matrix; Kron: the block-diagonal matrix of the A ⊗ G blocks). It returns an error when Ps
// exceeds Options.MaxFullParams.
func (la *Laplace) GGN() ([]float64, error) {
	ps := la.NumParams()
	if ps > la.opts.MaxFullParams {
		return nil, fmt.Errorf("laplace: a dense %d×%d GGN exceeds MaxFullParams=%d", ps, ps, la.opts.MaxFullParams)
	}
	out := make([]float64, ps*ps)
	switch la.opts.HessianStructure {
	case Full:
		for i := 0; i < ps; i++ {
			for j := 0; j < ps; j++ {
				out[i*ps+j] = la.ggnFull.At(i, j)
			}
		}
	case Diag:
		for i, v := range la.ggnDiag {
			out[i*ps+i] = v
		}
	case Kron:
		for _, k := range la.kron {
			in1, o := k.layer.In+1, k.layer.Out
			for i := 0; i < in1; i++ {
				for j := 0; j < o; j++ {
					r := k.offsetInSubset + i*o + j
					for i2 := 0; i2 < in1; i2++ {
						for j2 := 0; j2 < o; j2++ {
							c := k.offsetInSubset + i2*o + j2
							out[r*ps+c] = k.a.At(i, i2) * k.g.At(j, j2)
						}
					}
				}
			}
		}
	}
	return out, nil
}

// GGNDiagonal returns the diagonal of the likelihood's GGN in the chosen structure, [Ps].
func (la *Laplace) GGNDiagonal() []float64 {
	ps := la.NumParams()
	out := make([]float64, ps)
	switch la.opts.HessianStructure {
	case Full:
		for i := range out {
			out[i] = la.ggnFull.At(i, i)
		}
	case Diag:
		copy(out, la.ggnDiag)
	case Kron:
		for _, k := range la.kron {
			in1, o := k.layer.In+1, k.layer.Out
			for i := 0; i < in1; i++ {
				for j := 0; j < o; j++ {
					out[k.offsetInSubset+i*o+j] = k.a.At(i, i) * k.g.At(j, j)
				}
			}
		}
	}
	return out
}

// PosteriorVariance returns the diagonal of Σ = (GGN + αI)⁻¹, [Ps].
func (la *Laplace) PosteriorVariance() []float64 {
	alpha := la.PriorPrecision()
	ps := la.NumParams()
	out := make([]float64, ps)
	switch la.opts.HessianStructure {
	case Full:
		s := la.fullSqrt()
		for i := 0; i < ps; i++ {
			for k := 0; k < ps; k++ {
				q := s.At(i, k)
				out[i] += q * q
			}
		}
	case Diag:
		for i, h := range la.ggnDiag {
			out[i] = 1 / (math.Max(h, 0) + alpha)
		}
	case Kron:
		for _, k := range la.kron {
			in1, o := k.layer.In+1, k.layer.Out
			for i := 0; i < in1; i++ {
				for j := 0; j < o; j++ {
					var v float64
					for a, la_ := range k.aVals {
						qa := k.aVecs.At(i, a)
						for g, lg := range k.gVals {
							qg := k.gVecs.At(j, g)
							v += qa * qa * qg * qg / (la_*lg + alpha)
						}
					}
					out[k.offsetInSubset+i*o+j] = v
				}
			}
		}
	}
	return out
}

// Covariance returns Σ = (GGN + αI)⁻¹ as a dense row-major [Ps, Ps] matrix (block diagonal for Kron,
// diagonal for Diag). It returns an error when Ps exceeds Options.MaxFullParams.
func (la *Laplace) Covariance() ([]float64, error) {
	ps := la.NumParams()
	if ps > la.opts.MaxFullParams {
		return nil, fmt.Errorf("laplace: a dense %d×%d covariance exceeds MaxFullParams=%d", ps, ps, la.opts.MaxFullParams)
	}
	s := la.sqrtDense()
	out := make([]float64, ps*ps)
	var prod mat.Dense
	prod.Mul(s, s.T())
	for i := 0; i < ps; i++ {
		for j := 0; j < ps; j++ {
			out[i*ps+j] = prod.At(i, j)
		}
	}
	return out, nil
}

// sqrtDense returns S (Σ = S Sᵀ) as a dense host matrix [Ps, Ps].
func (la *Laplace) sqrtDense() *mat.Dense {
	alpha := la.PriorPrecision()
	ps := la.NumParams()
	if la.opts.HessianStructure == Full {
		return mat.DenseCopyOf(la.fullSqrt())
	}
	s := mat.NewDense(ps, ps, nil)
	switch la.opts.HessianStructure {
	case Diag:
		for i, h := range la.ggnDiag {
			s.Set(i, i, 1/math.Sqrt(math.Max(h, 0)+alpha))
		}
	case Kron:
		for _, k := range la.kron {
			in1, o := k.layer.In+1, k.layer.Out
			for i := 0; i < in1; i++ {
				for j := 0; j < o; j++ {
					for a, la_ := range k.aVals {
						for g, lg := range k.gVals {
							s.Set(k.offsetInSubset+i*o+j, k.offsetInSubset+a*o+g,
								k.aVecs.At(i, a)*k.gVecs.At(j, g)/math.Sqrt(la_*lg+alpha))
						}
					}
				}
			}
		}
	}
	return s
}

// sqrtParams returns the tensors that describe S for the graph (see applySqrt), at the current α.
func (la *Laplace) sqrtParams() []*tensors.Tensor {
	alpha := la.PriorPrecision()
	ps := la.NumParams()
	switch la.opts.HessianStructure {
	case Full:
		return []*tensors.Tensor{denseTensor(la.fullSqrt())}
	case Diag:
		d := make([]float32, ps)
		for i, h := range la.ggnDiag {
			d[i] = float32(1 / math.Sqrt(math.Max(h, 0)+alpha))
		}
		return []*tensors.Tensor{tensors.FromFlatDataAndDimensions(d, ps)}
	}
	var out []*tensors.Tensor
	for _, k := range la.kron {
		in1, o := k.layer.In+1, k.layer.Out
		d := make([]float32, in1*o)
		for a, la_ := range k.aVals {
			for g, lg := range k.gVals {
				d[a*o+g] = float32(1 / math.Sqrt(la_*lg+alpha))
			}
		}
		out = append(out, denseTensor(k.aVecs), denseTensor(k.gVecs), tensors.FromFlatDataAndDimensions(d, in1, o))
	}
	return out
}

// denseTensor converts a gonum matrix to a float32 tensor.
func denseTensor(m *mat.Dense) *tensors.Tensor {
	r, c := m.Dims()
	flat := make([]float32, r*c)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			flat[i*c+j] = float32(m.At(i, j))
		}
	}
	return tensors.FromFlatDataAndDimensions(flat, r, c)
}

// numSqrtParams is the number of graph inputs sqrtParams returns.
func (la *Laplace) numSqrtParams() int {
	if la.opts.HessianStructure == Kron {
		return 3 * len(la.kron)
	}
	return 1
}

// applySqrt returns S z (transpose false) or Sᵀ z (transpose true) for every row of z [M, Ps], with S
// described by params (see sqrtParams).
func (la *Laplace) applySqrt(z *Node, params []*Node, transpose bool) *Node {
	switch la.opts.HessianStructure {
	case Full:
		if transpose {
			return Einsum("mp,pq->mq", z, params[0])
		}
		return Einsum("mq,pq->mp", z, params[0])
	case Diag:
		return Mul(z, ExpandAxes(params[0], 0))
	}
	m := z.Shape().Dimensions[0]
	parts := make([]*Node, len(la.kron))
	for i, k := range la.kron {
		qa, qg, d := params[3*i], params[3*i+1], params[3*i+2]
		in1, o := k.layer.In+1, k.layer.Out
		zl := Reshape(nets.SliceRange(z, 1, k.offsetInSubset, k.offsetInSubset+k.layer.size()), m, in1, o)
		var r *Node
		if transpose { // D ⊙ (Q_Aᵀ Z Q_G)
			r = Einsum("mak,kg->mag", Einsum("ia,mik->mak", qa, zl), qg)
			r = Mul(r, ExpandAxes(d, 0))
		} else { // Q_A (D ⊙ Z) Q_Gᵀ
			t := Mul(zl, ExpandAxes(d, 0))
			r = Einsum("mig,jg->mij", Einsum("ia,mag->mig", qa, t), qg)
		}
		parts[i] = Reshape(r, m, in1*o)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return Concatenate(parts, 1)
}
