package flow

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/internal/gloop"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// LevelOptions control SampleOnLevels. The zero value gives the defaults.
type LevelOptions struct {
	// Levels are the per-datum loss levels ℓ = U/n that the draws are moved to: each draw gets one, drawn
	// uniformly with replacement (seeded). Default: Flow.Levels, the per-datum losses of the samples the
	// flow was fitted on (FitSamples copies them from the sample set's Loss).
	Levels []float32
	// Iterations is the number of root-finding iterations along each ray (one forward pass of the
	// potential each, for all draws at once). Default 40.
	Iterations int
}

// DefaultLevelIterations is the default of LevelOptions.Iterations.
const DefaultLevelIterations = 40

// SampleOnLevels draws n samples from the flow and moves each along its ray from θ* onto a loss level set:
// θ = θ* + s·(θ_flow − θ*), with s > 0 such that ℓ(θ) = U(θ)/n equals a level drawn from opts.Levels.
//
// Why: the fiber walk's samples lie on a level set by construction (its budget control holds every
// particle near ℓ* + τ), a thin shell that a density fitted to a few hundred samples in r dimensions
// blurs across the sharp directions of the valley (on the gap toy, per-datum loss 1.86 ± 0.009 for the
// walk against ≈ 10³ for the flow's plain draws). The flow supplies the directions; the retraction restores
// the level, exactly as the walk's own gradient corrector does. The level set around a minimum is
// star-shaped for the losses met here, and the loss grows without bound along every ray because of the
// Gaussian prior, so the root is bracketed: s² is found by the Illinois (modified regula falsi) method on
// t = s², near-linear in a quadratic basin, after doubling the bracket while it is not yet reached.
//
// The retracted draws have no tractable density (LogQ is nil): use Sample for importance weights. Draws
// whose level is not above ℓ(θ*) stay at θ*. target must be the posterior the levels refer to (the one the
// walk used); its full data are used, in one compiled call.
func (f *Flow) SampleOnLevels(target posterior.Target, n int, seed uint64, opts LevelOptions) (*Draws, error) {
	if target == nil {
		return nil, fmt.Errorf("flow.SampleOnLevels: nil target: pass the posterior the levels were measured on")
	}
	if target.NumParams() != f.Subspace.P {
		return nil, fmt.Errorf("flow.SampleOnLevels: target has %d parameters, the flow %d", target.NumParams(), f.Subspace.P)
	}
	levels := opts.Levels
	if levels == nil {
		levels = f.Levels
	}
	if len(levels) == 0 {
		return nil, fmt.Errorf("flow.SampleOnLevels: no levels: set LevelOptions.Levels or fit with FitSamples on a set with Loss")
	}
	if i := firstNonFinite(levels); i >= 0 {
		return nil, fmt.Errorf("flow.SampleOnLevels: Levels[%d]=%g is not finite", i, levels[i])
	}
	iters := opts.Iterations
	if iters == 0 {
		iters = DefaultLevelIterations
	}
	if iters < 1 || iters > 10000 {
		return nil, fmt.Errorf("flow.SampleOnLevels: Iterations=%d, want 1..10000", iters)
	}
	d, err := f.Sample(n, seed)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	lv := make([]float32, n)
	for i := range lv {
		lv[i] = levels[rng.IntN(len(levels))]
	}
	p, r := f.Subspace.P, f.Rank()
	theta := d.Theta
	scale, loss, err := f.moveOntoLevels(target, theta, lv, iters)
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		for j := 0; j < p; j++ {
			theta[i*p+j] = f.Subspace.Center[j] + scale[i]*theta[i*p+j]
		}
		for k := 0; k < r; k++ {
			d.Coords[i*r+k] *= scale[i]
		}
	}
	return &Draws{N: n, Theta: theta, Coords: d.Coords, Level: lv, Loss: loss, RayScale: scale}, nil
}

// moveOntoLevels moves each row of theta [n, P] (overwritten with θ − θ*) along its ray from θ* onto its
// level lv[i] and returns the ray scales and the per-datum losses reached (see SampleOnLevels).
func (f *Flow) moveOntoLevels(target posterior.Target, theta, lv []float32, iters int) (scale, loss []float32, err error) {
	nd := float64(max(target.NumData(), 1))
	p, n := f.Subspace.P, len(lv)
	b, err := backend.New()
	if err != nil {
		return nil, nil, err
	}
	// lossAt returns the per-datum ℓ(θ* + √t·Δ) − level [n] for the consts center, Δ, level, data...
	lossAt := func(t *Node, c []*Node) *Node {
		th := Add(ExpandAxes(c[0], 0), Mul(c[1], ExpandAxes(Sqrt(t), 1)))
		return Sub(DivScalar(target.Potential(th, c[3:]), nd), c[2])
	}
	// GoMLX v0.28.2 ties a reduction's closure to the function that first built it, so the potential is
	// evaluated either only inside the While body (the loop executable) or only outside it (eval).
	tag := fmt.Sprintf("%d/%p", n, target)
	eval, _, err := f.exec("retract-eval/"+tag, func(g *Graph, in []*Node) []*Node {
		return []*Node{lossAt(in[0], in[1:])}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("flow.SampleOnLevels: %w", err)
	}
	loop, _, err := f.exec(fmt.Sprintf("retract-loop/%d/%s", iters, tag), func(g *Graph, in []*Node) []*Node {
		return gloop.Repeat(iters, gloop.UseWhile(b), in[5:], in[:5], func(_ *Node, c, s []*Node) []*Node {
			tLo, fLo, tHi, fHi, side := s[0], s[1], s[2], s[3], s[4]
			zero := ZerosLike(fHi)
			one := OnesLike(side)
			bracketed := GreaterOrEqual(fHi, zero)
			den := Sub(fHi, fLo)
			degenerate := Equal(den, zero)
			tm := Div(Sub(Mul(tLo, fHi), Mul(tHi, fLo)), Where(degenerate, OnesLike(den), den))
			tm = Where(degenerate, tHi, tm)
			tEval := Where(bracketed, tm, MulScalar(tHi, 4))
			fm := lossAt(tEval, c)
			up := GreaterOrEqual(fm, zero) // the root lies at or below tEval
			// Illinois: replace the end on fm's side; halve the other end's value when the same side was
			// replaced the time before.
			bLo := Where(up, tLo, tm)
			bFLo := Where(up, Where(Equal(side, one), MulScalar(fLo, 0.5), fLo), fm)
			bHi := Where(up, tm, tHi)
			bFHi := Where(up, fm, Where(Equal(side, Neg(one)), MulScalar(fHi, 0.5), fHi))
			bSide := Where(up, one, Neg(one))
			// Not yet bracketed: the old upper end becomes the lower one, the upper end grows 4× in t.
			return []*Node{
				Where(bracketed, bLo, tHi), Where(bracketed, bFLo, fHi),
				Where(bracketed, bHi, tEval), Where(bracketed, bFHi, fm),
				Where(bracketed, bSide, ZerosLike(side)),
			}
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("flow.SampleOnLevels: %w", err)
	}
	for i := 0; i < n; i++ { // Δ = θ − θ*
		for j := 0; j < p; j++ {
			theta[i*p+j] -= f.Subspace.Center[j]
		}
	}
	consts := []any{vec(f.Subspace.Center), tensors.FromFlatDataAndDimensions(theta, n, p), vec(lv)}
	for _, t := range target.Data() {
		consts = append(consts, t)
	}
	at := func(t []float32) ([]float32, error) {
		out, err := eval.Call(append([]any{vec(t)}, consts...)...)
		if err != nil {
			return nil, fmt.Errorf("flow.SampleOnLevels: %w", err)
		}
		return flat32(out[0]), nil
	}
	zeros, ones := make([]float32, n), make([]float32, n)
	for i := range ones {
		ones[i] = 1
	}
	fLo0, err := at(zeros)
	if err != nil {
		return nil, nil, err
	}
	fHi0, err := at(ones)
	if err != nil {
		return nil, nil, err
	}
	out, err := loop.Call(append([]any{vec(zeros), vec(fLo0), vec(ones), vec(fHi0), vec(zeros)}, consts...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("flow.SampleOnLevels: %w", err)
	}
	tLo, tHi := flat32(out[0]), flat32(out[2])
	gLo, err := at(tLo)
	if err != nil {
		return nil, nil, err
	}
	gHi, err := at(tHi)
	if err != nil {
		return nil, nil, err
	}
	// The end closer to the level (by the true loss; Illinois halves the stored values). A level not above
	// ℓ(θ*) leaves the draw at θ*.
	scale, loss = make([]float32, n), make([]float32, n)
	for i := 0; i < n; i++ {
		t, g := tHi[i], gHi[i]
		if abs32(gLo[i]) <= abs32(gHi[i]) {
			t, g = tLo[i], gLo[i]
		}
		if fLo0[i] >= 0 {
			t, g = 0, fLo0[i]
		}
		if math.IsNaN(float64(g)) || math.IsInf(float64(g), 0) {
			return nil, nil, fmt.Errorf("flow.SampleOnLevels: draw %d has a non-finite loss after the retraction (t=%g)", i, t)
		}
		scale[i] = float32(math.Sqrt(float64(t)))
		loss[i] = g + lv[i]
	}
	return scale, loss, nil
}

// MustSampleOnLevels is SampleOnLevels that panics on error, for notebooks.
func (f *Flow) MustSampleOnLevels(target posterior.Target, n int, seed uint64, opts LevelOptions) *Draws {
	d, err := f.SampleOnLevels(target, n, seed, opts)
	if err != nil {
		panic(err)
	}
	return d
}

func abs32(x float32) float32 { return float32(math.Abs(float64(x))) }
