package hmc

import (
	"math"

	"github.com/gomlx/gomlx/core/tensors"
)

// State is the state of all chains between executed calls: positions [chains, params] with their potential
// and gradient, the random number generator state, the step size and inverse mass matrix of every chain, and
// the warm-up accumulators. It is immutable: Step and Run return a new State.
type State struct {
	chains, params int
	t              []*tensors.Tensor // in chainState order
}

// Chains returns C, the number of chains.
func (s *State) Chains() int { return s.chains }

// NumParams returns P, the number of parameters.
func (s *State) NumParams() int { return s.params }

// Positions returns a copy of the current positions, [chains][params].
func (s *State) Positions() [][]float32 {
	return rows(tensors.MustCopyFlatData[float32](s.t[0]), s.params)
}

// Potentials returns the potential U(θ) of every chain's current position, [chains].
func (s *State) Potentials() []float32 { return tensors.MustCopyFlatData[float32](s.t[1]) }

// StepSizes returns the step size every chain uses now, [chains].
func (s *State) StepSizes() []float32 {
	l := tensors.MustCopyFlatData[float32](s.t[4])
	for i, x := range l {
		l[i] = float32(math.Exp(float64(x)))
	}
	return l
}

// InverseMass returns every chain's diagonal inverse mass matrix, [chains][params].
func (s *State) InverseMass() [][]float32 {
	return rows(tensors.MustCopyFlatData[float32](s.t[5]), s.params)
}

// Info describes one transition of every chain (blackjax's HMCInfo).
type Info struct {
	// AcceptProb is min(1, exp(−ΔH)) of every chain's proposal (0 for a divergent one), [chains].
	AcceptProb []float32
	// Divergent flags the chains whose energy error exceeded Options.DivergenceThreshold or whose proposal
	// was NaN or infinite; such proposals are rejected. [chains]
	Divergent []bool
	// NonFinite flags the divergent chains whose proposal (potential, position or gradient) was NaN or
	// infinite, [chains].
	NonFinite []bool
	// StepSize is the step size every chain used, [chains].
	StepSize []float32
	// Potential is U(θ) at every chain's position after the transition, [chains].
	Potential []float32
	// Energy is the Hamiltonian of every chain's point after the transition (with the momentum of the
	// trajectory's end if accepted, of its start if rejected), [chains].
	Energy []float32
	// NumSteps is the number of leapfrog steps (gradient evaluations per chain) of the transition.
	NumSteps int
}

// Trace holds what Run recorded: every transition's Info and the kept (thinned) positions.
type Trace struct {
	// Chains and NumParams are C and P.
	Chains, NumParams int
	// Draws are the positions after every Thin-th transition, row-major [draws, chains, params].
	Draws []float32
	// Info has one entry per transition, in order.
	Info []Info
}

// NumDraws returns the number of kept draws per chain.
func (t *Trace) NumDraws() int {
	if t.Chains == 0 || t.NumParams == 0 {
		return 0
	}
	return len(t.Draws) / (t.Chains * t.NumParams)
}

// GradEvals returns the number of gradient evaluations of all chains together.
func (t *Trace) GradEvals() int64 {
	var n int64
	for _, in := range t.Info {
		n += int64(in.NumSteps) * int64(t.Chains)
	}
	return n
}

func rows(flat []float32, p int) [][]float32 {
	if p == 0 {
		return nil
	}
	out := make([][]float32, len(flat)/p)
	for i := range out {
		out[i] = flat[i*p : (i+1)*p : (i+1)*p]
	}
	return out
}
