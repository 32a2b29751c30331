package laplace

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"gonum.org/v1/gonum/mat"
)

// Laplace is a fitted Laplace approximation q(θ) = N(θ*, Σ) of a network's posterior over the covered
// weights θ_s = θ[Start:End] (the others stay at the MAP), with Σ = (GGN + αI)⁻¹ in the chosen structure.
// Create it with Fit; it is safe for concurrent use after fitting, except for SetPriorPrecision and
// TunePriorPrecision, which change α.
type Laplace struct {
	net     *posterior.Network
	opts    Options
	backend compute.Backend
	theta   []float32 // MAP, [P]
	start   int
	end     int

	logLik     float64 // log p(D | θ*)
	gradNorm   float64 // ‖∇U(θ*)‖ under the network's prior
	priorNorm2 float64 // ‖θ*_s‖²
	fitSeconds float64

	mu    sync.Mutex
	alpha float64

	// Curvature of the likelihood (the GGN), in the chosen structure.
	ggnFull *mat.SymDense // Full: [Ps, Ps]
	eigVals []float64     // Full: eigenvalues of ggnFull (ascending, clamped at 0)
	// Full: S with S Sᵀ = (GGN + αI)⁻¹ (see fullSqrt), for sqrtAlpha; recomputed when α changes.
	sqrtMu    sync.Mutex
	sqrtFull  *mat.Dense
	sqrtAlpha float64
	ggnDiag   []float64   // Diag: [Ps]
	kron      []kronBlock // Kron: one block per layer
	lambdas   []float64   // eigenvalues of the GGN in every structure (for the marginal likelihood)
}

// kronBlock is one layer's Kronecker factors A ⊗ G and their eigendecompositions.
type kronBlock struct {
	layer          kronLayer
	a, g           *mat.SymDense
	aVals, gVals   []float64
	aVecs, gVecs   *mat.Dense
	offsetInSubset int
}

// Fit computes the Laplace approximation of net's posterior at the MAP theta [P] (see the package
// documentation), then chooses the prior precision as opts.Tuning says. Errors name invalid options, invalid
// option combinations and bad inputs.
func Fit(net *posterior.Network, theta []float32, opts Options) (*Laplace, error) {
	start := time.Now()
	if net == nil {
		return nil, fmt.Errorf("laplace.Fit: nil network")
	}
	o, err := opts.withDefaults(net)
	if err != nil {
		return nil, err
	}
	layout := net.Layout()
	if len(theta) != layout.P {
		return nil, fmt.Errorf("laplace.Fit: the MAP has %d values, the network has P=%d parameters", len(theta), layout.P)
	}
	if err := nets.CheckFinite("MAP", theta, layout.P); err != nil {
		return nil, fmt.Errorf("laplace.Fit: %w", err)
	}
	b := o.Backend
	if b == nil {
		if b, err = backend.New(); err != nil {
			return nil, fmt.Errorf("laplace.Fit: %w", err)
		}
	}
	if o.FitSigma {
		sig, err := posterior.FitNoise(net, theta)
		if err != nil {
			return nil, fmt.Errorf("laplace.Fit: %w", err)
		}
		if net, err = net.WithSigma(sig[0]); err != nil {
			return nil, fmt.Errorf("laplace.Fit: %w", err)
		}
	}
	la := &Laplace{net: net, opts: o, backend: b, theta: append([]float32(nil), theta...), alpha: o.PriorPrecision}
	la.start, la.end = 0, layout.P
	if o.SubsetOfWeights == LastLayer {
		la.start = layout.HeadStart
	}
	for _, v := range theta[la.start:la.end] {
		la.priorNorm2 += float64(v) * float64(v)
	}
	if err := la.computeCurvature(); err != nil {
		return nil, fmt.Errorf("laplace.Fit: %w", err)
	}
	if err := la.decompose(); err != nil {
		return nil, fmt.Errorf("laplace.Fit: %w", err)
	}
	if o.Tuning != TuneNone {
		if _, err := la.TunePriorPrecision(o.Tuning); err != nil {
			return nil, fmt.Errorf("laplace.Fit: %w", err)
		}
	}
	la.fitSeconds = time.Since(start).Seconds()
	return la, nil
}

// MustFit is Fit that panics on error; for notebooks.
func MustFit(net *posterior.Network, theta []float32, opts Options) *Laplace {
	la, err := Fit(net, theta, opts)
	if err != nil {
		panic(err)
	}
	return la
}

// NumParams returns Ps, the number of covered parameters.
func (la *Laplace) NumParams() int { return la.end - la.start }

// Range returns the half-open range [start, end) of θ that the approximation covers.
func (la *Laplace) Range() (start, end int) { return la.start, la.end }

// MAP returns a copy of the MAP θ* [P].
func (la *Laplace) MAP() []float32 { return append([]float32(nil), la.theta...) }

// Network returns the network the approximation was fitted for (with the fitted σ when FitSigma was set).
func (la *Laplace) Network() *posterior.Network { return la.net }

// Options returns the options with the defaults filled in.
func (la *Laplace) Options() Options { return la.opts }

// Sigma returns the Gaussian noise scale used (the network's, or the fitted one).
func (la *Laplace) Sigma() float64 { return la.net.Sigma }

// LogLikelihood returns log p(D | θ*), all normalising constants included.
func (la *Laplace) LogLikelihood() float64 { return la.logLik }

// MAPGradNorm returns ‖∇U(θ*)‖, the gradient norm of the network's potential at the given MAP (with the
// network's own prior precision). The Laplace approximation assumes a stationary point: a value that is not
// small compared with the gradient at initialisation means the MAP was not converged.
func (la *Laplace) MAPGradNorm() float64 { return la.gradNorm }

// FitSeconds returns the wall time of Fit (curvature, decompositions and tuning).
func (la *Laplace) FitSeconds() float64 { return la.fitSeconds }

// chunkSize returns the number of examples per curvature call.
func (la *Laplace) chunkSize(width int) int {
	n := la.net.NumData()
	c := la.opts.ChunkSize
	if c <= 0 {
		k := la.net.Spec.Outputs
		c = max(1, DefaultChunkValues/(k*max(width, 1)))
	}
	return min(c, n)
}

// chunkTensors returns the inputs [C, D], targets ([C, T] float32 or [C] int32) and mask [C] of the rows
// [lo, lo+C) of ds, padded with zero rows (mask 0) past the end.
func chunkTensors(ds *data.Dataset, lo, c int) (x, y, mask *tensors.Tensor) {
	m := min(c, ds.N-lo)
	xs := make([]float32, c*ds.D)
	copy(xs, ds.X[lo*ds.D:(lo+m)*ds.D])
	ms := make([]float32, c)
	for i := 0; i < m; i++ {
		ms[i] = 1
	}
	if ds.Task == data.Regression {
		ys := make([]float32, c*ds.T)
		copy(ys, ds.Y[lo*ds.T:(lo+m)*ds.T])
		y = tensors.FromFlatDataAndDimensions(ys, c, ds.T)
	} else {
		ls := make([]int32, c)
		copy(ls, ds.Labels[lo:lo+m])
		y = tensors.FromFlatDataAndDimensions(ls, c)
	}
	return tensors.FromFlatDataAndDimensions(xs, c, ds.D), y, tensors.FromFlatDataAndDimensions(ms, c)
}

// computeCurvature accumulates log p(D|θ*), its gradient and the GGN in the chosen structure over chunks
// of the training data, in float64 on the host.
func (la *Laplace) computeCurvature() error {
	net, spec, layout := la.net, la.net.Spec, la.net.Layout()
	o, p, ps := spec.Outputs, layout.P, la.NumParams()
	structure, subset := la.opts.HessianStructure, la.opts.SubsetOfWeights
	layers := kronLayers(layout, subset)
	width := p
	if subset == LastLayer {
		width = ps
	}
	c := la.chunkSize(width)
	exec, err := cachedExec(la.key("curvature", c), func() (*Exec, error) {
		ex, err := NewExec(la.backend, func(in []*Node) []*Node {
			theta, x, y, mask := in[0], in[1], in[2], in[3]
			out := Reshape(spec.Forward(theta, x), c, o)
			nll := ReduceAllSum(Mul(net.Likelihood.ExampleNLL(ExpandAxes(out, 0), y, net.Sigma), ExpandAxes(mask, 0)))
			grad := Reshape(Gradient(nll, theta)[0], p)
			l := outputFactor(net.Likelihood, out, mask, net.Sigma) // [C, K, O]
			res := []*Node{nll, grad}
			if structure == Kron {
				forward := func(xr *Node) (inputs, preacts []*Node) {
					if subset == AllWeights {
						return mlpForward(spec, layout, theta, xr)
					}
					cr := xr.Shape().Dimensions[0]
					phi := Reshape(spec.Features(theta, xr), cr, layout.Features)
					return []*Node{phi}, []*Node{Reshape(spec.Head(theta, phi), cr, o)}
				}
				return append(res, kronFactors(forward, x, l, mask)...)
			}
			var v *Node // [C, K, Ps]
			if subset == LastLayer {
				v = headVJP(Reshape(spec.Features(theta, x), c, layout.Features), l)
			} else {
				v = perExampleVJP(spec, theta, x, l)
			}
			if structure == Full {
				return append(res, Einsum("bkp,bkq->pq", v, v))
			}
			return append(res, ReduceSum(Square(v), 0, 1))
		})
		if err != nil {
			return nil, err
		}
		return ex.WithName("laplace.curvature"), nil
	})
	if err != nil {
		return err
	}
	ds := net.Dataset()
	thetaT := tensors.FromFlatDataAndDimensions(la.theta, 1, p)
	grad := make([]float64, p)
	var nll float64
	var full []float64
	var diag []float64
	kronAcc := make([][]float64, 2*len(layers))
	for lo := 0; lo < ds.N; lo += c {
		x, y, mask := chunkTensors(ds, lo, c)
		res, err := exec.Call(thetaT, x, y, mask)
		if err != nil {
			return err
		}
		vals := make([][]float32, len(res))
		for i, r := range res {
			vals[i] = tensors.MustCopyFlatData[float32](r)
			r.FinalizeAll()
		}
		nll += float64(vals[0][0])
		addTo(&grad, vals[1])
		switch structure {
		case Full:
			addTo(&full, vals[2])
		case Diag:
			addTo(&diag, vals[2])
		case Kron:
			for i := range kronAcc {
				addTo(&kronAcc[i], vals[2+i])
			}
		}
	}
	la.logLik = -nll
	var g2 float64
	for i, gi := range grad {
		gi += la.net.PriorPrecision * float64(la.theta[i])
		g2 += gi * gi
	}
	la.gradNorm = math.Sqrt(g2)
	n := float64(ds.N)
	switch structure {
	case Full:
		sym := mat.NewSymDense(ps, nil)
		for i := 0; i < ps; i++ {
			for j := i; j < ps; j++ {
				sym.SetSym(i, j, 0.5*(full[i*ps+j]+full[j*ps+i]))
			}
		}
		la.ggnFull = sym
	case Diag:
		la.ggnDiag = diag
	case Kron:
		off := 0
		for i, l := range layers {
			a := symFromFlat(kronAcc[2*i], l.In+1, 1/n)
			g := symFromFlat(kronAcc[2*i+1], l.Out, 1)
			la.kron = append(la.kron, kronBlock{layer: l, a: a, g: g, offsetInSubset: off})
			off += l.size()
		}
		if off != ps {
			return fmt.Errorf("internal error: Kronecker blocks cover %d of Ps=%d parameters", off, ps)
		}
	}
	return nil
}

// addTo adds v to *acc (allocating it on first use), in float64.
func addTo(acc *[]float64, v []float32) {
	if *acc == nil {
		*acc = make([]float64, len(v))
	}
	for i, x := range v {
		(*acc)[i] += float64(x)
	}
}

// symFromFlat returns scale·(M + Mᵀ)/2 for the row-major n×n matrix m.
func symFromFlat(m []float64, n int, scale float64) *mat.SymDense {
	s := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			s.SetSym(i, j, scale*0.5*(m[i*n+j]+m[j*n+i]))
		}
	}
	return s
}

// eigen returns the eigenvalues (ascending, negative round-off clamped to 0) and eigenvectors (columns) of
// a symmetric positive semi-definite matrix.
func eigen(s *mat.SymDense, what string) ([]float64, *mat.Dense, error) {
	var es mat.EigenSym
	if !es.Factorize(s, true) {
		return nil, nil, fmt.Errorf("the eigendecomposition of the %s did not converge", what)
	}
	vals := es.Values(nil)
	for i, v := range vals {
		if math.IsNaN(v) {
			return nil, nil, fmt.Errorf("the %s has NaN eigenvalues: the curvature overflowed", what)
		}
		if v < 0 {
			vals[i] = 0
		}
	}
	vecs := &mat.Dense{}
	es.VectorsTo(vecs)
	return vals, vecs, nil
}

// eigenvalues returns the eigenvalues (ascending, negative round-off clamped to 0) of a symmetric positive
// semi-definite matrix, without the eigenvectors (about ten times faster than with them in gonum).
func eigenvalues(s *mat.SymDense, what string) ([]float64, error) {
	var es mat.EigenSym
	if !es.Factorize(s, false) {
		return nil, fmt.Errorf("the eigendecomposition of the %s did not converge", what)
	}
	vals := es.Values(nil)
	for i, v := range vals {
		if math.IsNaN(v) {
			return nil, fmt.Errorf("the %s has NaN eigenvalues: the curvature overflowed", what)
		}
		vals[i] = math.Max(v, 0)
	}
	return vals, nil
}

// fullSqrt returns S with S Sᵀ = (GGN + αI)⁻¹ at the current α, computing it once per α: S = L⁻ᵀ for the
// Cholesky factor L Lᵀ = GGN + αI, or, when that factorisation fails, S = V·diag(1/√(max(λ, 0) + α)) from
// the GGN's eigendecomposition. The GGN is positive semi-definite in exact arithmetic, but accumulated in
// float32 over many examples with large curvature (naval's outputs vary by 10⁻³, so σ is tiny and the
// GGN's entries reach 10⁸) its round-off can exceed α in the null directions; the eigenvalues are then
// clamped at 0, as the marginal likelihood does with them.
func (la *Laplace) fullSqrt() *mat.Dense {
	alpha := la.PriorPrecision()
	la.sqrtMu.Lock()
	defer la.sqrtMu.Unlock()
	if la.sqrtFull != nil && la.sqrtAlpha == alpha {
		return la.sqrtFull
	}
	ps := la.NumParams()
	prec := mat.NewSymDense(ps, nil)
	prec.CopySym(la.ggnFull)
	for i := 0; i < ps; i++ {
		prec.SetSym(i, i, prec.At(i, i)+alpha)
	}
	s := mat.NewDense(ps, ps, nil)
	var ch mat.Cholesky
	if ch.Factorize(prec) {
		var l, linv mat.TriDense
		ch.LTo(&l)
		if err := linv.InverseTri(&l); err != nil {
			panic(fmt.Sprintf("laplace: inverting the Cholesky factor of the posterior precision: %v", err))
		}
		s.Copy(linv.T())
	} else {
		vals, vecs, err := eigen(la.ggnFull, "GGN")
		if err != nil { // Fit rejects a non-finite GGN, so this is not expected
			panic(fmt.Sprintf("laplace: the posterior precision GGN + %gI is not positive definite and %v", alpha, err))
		}
		for k, v := range vals {
			c := 1 / math.Sqrt(v+alpha)
			for i := 0; i < ps; i++ {
				s.Set(i, k, vecs.At(i, k)*c)
			}
		}
	}
	la.sqrtFull, la.sqrtAlpha = s, alpha
	return s
}

// decompose eigendecomposes the curvature and lists the GGN's eigenvalues.
func (la *Laplace) decompose() error {
	var err error
	switch la.opts.HessianStructure {
	case Full:
		la.eigVals, err = eigenvalues(la.ggnFull, "GGN")
		la.lambdas = la.eigVals
	case Diag:
		la.lambdas = make([]float64, len(la.ggnDiag))
		for i, v := range la.ggnDiag {
			la.lambdas[i] = math.Max(v, 0)
		}
	case Kron:
		la.lambdas = la.lambdas[:0]
		for i := range la.kron {
			k := &la.kron[i]
			if k.aVals, k.aVecs, err = eigen(k.a, "Kronecker factor A of layer "+k.layer.Name); err != nil {
				return err
			}
			if k.gVals, k.gVecs, err = eigen(k.g, "Kronecker factor G of layer "+k.layer.Name); err != nil {
				return err
			}
			for _, a := range k.aVals {
				for _, g := range k.gVals {
					la.lambdas = append(la.lambdas, a*g)
				}
			}
		}
	}
	for _, v := range la.lambdas {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("the GGN has a non-finite eigenvalue %v: check the MAP and the data", v)
		}
	}
	return err
}

// f32 is the dtype of every computation.
var f32 = dtypes.Float32
