package flow

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// VAEOptions describe the variational autoencoder variant (Kingma & Welling 2014) on the subspace
// coordinates: encoder c → (μ, log σ²) of an m-dimensional latent, decoder z → mean of c, Gaussian decoder
// noise with a learned standard deviation per coordinate. The zero value gives the defaults.
type VAEOptions struct {
	// Latent is m, the latent dimension. Default min(r, 8).
	Latent int
	// Hidden are the hidden widths (tanh) of encoder and decoder. Default [64, 64].
	Hidden []int
	// Beta weighs the KL term of the ELBO. Default 1 (the true ELBO).
	Beta float64
	// Seed draws the initial weights.
	Seed uint64
}

func (o VAEOptions) withDefaults(r int) (VAEOptions, error) {
	if o.Latent == 0 {
		o.Latent = min(r, 8)
	}
	if o.Hidden == nil {
		o.Hidden = slices.Clone(DefaultHidden)
	}
	if o.Beta == 0 {
		o.Beta = 1
	}
	switch {
	case o.Latent < 1:
		return o, fmt.Errorf("flow: VAE Latent=%d, want ≥ 1", o.Latent)
	case !(o.Beta > 0) || math.IsInf(o.Beta, 0):
		return o, fmt.Errorf("flow: VAE Beta=%g, want a positive finite weight", o.Beta)
	}
	for i, h := range o.Hidden {
		if h < 1 {
			return o, fmt.Errorf("flow: VAE Hidden[%d]=%d, want a positive width", i, h)
		}
	}
	return o, nil
}

// vaeArch lays out the VAE's parameters.
type vaeArch struct {
	r, m     int
	enc, dec mlp
	logNoise block // [r] decoder log standard deviation (standardised units)
	nParams  int
}

func newVAEArch(o VAEOptions, r int) *vaeArch {
	var l layout
	a := &vaeArch{r: r, m: o.Latent}
	a.enc = newMLP(&l, r, o.Hidden, 2*o.Latent)
	a.dec = newMLP(&l, o.Latent, o.Hidden, r)
	a.logNoise = l.add(r)
	a.nParams = l.n
	return a
}

// encode returns μ [N, m] and log σ² [N, m] (soft-clamped to (−10, 10)) for x [N, r].
func (a *vaeArch) encode(params, x *Node) (mu, logVar *Node) {
	h := a.enc.apply(params, x)
	mu = Slice(h, AxisRange(), AxisRange(0, a.m))
	logVar = MulScalar(Tanh(DivScalar(Slice(h, AxisRange(), AxisRange(a.m, 2*a.m)), 10)), 10)
	return mu, logVar
}

// negELBO returns −ELBO [N] (in standardised units) for x [N, r] with reparameterisation noise eps [N, m].
func (a *vaeArch) negELBO(params, x, eps *Node, beta float64) *Node {
	mu, logVar := a.encode(params, x)
	z := Add(mu, Mul(Exp(MulScalar(logVar, 0.5)), eps))
	mean := a.dec.apply(params, z)
	logSD := a.logNoise.take(params)
	// −log N(x; mean, diag σ²) = ½‖(x − mean)/σ‖² + Σ log σ + (r/2) log 2π.
	res := Div(Sub(x, mean), ExpandAxes(Exp(logSD), 0))
	nll := AddScalar(Add(MulScalar(ReduceSum(Square(res), 1), 0.5), ReduceAllSum(logSD)), 0.5*float64(a.r)*math.Log(2*math.Pi))
	// KL(N(μ, σ²) ‖ N(0, 1)) = ½ Σ (μ² + σ² − 1 − log σ²).
	kl := MulScalar(ReduceSum(Sub(Add(Square(mu), Exp(logVar)), AddScalar(logVar, 1)), 1), 0.5)
	return Add(nll, MulScalar(kl, beta))
}

// VAE is the autoencoder variant of the deformation, for comparison with the flow: θ = θ* + U·diag(Scale)·c,
// c = Loc + Spread ⊙ decoder(z), z ~ N(0, I_m). It has no exact density; its training loss is the
// negative ELBO, an upper bound on the negative log-likelihood.
type VAE struct {
	// Subspace holds θ*, U and the coordinate scales.
	Subspace *Subspace
	// Options with defaults filled in.
	Options VAEOptions
	// Loc and Spread [r] standardise the coordinates.
	Loc, Spread []float32
	// Params holds encoder, decoder and decoder-noise parameters, flat.
	Params []float32
	// Report describes training; BestValidLoss is the held-out negative ELBO per sample of the
	// coordinates c (comparable with a flow's held-out NLL, which it bounds from above).
	Report TrainReport

	arch *vaeArch
}

// FitVAE finds the PCA subspace of samples [N, P] around center θ* [P] and trains a VAE on the coordinates
// by maximising the ELBO with Adam (same training loop, minibatches and early stopping as the flow; the
// Target/Lambda fields of train are not used).
func FitVAE(center, samples []float32, subOpts SubspaceOptions, opts VAEOptions, train TrainOptions) (*VAE, error) {
	sub, err := FitSubspace(center, samples, subOpts)
	if err != nil {
		return nil, err
	}
	coords, _, err := sub.Encode(samples)
	if err != nil {
		return nil, err
	}
	r := sub.Rank
	o, err := opts.withDefaults(r)
	if err != nil {
		return nil, err
	}
	train.Lambda, train.Target, train.TargetLevel = 0, nil, 0
	to, err := train.withDefaults()
	if err != nil {
		return nil, err
	}
	n := len(coords) / r
	if err := checkGroups(to.Groups, n); err != nil {
		return nil, err
	}
	trIdx, vaIdx := split(n, to.ValidFraction, to.Seed, to.Groups)
	tr, va := gatherRows(coords, r, trIdx), gatherRows(coords, r, vaIdx)
	loc, spread := meanStd(tr, r)
	a := newVAEArch(o, r)
	init := make([]float32, a.nParams)
	rng := rand.New(rand.NewPCG(o.Seed, 0x2545f4914f6cdd1d))
	a.enc.init(init, rng, 0.1)
	a.dec.init(init, rng, 0.1)
	b, err := backend.New()
	if err != nil {
		return nil, err
	}
	// Fixed reparameterisation noise for the held-out loss, so that it is a deterministic function of the
	// parameters (an unbiased one-sample estimate of the negative ELBO).
	nv := len(va) / r
	vEps := make([]float32, nv*o.Latent)
	erng := rand.New(rand.NewPCG(to.Seed, 0x632be59bd9b4e019))
	for i := range vEps {
		vEps[i] = float32(erng.NormFloat64())
	}
	consts := []*tensors.Tensor{vec(loc), vec(spread),
		tensors.FromFlatDataAndDimensions(vEps, nv, o.Latent)}
	std := func(c []*Node, x *Node) *Node { return Div(Sub(x, ExpandAxes(c[0], 0)), ExpandAxes(c[1], 0)) }
	obj := objective{
		loss: func(params, batch, rng *Node, c []*Node) (*Node, *Node, *Node) {
			rng, eps := RandomNormal(rng, shapes.Make(batch.DType(), batch.Shape().Dimensions[0], o.Latent))
			l := Add(ReduceAllMean(a.negELBO(params, std(c, batch), eps, o.Beta)), ReduceAllSum(Log(c[1])))
			return l, ZerosLike(l), rng
		},
		valid: func(params, valid *Node, c []*Node) *Node {
			l := ReduceAllMean(a.negELBO(params, std(c, valid), c[2], o.Beta))
			return Add(l, ReduceAllSum(Log(c[1])))
		},
	}
	best, rep, err := trainAdam(b, init, tr, va, r, consts, obj, to)
	if err != nil {
		return nil, err
	}
	return &VAE{Subspace: sub, Options: o, Loc: loc, Spread: spread, Params: best, Report: rep, arch: a}, nil
}

// Sample decodes n latents z ~ N(0, I_m) (drawn from seed in the graph) to parameters θ [n, P] (row-major)
// and coordinates c [n, r]. With noise, the decoder's Gaussian noise is added (a draw from the generative
// model); without it, the decoder mean is returned (the usual way to sample an autoencoder).
func (v *VAE) Sample(n int, seed uint64, noise bool) (theta, coords []float32, err error) {
	if n < 1 {
		return nil, nil, fmt.Errorf("flow.VAE.Sample: n=%d, want ≥ 1", n)
	}
	b, err := backend.New()
	if err != nil {
		return nil, nil, err
	}
	a, r := v.arch, v.Subspace.Rank
	e, err := NewExec(b, func(g *Graph, in []*Node) []*Node {
		params, rng, loc, spread, center, basis, scale := in[0], in[1], in[2], in[3], in[4], in[5], in[6]
		rng, z := RandomNormal(rng, shapes.Make(params.DType(), n, a.m))
		x := a.dec.apply(params, z)
		if noise {
			var eps *Node
			_, eps = RandomNormal(rng, shapes.Make(params.DType(), n, r))
			x = Add(x, Mul(eps, ExpandAxes(Exp(a.logNoise.take(params)), 0)))
		}
		c := Add(ExpandAxes(loc, 0), Mul(x, ExpandAxes(spread, 0)))
		return []*Node{decodeGraph(c, center, basis, scale), c}
	})
	if err != nil {
		return nil, nil, err
	}
	defer e.Finalize()
	rngT, err := RNGStateFromSeed(int64(seed))
	if err != nil {
		return nil, nil, err
	}
	s := v.Subspace
	out, err := e.Call(vec(v.Params), rngT, vec(v.Loc), vec(v.Spread), vec(s.Center),
		tensors.FromFlatDataAndDimensions(s.Basis, s.P, r), vec(s.Scale))
	if err != nil {
		return nil, nil, fmt.Errorf("flow.VAE.Sample: %w", err)
	}
	return flat32(out[0]), flat32(out[1]), nil
}
