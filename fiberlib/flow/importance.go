package flow

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	. "github.com/gomlx/gomlx/core/graph"
)

// Importance holds self-normalised importance weights of proposal draws against an unnormalised target.
type Importance struct {
	// LogWeights are the raw log weights log w = log p̃(θ) − log q(θ) (here −U(θ) − log q(θ)).
	LogWeights []float64
	// Weights are the self-normalised weights (summing to 1), Pareto-smoothed when Smoothed is true.
	Weights []float64
	// Smoothed tells whether PSIS smoothing was applied to Weights.
	Smoothed bool
	// ParetoK is the Pareto-k̂ diagnostic of the raw weights' upper tail (see PSIS).
	ParetoK float64
	// KThreshold is min(1 − 1/log₁₀ S, 0.7): the weights are reliable for ParetoK below it.
	KThreshold float64
	// ESS is the effective sample size 1/Σ wᵢ² of Weights.
	ESS float64
}

// Reliable reports whether Pareto-k̂ is below its threshold.
func (im *Importance) Reliable() bool { return im.ParetoK < im.KThreshold }

// ImportanceWeights self-normalises log weights logW [S] (log target minus log proposal, each up to a
// constant), computes Pareto-k̂ (PSIS) and the effective sample size; with smooth, Weights are the PSIS
// weights, otherwise the raw ones.
func ImportanceWeights(logW []float64, smooth bool) (*Importance, error) {
	ps, err := PSIS(logW)
	if err != nil {
		return nil, fmt.Errorf("flow.ImportanceWeights: %w", err)
	}
	src := logW
	if smooth {
		src = ps.LogWeights
	}
	w := normaliseLog(src)
	sq := 0.0
	for _, v := range w {
		sq += v * v
	}
	return &Importance{LogWeights: slices.Clone(logW), Weights: w, Smoothed: smooth, ParetoK: ps.K,
		KThreshold: ps.KThreshold, ESS: 1 / sq}, nil
}

// normaliseLog returns exp(l − logsumexp(l)).
func normaliseLog(l []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range l {
		m = max(m, v)
	}
	w := make([]float64, len(l))
	s := 0.0
	for i, v := range l {
		w[i] = math.Exp(v - m)
		s += w[i]
	}
	for i := range w {
		w[i] /= s
	}
	return w
}

// Resample draws n indices i.i.d. with probabilities weights (non-negative, not all zero; they need not
// sum to 1), seeded. Use it to turn weighted draws into an equally weighted sample.
func Resample(weights []float64, n int, seed uint64) ([]int, error) {
	if n < 1 {
		return nil, fmt.Errorf("flow.Resample: n=%d, want ≥ 1", n)
	}
	cum := make([]float64, len(weights))
	s := 0.0
	for i, w := range weights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("flow.Resample: weight %d is %g, want a finite non-negative value", i, w)
		}
		s += w
		cum[i] = s
	}
	if len(weights) == 0 || s == 0 {
		return nil, fmt.Errorf("flow.Resample: no positive weight among %d", len(weights))
	}
	rng := rand.New(rand.NewPCG(seed, 0x94d049bb133111eb))
	idx := make([]int, n)
	for k := range idx {
		u := rng.Float64() * s
		i, _ := slices.BinarySearch(cum, u)
		for i < len(cum)-1 && weights[i] == 0 { // never land on a zero weight at a tie
			i++
		}
		idx[k] = min(i, len(cum)-1)
	}
	return idx, nil
}

// Weighted are flow draws with importance weights against a posterior target.
type Weighted struct {
	*Draws
	// Potential [N] holds U(θ) = −log p(D|θ) − log p(θ) (up to the target's constant) at each draw.
	Potential []float32
	*Importance
}

// SampleImportance draws n parameters from the flow and weighs them against the target's unnormalised
// posterior, log w = −U(θ) − log q(θ), in one compiled call (full-data potential). Because q lives on the
// affine subspace θ* + span(U), the weights correct towards the posterior restricted to that subspace
// (the whole posterior when r = P). With smooth, the normalised weights are Pareto-smoothed.
func (f *Flow) SampleImportance(target posterior.Target, n int, seed uint64, smooth bool) (*Weighted, error) {
	if target == nil {
		return nil, fmt.Errorf("flow.SampleImportance: nil target")
	}
	if target.NumParams() != f.Subspace.P {
		return nil, fmt.Errorf("flow.SampleImportance: target has %d parameters, the flow %d", target.NumParams(), f.Subspace.P)
	}
	if n < 10 {
		return nil, fmt.Errorf("flow.SampleImportance: n=%d, need at least 10 draws for the Pareto diagnostic", n)
	}
	data := target.Data()
	e, _, err := f.exec(fmt.Sprintf("importance/%d/%p", n, target), func(g *Graph, in []*Node) []*Node {
		theta, coords, logQ, _ := f.sampleGraph(in[:7], n)
		u := target.Potential(theta, in[7:])
		return []*Node{theta, coords, logQ, u}
	})
	if err != nil {
		return nil, err
	}
	args, err := f.sampleArgs(seed)
	if err != nil {
		return nil, err
	}
	for _, d := range data {
		args = append(args, d)
	}
	out, err := e.Call(args...)
	if err != nil {
		return nil, fmt.Errorf("flow.SampleImportance: %w", err)
	}
	d := &Draws{N: n, Theta: flat32(out[0]), Coords: flat32(out[1]), LogQ: flat32(out[2])}
	u := flat32(out[3])
	logW := make([]float64, n)
	for i := range logW {
		logW[i] = -float64(u[i]) - float64(d.LogQ[i])
		if math.IsNaN(logW[i]) || math.IsInf(logW[i], 1) {
			return nil, fmt.Errorf("flow.SampleImportance: draw %d has U=%g, log q=%g: not finite", i, u[i], d.LogQ[i])
		}
	}
	im, err := ImportanceWeights(logW, smooth)
	if err != nil {
		return nil, err
	}
	return &Weighted{Draws: d, Potential: u, Importance: im}, nil
}
