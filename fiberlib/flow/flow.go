package flow

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Flow is a normalizing flow fitted to posterior samples in their PCA subspace: θ = θ* + U·diag(Scale)·c,
// c = Loc + Spread ⊙ T(z), z ~ N(0, I_r). It is safe for concurrent use once built.
type Flow struct {
	// Subspace holds θ*, the basis U and the coordinate scales.
	Subspace *Subspace
	// Options is the architecture, with defaults filled in.
	Options Options
	// Loc and Spread [r] standardise the coordinates before the coupling stack (the training
	// coordinates' mean and standard deviation): a fixed elementwise affine layer.
	Loc, Spread []float32
	// Params holds all conditioner weights, flat.
	Params []float32
	// Report describes the training run (zero for a flow built with New).
	Report TrainReport
	// Levels holds the per-datum training losses ℓ = U/n of the samples the flow was fitted on (FitSamples
	// copies the set's Loss; nil when unknown): the levels SampleOnLevels moves draws to by default.
	Levels []float32

	arch  *arch
	mu    sync.Mutex
	execs map[string]*Exec
}

// New builds a flow from its parts (used by loading, and to evaluate an untrained flow). params may be nil
// for the initial (identity) parameters.
func New(sub *Subspace, loc, spread []float32, opts Options, params []float32) (*Flow, error) {
	if sub == nil || sub.Rank < 1 {
		return nil, fmt.Errorf("flow.New: missing subspace (fit one with FitSubspace)")
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	r := sub.Rank
	if len(loc) != r || len(spread) != r {
		return nil, fmt.Errorf("flow.New: Loc has %d and Spread %d values, want Rank=%d each", len(loc), len(spread), r)
	}
	for i, s := range spread {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return nil, fmt.Errorf("flow.New: Spread[%d]=%g, want a positive finite scale", i, s)
		}
	}
	a := newArch(o, r)
	if params == nil {
		params = a.initParams(0)
	}
	if len(params) != a.nParams {
		return nil, fmt.Errorf("flow.New: %d parameters, the architecture (%s, %d layers, hidden %v, r=%d) needs %d",
			len(params), o.Coupling, o.Layers, o.Hidden, r, a.nParams)
	}
	if i := firstNonFinite(params); i >= 0 {
		return nil, fmt.Errorf("flow.New: parameter %d is %g (not finite)", i, params[i])
	}
	return &Flow{Subspace: sub, Options: o, Loc: loc, Spread: spread, Params: params, arch: a}, nil
}

// Fit finds the PCA subspace of samples [N, P] (row-major) around center θ* [P], then fits a flow on the
// coordinates by maximum likelihood. Unless subOpts fixes Rank or MaxRank, the rank is capped at
// N_train − 1 (N_train: the samples left after holding out train.ValidFraction), since a flow fitted to
// fewer samples than dimensions can collapse onto their span.
func Fit(center, samples []float32, subOpts SubspaceOptions, opts Options, train TrainOptions) (*Flow, error) {
	if subOpts.Rank == 0 && subOpts.MaxRank == 0 && len(center) > 0 && len(samples)%len(center) == 0 {
		if to, err := train.withDefaults(); err == nil && checkGroups(to.Groups, len(samples)/len(center)) == nil {
			n := len(samples) / len(center)
			tr, _ := split(n, to.ValidFraction, to.Seed, to.Groups)
			subOpts.MaxRank = max(len(tr)-1, 1)
		}
	}
	sub, err := FitSubspace(center, samples, subOpts)
	if err != nil {
		return nil, err
	}
	return FitOnSubspace(sub, samples, opts, train)
}

// MustFit is Fit that panics on error, for notebooks.
func MustFit(center, samples []float32, subOpts SubspaceOptions, opts Options, train TrainOptions) *Flow {
	f, err := Fit(center, samples, subOpts, opts, train)
	if err != nil {
		panic(err)
	}
	return f
}

// FitOnSubspace fits a flow on the coordinates of samples [N, P] in a given subspace.
func FitOnSubspace(sub *Subspace, samples []float32, opts Options, train TrainOptions) (*Flow, error) {
	coords, _, err := sub.Encode(samples)
	if err != nil {
		return nil, fmt.Errorf("flow.Fit: %w", err)
	}
	return fitCoords(sub, coords, opts, train)
}

// fitCoords trains a flow on coordinates [N, r].
func fitCoords(sub *Subspace, coords []float32, opts Options, train TrainOptions) (*Flow, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	to, err := train.withDefaults()
	if err != nil {
		return nil, err
	}
	r := sub.Rank
	n := len(coords) / r
	if n < 2 {
		return nil, fmt.Errorf("flow.Fit: %d sample(s), need at least 2 (one to train on, one held out)", n)
	}
	if to.Target != nil && to.Target.NumParams() != sub.P {
		return nil, fmt.Errorf("flow.Fit: Target has %d parameters, the samples %d", to.Target.NumParams(), sub.P)
	}
	if err := checkGroups(to.Groups, n); err != nil {
		return nil, err
	}
	trIdx, vaIdx := split(n, to.ValidFraction, to.Seed, to.Groups)
	if r > len(trIdx)-1 {
		return nil, fmt.Errorf("flow.Fit: rank r=%d but only %d training samples (of %d, %d held out): the flow would collapse onto their span; lower SubspaceOptions.Rank/VarianceThreshold to r ≤ %d or draw more samples",
			r, len(trIdx), n, len(vaIdx), len(trIdx)-1)
	}
	tr, va := gatherRows(coords, r, trIdx), gatherRows(coords, r, vaIdx)
	loc, spread := meanStd(tr, r)
	f, err := New(sub, loc, spread, o, nil)
	if err != nil {
		return nil, err
	}
	b, err := backend.New()
	if err != nil {
		return nil, err
	}
	a := f.arch
	lambda := to.Lambda
	adaptive := to.TargetLevel != 0
	if adaptive && lambda == 0 {
		lambda = 1 / float64(max(to.Target.NumData(), 1))
	}
	to.Lambda = lambda
	consts := []*tensors.Tensor{vec(loc), vec(spread), tensors.FromScalar(float32(lambda))}
	var target = to.Target
	m := to.PotentialSamples
	nd := 1.0
	if lambda > 0 {
		nd = float64(max(target.NumData(), 1))
		// Fixed latents for the potential term of the held-out loss (deterministic in the parameters).
		zv := make([]float32, m*r)
		zr := rand.New(rand.NewPCG(to.Seed, 0x1d8e4e27c47d124f))
		for i := range zv {
			zv[i] = float32(zr.NormFloat64())
		}
		consts = append(consts, tensors.FromFlatDataAndDimensions(zv, m, r))
		consts = append(consts, f.subspaceTensors()...)
		consts = append(consts, target.Data()...)
	}
	// potential returns λ·mean U(θ* + U·T(z)) and the mean per-datum loss for latents z [M, r]; c holds
	// loc, spread, λ, zValid, center, basis, scale, data...
	potential := func(params, z *Node, c []*Node) (*Node, *Node) {
		cs, _ := a.sampleCoords(params, c[0], c[1], z)
		theta := decodeGraph(cs, c[4], c[5], c[6])
		u := ReduceAllMean(target.Potential(theta, c[7:]))
		return Mul(u, c[2]), DivScalar(u, nd)
	}
	obj := objective{
		loss: func(params, batch, rng *Node, c []*Node) (*Node, *Node, *Node) {
			nll := Neg(ReduceAllMean(a.logProbCoords(params, c[0], c[1], batch)))
			if lambda == 0 {
				return nll, ZerosLike(nll), rng
			}
			rng, z := RandomNormal(rng, shapes.Make(batch.DType(), m, r))
			pot, level := potential(params, z, c)
			return Add(nll, pot), level, rng
		},
		valid: func(params, valid *Node, c []*Node) *Node {
			nll := Neg(ReduceAllMean(a.logProbCoords(params, c[0], c[1], valid)))
			if lambda == 0 {
				return nll
			}
			pot, _ := potential(params, c[3], c)
			return Add(nll, pot)
		},
	}
	if adaptive {
		lossMAP, err := perDatumLossAt(b, target, sub.Center)
		if err != nil {
			return nil, err
		}
		rise := to.TargetLevel - lossMAP
		if !(rise > 0) {
			return nil, fmt.Errorf("flow.Fit: TargetLevel=%g is not above the loss at θ*, %g: pass a per-datum loss level above the MAP's (e.g. the samples' mean loss)", to.TargetLevel, lossMAP)
		}
		obj.adaptIdx = 2
		obj.adapt = func(level, current float64) float64 {
			if math.IsNaN(level) || math.IsInf(level, 0) {
				return current * math.Exp(to.LambdaRate)
			}
			step := max(min((level-to.TargetLevel)/rise, 1), -1)
			return current * math.Exp(to.LambdaRate*step)
		}
	}
	best, rep, err := trainAdam(b, f.Params, tr, va, r, consts, obj, to)
	if err != nil {
		return nil, err
	}
	f.Params, f.Report = best, rep
	return f, nil
}

// perDatumLossAt returns U(θ)/n at one θ [P].
func perDatumLossAt(b compute.Backend, target posterior.Target, theta []float32) (float64, error) {
	e, err := NewExec(b, lossGraph(target))
	if err != nil {
		return 0, fmt.Errorf("flow: building the potential: %w", err)
	}
	defer e.Finalize()
	l, err := callLoss(e, target, theta)
	if err != nil {
		return 0, fmt.Errorf("flow: evaluating the potential at θ*: %w", err)
	}
	return float64(l[0]), nil
}

// lossGraph builds U(θ)/n [N] for θ [N, P] (in[0]) on the target's data (in[1:]).
func lossGraph(target posterior.Target) func(*Graph, []*Node) []*Node {
	nd := float64(max(target.NumData(), 1))
	return func(g *Graph, in []*Node) []*Node {
		return []*Node{DivScalar(target.Potential(in[0], in[1:]), nd)}
	}
}

// callLoss evaluates a lossGraph executable on thetas [N, P].
func callLoss(e *Exec, target posterior.Target, thetas []float32) ([]float32, error) {
	p := target.NumParams()
	args := []any{tensors.FromFlatDataAndDimensions(thetas, len(thetas)/p, p)}
	for _, d := range target.Data() {
		args = append(args, d)
	}
	out, err := e.Call(args...)
	if err != nil {
		return nil, err
	}
	return flat32(out[0]), nil
}

// meanStd returns the per-column mean and standard deviation of x [n, d] (a zero deviation becomes 1).
func meanStd(x []float32, d int) (mean, std []float32) {
	n := len(x) / d
	mean, std = make([]float32, d), make([]float32, d)
	for j := 0; j < d; j++ {
		s, s2 := 0.0, 0.0
		for i := 0; i < n; i++ {
			v := float64(x[i*d+j])
			s += v
			s2 += v * v
		}
		mu := s / float64(n)
		sd := math.Sqrt(max(s2/float64(n)-mu*mu, 0))
		if sd == 0 || math.IsNaN(sd) {
			sd = 1
		}
		mean[j], std[j] = float32(mu), float32(sd)
	}
	return mean, std
}

// subspaceTensors returns center [P], basis [P, r], scale [r].
func (f *Flow) subspaceTensors() []*tensors.Tensor {
	s := f.Subspace
	return []*tensors.Tensor{vec(s.Center), tensors.FromFlatDataAndDimensions(s.Basis, s.P, s.Rank), vec(s.Scale)}
}

// exec returns the cached executable under key, building it on first use.
func (f *Flow) exec(key string, build func(g *Graph, in []*Node) []*Node) (*Exec, compute.Backend, error) {
	b, err := backend.New()
	if err != nil {
		return nil, nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.execs[key]; ok {
		return e, b, nil
	}
	if f.execs == nil {
		f.execs = map[string]*Exec{}
	}
	e, err := NewExec(b, build)
	if err != nil {
		return nil, nil, err
	}
	f.execs[key] = e
	return e, b, nil
}

// Rank is r, the dimension of the flow.
func (f *Flow) Rank() int { return f.Subspace.Rank }

// Draws are samples of a flow.
type Draws struct {
	// N is the number of draws.
	N int
	// Theta [N, P] holds the parameters θ = θ* + U·diag(Scale)·c.
	Theta []float32
	// Coords [N, r] holds the subspace coordinates c.
	Coords []float32
	// LogQ [N] is log q(θ): the flow's log density on the affine subspace θ* + span(U), with respect to
	// r-dimensional volume on it (log q_c(c) − Σ log Scale). Nil for SampleOnLevels and SampleCorrected.
	LogQ []float32
	// Level [N] (SampleOnLevels, and SampleCorrected with levels) is the per-datum loss level each draw was
	// moved to.
	Level []float32
	// Loss [N] (SampleOnLevels and SampleCorrected) is the per-datum loss ℓ = U/n of each draw after the
	// move.
	Loss []float32
	// Shift [N] (SampleCorrected only) is the root-mean-square difference between each draw's outputs and
	// θ*'s on the pinned training rows, after the correction.
	Shift []float32
	// RayScale [N] (SampleOnLevels only) is s in θ = θ* + s·(θ_flow − θ*).
	RayScale []float32
}

// Sample draws n parameter vectors in one compiled call: z ~ N(0, I_r) from seed (drawn inside the
// graph), θ = θ* + U T(z), with their log densities.
func (f *Flow) Sample(n int, seed uint64) (*Draws, error) {
	if n < 1 {
		return nil, fmt.Errorf("flow.Sample: n=%d, want ≥ 1", n)
	}
	e, _, err := f.exec(fmt.Sprintf("sample/%d", n), func(g *Graph, in []*Node) []*Node {
		theta, coords, logQ, _ := f.sampleGraph(in, n)
		return []*Node{theta, coords, logQ}
	})
	if err != nil {
		return nil, err
	}
	args, err := f.sampleArgs(seed)
	if err != nil {
		return nil, err
	}
	out, err := e.Call(args...)
	if err != nil {
		return nil, fmt.Errorf("flow.Sample: %w", err)
	}
	return &Draws{N: n, Theta: flat32(out[0]), Coords: flat32(out[1]), LogQ: flat32(out[2])}, nil
}

// MustSample is Sample that panics on error, for notebooks.
func (f *Flow) MustSample(n int, seed uint64) *Draws {
	d, err := f.Sample(n, seed)
	if err != nil {
		panic(err)
	}
	return d
}

// sampleArgs returns the inputs of sampleGraph after params: RNG state, loc, spread, center, basis,
// scale.
func (f *Flow) sampleArgs(seed uint64) ([]any, error) {
	rng, err := RNGStateFromSeed(int64(seed))
	if err != nil {
		return nil, err
	}
	args := []any{vec(f.Params), rng, vec(f.Loc), vec(f.Spread)}
	for _, t := range f.subspaceTensors() {
		args = append(args, t)
	}
	return args, nil
}

// sampleGraph draws n latents from rng and maps them. in holds params, RNG state, loc [r], spread [r],
// center [P], basis [P, r], scale [r] (the order of sampleArgs). It returns θ [n, P], c [n, r],
// log q(θ) [n] and the new RNG state.
func (f *Flow) sampleGraph(in []*Node, n int) (theta, coords, logQ, newRNG *Node) {
	params, rng, loc, spread, center, basis, scale := in[0], in[1], in[2], in[3], in[4], in[5], in[6]
	newRNG, z := RandomNormal(rng, shapes.Make(params.DType(), n, f.Rank()))
	coords, logQc := f.arch.sampleCoords(params, loc, spread, z)
	theta = decodeGraph(coords, center, basis, scale)
	logQ = Sub(logQc, ReduceAllSum(Log(scale)))
	return theta, coords, logQ, newRNG
}

// LogProb returns log q(θ) [N] for theta [N, P] (row-major), the flow's log density on its affine
// subspace, at the orthogonal projection of each θ onto that subspace, and the distance of each θ from
// the subspace (0 up to rounding for points of it; q says nothing about directions off the subspace).
func (f *Flow) LogProb(theta []float32) (logQ []float32, offDistance []float64, err error) {
	coords, off, err := f.Subspace.Encode(theta)
	if err != nil {
		return nil, nil, fmt.Errorf("flow.LogProb: %w", err)
	}
	lq, err := f.LogProbCoords(coords)
	if err != nil {
		return nil, nil, err
	}
	shift := float32(f.Subspace.LogAbsDetScale())
	for i := range lq {
		lq[i] -= shift
	}
	return lq, off, nil
}

// LogProbCoords returns log q_c(c) [N] for subspace coordinates c [N, r].
func (f *Flow) LogProbCoords(coords []float32) ([]float32, error) {
	r := f.Rank()
	if len(coords) == 0 || len(coords)%r != 0 {
		return nil, fmt.Errorf("flow.LogProbCoords: %d values, want a positive multiple of r=%d", len(coords), r)
	}
	if i := firstNonFinite(coords); i >= 0 {
		return nil, fmt.Errorf("flow.LogProbCoords: row %d, coordinate %d is %g (not finite)", i/r, i%r, coords[i])
	}
	e, _, err := f.exec("logprob", func(g *Graph, in []*Node) []*Node {
		return []*Node{f.arch.logProbCoords(in[0], in[1], in[2], in[3])}
	})
	if err != nil {
		return nil, err
	}
	out, err := e.Call(vec(f.Params), vec(f.Loc), vec(f.Spread), tensors.FromFlatDataAndDimensions(coords, len(coords)/r, r))
	if err != nil {
		return nil, fmt.Errorf("flow.LogProbCoords: %w", err)
	}
	return flat32(out[0]), nil
}

// Forward maps latents z [N, r] to coordinates c [N, r] = Loc + Spread ⊙ T(z) and returns
// log|det ∂c/∂z| [N].
func (f *Flow) Forward(z []float32) (coords, logDet []float32, err error) {
	return f.mapCoords("forward", z)
}

// Inverse maps coordinates c [N, r] to latents z = T⁻¹((c − Loc)/Spread) and returns log|det ∂z/∂c| [N].
func (f *Flow) Inverse(coords []float32) (z, logDet []float32, err error) {
	return f.mapCoords("inverse", coords)
}

func (f *Flow) mapCoords(dir string, x []float32) ([]float32, []float32, error) {
	r := f.Rank()
	if len(x) == 0 || len(x)%r != 0 {
		return nil, nil, fmt.Errorf("flow.%s: %d values, want a positive multiple of r=%d", dir, len(x), r)
	}
	e, _, err := f.exec(dir, func(g *Graph, in []*Node) []*Node {
		params, loc, spread, v := in[0], ExpandAxes(in[1], 0), ExpandAxes(in[2], 0), in[3]
		logSpread := ReduceAllSum(Log(in[2]))
		if dir == "forward" {
			y, ld := f.arch.forward(params, v)
			return []*Node{Add(loc, Mul(y, spread)), Add(ld, logSpread)}
		}
		y, ld := f.arch.inverse(params, Div(Sub(v, loc), spread))
		return []*Node{y, Sub(ld, logSpread)}
	})
	if err != nil {
		return nil, nil, err
	}
	out, err := e.Call(vec(f.Params), vec(f.Loc), vec(f.Spread), tensors.FromFlatDataAndDimensions(x, len(x)/r, r))
	if err != nil {
		return nil, nil, fmt.Errorf("flow.%s: %w", dir, err)
	}
	return flat32(out[0]), flat32(out[1]), nil
}

// vec wraps a float32 slice as a rank-1 tensor. (Passing a []float32 to Exec.Call directly makes GoMLX
// inspect every element by reflection: ≈ 50 ms for 10⁵ parameters.)
func vec(x []float32) *tensors.Tensor { return tensors.FromFlatDataAndDimensions(x, len(x)) }

// flat32 copies a float32 tensor's values into a flat slice.
func flat32(t *tensors.Tensor) []float32 {
	var out []float32
	tensors.MustConstFlatData(t, func(flat []float32) { out = append([]float32(nil), flat...) })
	return out
}

// String summarises the flow: subspace rank and variance kept, architecture, and the training run.
func (f *Flow) String() string {
	s, r := f.Subspace, f.Report
	out := fmt.Sprintf("flow: r=%d of P=%d (%.2f%% of Σ‖θ−θ*‖² kept, from N=%d samples%s); %s couplings ×%d, hidden %v",
		s.Rank, s.P, 100*s.VarianceKept, s.NumSamples, map[bool]string{true: ", whitened"}[s.Whitened],
		f.Options.Coupling, f.Options.Layers, f.Options.Hidden)
	if r.Steps > 0 {
		out += fmt.Sprintf("; %d Adam steps (best at %d%s), held-out loss %.4f nats/sample on %d samples, %.1fs",
			r.Steps, r.BestStep, map[bool]string{true: ", early-stopped"}[r.EarlyStopped], r.BestValidLoss, r.NumValid,
			r.Duration.Seconds())
	}
	if r.NonFiniteStep > 0 {
		out += fmt.Sprintf("; stopped: non-finite loss, gradient or update at step %d", r.NonFiniteStep)
	}
	return out
}
