package laplace

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/fiberbnn/fiberbnn/fiberlib/predict"
	"github.com/fiberbnn/fiberbnn/fiberlib/samples"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"gonum.org/v1/gonum/mat"
)

// Predictive is a posterior predictive at B test points: Regression for the gaussian and heteroscedastic
// likelihoods (with T targets, the B·T outputs are the points, row-major [B, T]), Classification for
// bernoulli (C = 2) and categorical.
type Predictive struct {
	Regression     *predict.Regression
	Classification *predict.Classification
}

// FunctionalMoments returns the linearised (GLM) distribution of the network outputs at the test inputs x
// (row-major [B, D]): mean f(x; θ*) [B, O] and covariance J Σ Jᵀ [B, O, O] (J the Jacobian of the outputs
// with respect to the covered weights), computed in one compiled call per chunk of test points.
func (la *Laplace) FunctionalMoments(x []float32) (mean, cov []float32, err error) {
	spec := la.net.Spec
	d, o := spec.InputDim(), spec.Outputs
	if len(x) == 0 || len(x)%d != 0 {
		return nil, nil, fmt.Errorf("laplace: test inputs have %d values, want a positive multiple of D=%d (row-major [B, D])", len(x), d)
	}
	if err := nets.CheckFinite("x", x, d); err != nil {
		return nil, nil, fmt.Errorf("laplace: %w", err)
	}
	b := len(x) / d
	width := len(la.theta)
	if la.opts.SubsetOfWeights == LastLayer {
		width = la.NumParams()
	}
	c := min(b, max(1, DefaultChunkValues/(o*width)))
	ex, err := la.glmExecutable()
	if err != nil {
		return nil, nil, err
	}
	params := la.sqrtParams()
	thetaT := tensors.FromFlatDataAndDimensions(la.theta, 1, len(la.theta))
	mean = make([]float32, b*o)
	cov = make([]float32, b*o*o)
	xs := make([]float32, c*d)
	for lo := 0; lo < b; lo += c {
		m := min(c, b-lo)
		clear(xs[m*d:])
		copy(xs, x[lo*d:(lo+m)*d])
		args := []any{thetaT, tensors.FromFlatDataAndDimensions(xs, c, d)}
		for _, t := range params {
			args = append(args, t)
		}
		res, err := ex.Call(args...)
		if err != nil {
			return nil, nil, fmt.Errorf("laplace: linearised predictive: %w", err)
		}
		f := tensors.MustCopyFlatData[float32](res[0])
		v := tensors.MustCopyFlatData[float32](res[1])
		for _, r := range res {
			r.FinalizeAll()
		}
		copy(mean[lo*o:], f[:m*o])
		copy(cov[lo*o*o:], v[:m*o*o])
	}
	return mean, cov, nil
}

// glmExecutable returns (building once) θ [1, P], x [C, D], S params → f [C, O], J Σ Jᵀ [C, O, O].
func (la *Laplace) glmExecutable() (*Exec, error) {
	return cachedExec(la.key("glm", 0), la.buildGLM)
}

// buildGLM compiles the linearised predictive's executable.
func (la *Laplace) buildGLM() (*Exec, error) {
	spec, layout := la.net.Spec, la.net.Layout()
	np, o, ps := la.numSqrtParams(), spec.Outputs, la.NumParams()
	ex, err := NewExec(la.backend, func(in []*Node) []*Node {
		theta, x, params := in[0], in[1], in[2:2+np]
		c := x.Shape().Dimensions[0]
		eye := identityFactor(x.Graph(), c, o, f32)
		var j *Node
		if la.opts.SubsetOfWeights == LastLayer {
			j = headVJP(Reshape(spec.Features(theta, x), c, layout.Features), eye)
		} else {
			j = perExampleVJP(spec, theta, x, eye)
		}
		m := Reshape(la.applySqrt(Reshape(j, c*o, ps), params, true), c, o, ps)
		return []*Node{Reshape(spec.Forward(theta, x), c, o), Einsum("bop,bqp->boq", m, m)}
	})
	if err != nil {
		return nil, err
	}
	return ex.WithName("laplace.glm"), nil
}

// Predictive returns the posterior predictive at the test inputs x (row-major [B, D]):
//
//   - GLM, regression: N(f(x; θ*), diag(J Σ Jᵀ) + σ²) per output;
//   - GLM, classification: the probit approximation (per logit, with the diagonal of J Σ Jᵀ), or MC with
//     opts.Samples logit draws from N(f, J Σ Jᵀ) (full output covariance) averaged in probability;
//   - NN: opts.Samples parameter draws from the Laplace posterior, each evaluated through the network, and
//     their Bayesian model average (as for every other sampler, via fiberlib/predict).
func (la *Laplace) Predictive(x []float32, opts PredictOptions) (*Predictive, error) {
	o, err := opts.withDefaults(la.net.Likelihood)
	if err != nil {
		return nil, err
	}
	if o.PredType == NN {
		return la.nnPredictive(x, o)
	}
	mean, cov, err := la.FunctionalMoments(x)
	if err != nil {
		return nil, err
	}
	out := la.net.Spec.Outputs
	b := len(mean) / out
	switch la.net.Likelihood {
	case posterior.GaussianLikelihood:
		sig := make([]float32, b*out)
		for i := 0; i < b; i++ {
			for k := 0; k < out; k++ {
				sig[i*out+k] = float32(math.Sqrt(float64(cov[(i*out+k)*out+k]) + la.net.Sigma*la.net.Sigma))
			}
		}
		r, err := predict.NewRegression(mean, sig, 1, b*out)
		return &Predictive{Regression: r}, err
	case posterior.Bernoulli, posterior.Categorical:
		if o.LinkApprox == Probit {
			variance := make([]float32, b*out)
			for i := 0; i < b; i++ {
				for k := 0; k < out; k++ {
					variance[i*out+k] = max(cov[(i*out+k)*out+k], 0)
				}
			}
			var c *predict.Classification
			if la.net.Likelihood == posterior.Bernoulli {
				c, err = predict.ProbitSigmoid(mean, variance, b)
			} else {
				c, err = predict.ProbitSoftmax(mean, variance, b, out)
			}
			return &Predictive{Classification: c}, err
		}
		logits, err := drawLogits(mean, cov, b, out, o.Samples, o.Seed)
		if err != nil {
			return nil, err
		}
		return classify(la.net.Likelihood, logits, o.Samples, b, out)
	}
	return nil, fmt.Errorf("laplace: no %s predictive for the %s likelihood", o.PredType, la.net.Likelihood)
}

// MustPredictive is Predictive that panics on error; for notebooks.
func (la *Laplace) MustPredictive(x []float32, opts PredictOptions) *Predictive {
	p, err := la.Predictive(x, opts)
	if err != nil {
		panic(err)
	}
	return p
}

// drawLogits draws s logit vectors per point from N(mean_b, cov_b) (mean [B, O], cov [B, O, O]) with the
// PCG stream (seed, 0x91a55): f = mean + Q diag(√λ) z, from each point's eigendecomposition (the output
// covariance may be singular). Result [S, B, O].
func drawLogits(mean, cov []float32, b, o, s int, seed uint64) ([]float32, error) {
	rng := rand.New(rand.NewPCG(seed, 0x91a55))
	out := make([]float32, s*b*o)
	root := make([][]float64, b) // per point, row-major [O, O] square root
	for i := 0; i < b; i++ {
		sym := mat.NewSymDense(o, nil)
		for r := 0; r < o; r++ {
			for c := r; c < o; c++ {
				sym.SetSym(r, c, 0.5*float64(cov[(i*o+r)*o+c]+cov[(i*o+c)*o+r]))
			}
		}
		vals, vecs, err := eigen(sym, "output covariance")
		if err != nil {
			return nil, err
		}
		root[i] = make([]float64, o*o)
		for r := 0; r < o; r++ {
			for c := 0; c < o; c++ {
				root[i][r*o+c] = vecs.At(r, c) * math.Sqrt(vals[c])
			}
		}
	}
	z := make([]float64, o)
	for k := 0; k < s; k++ {
		for i := 0; i < b; i++ {
			for c := range z {
				z[c] = rng.NormFloat64()
			}
			for r := 0; r < o; r++ {
				v := float64(mean[i*o+r])
				for c := 0; c < o; c++ {
					v += root[i][r*o+c] * z[c]
				}
				out[(k*b+i)*o+r] = float32(v)
			}
		}
	}
	return out, nil
}

// classify averages the class probabilities of logits [S, B, O].
func classify(lik posterior.Likelihood, logits []float32, s, b, o int) (*Predictive, error) {
	var c *predict.Classification
	var err error
	if lik == posterior.Bernoulli {
		c, err = predict.AverageSigmoid(logits, s, b)
	} else {
		c, err = predict.AverageSoftmax(logits, s, b, o)
	}
	return &Predictive{Classification: c}, err
}

// nnPredictive samples parameters and averages the network's predictions.
func (la *Laplace) nnPredictive(x []float32, o PredictOptions) (*Predictive, error) {
	theta, err := la.sampleTheta(o.Samples, o.Seed)
	if err != nil {
		return nil, err
	}
	return NetworkPredictive(la.net, theta, x)
}

// SetPredictive is NetworkPredictive over the samples of a set; for the gaussian likelihood each sample's
// noise scale is taken from set.Diagnostics["sigma"] when present (e.g. ensemble members with σ fitted per
// member), else the network's σ.
func SetPredictive(net *posterior.Network, set *samples.Set, x []float32) (*Predictive, error) {
	if set == nil || net == nil {
		return nil, fmt.Errorf("laplace: SetPredictive of a nil set or network")
	}
	if set.P != net.NumParams() {
		return nil, fmt.Errorf("laplace: the %s set has P=%d parameters, the network %d", set.Method, set.P, net.NumParams())
	}
	sig, ok := set.Diagnostics["sigma"]
	if !ok || net.Likelihood != posterior.GaussianLikelihood {
		return NetworkPredictive(net, set.Theta, x)
	}
	out, err := net.Evaluate(set.Theta, x)
	if err != nil {
		return nil, fmt.Errorf("laplace: predictive: %w", err)
	}
	s, b, o := out.N, out.B, out.O
	r, err := predict.NewRegression(out.Values, sig, s, b*o)
	return &Predictive{Regression: r}, err
}

// NetworkPredictive returns the Bayesian model average of the network's predictions over the parameter
// vectors thetas (row-major [S, P], e.g. a samples.Set's Theta) at the test inputs x ([B, D]): the equal
// mixture of N(f, σ²) (gaussian; σ the network's), of N(μ, σ(x)²) (heteroscedastic), or the average of the
// class probabilities (bernoulli, categorical). All S vectors are evaluated in one compiled call per chunk
// of test points.
func NetworkPredictive(net *posterior.Network, thetas, x []float32) (*Predictive, error) {
	out, err := net.Evaluate(thetas, x)
	if err != nil {
		return nil, fmt.Errorf("laplace: predictive: %w", err)
	}
	s, b, o := out.N, out.B, out.O
	switch net.Likelihood {
	case posterior.GaussianLikelihood:
		r, err := predict.NewRegression(out.Values, []float32{float32(net.Sigma)}, s, b*o)
		return &Predictive{Regression: r}, err
	case posterior.Heteroscedastic:
		t := o / 2
		means := make([]float32, s*b*t)
		sig := make([]float32, s*b*t)
		for i := 0; i < s*b; i++ {
			row := out.Values[i*o : (i+1)*o]
			for k := 0; k < t; k++ {
				means[i*t+k] = row[k]
				sig[i*t+k] = float32(math.Exp(float64(row[t+k])))
			}
		}
		r, err := predict.NewRegression(means, sig, s, b*t)
		return &Predictive{Regression: r}, err
	}
	return classify(net.Likelihood, out.Values, s, b, o)
}
