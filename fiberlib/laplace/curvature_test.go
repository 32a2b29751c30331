package laplace_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/laplace"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"gonum.org/v1/gonum/mat"
)

// jacobianFD returns the Jacobian of the network outputs with respect to θ at every input of x [B, D],
// [B][O][P], by central differences in float64 (step 1e-5), and the outputs f(θ) [B][O].
func jacobianFD(t *testing.T, spec nets.Spec, theta []float32, x []float32) (jac [][][]float64, f [][]float64) {
	t.Helper()
	p, d, o := len(theta), spec.InputDim(), spec.Outputs
	b := len(x) / d
	const h = 1e-5
	thetas := make([]float64, (2*p+1)*p)
	for i := 0; i <= 2*p; i++ {
		for j, v := range theta {
			thetas[i*p+j] = float64(v)
		}
		if i < 2*p {
			if i%2 == 0 {
				thetas[i*p+i/2] += h
			} else {
				thetas[i*p+i/2] -= h
			}
		}
	}
	x64 := make([]float64, len(x))
	for i, v := range x {
		x64[i] = float64(v)
	}
	exec, err := NewExec(backend.MustNew(), func(th, xx *Node) *Node { return spec.Forward(th, xx) })
	if err != nil {
		t.Fatal(err)
	}
	res, err := exec.Call(tensors.FromFlatDataAndDimensions(thetas, 2*p+1, p), tensors.FromFlatDataAndDimensions(x64, b, d))
	if err != nil {
		t.Fatal(err)
	}
	out := tensors.MustCopyFlatData[float64](res[0]) // [2P+1, B, O]
	at := func(i, bb, k int) float64 { return out[(i*b+bb)*o+k] }
	jac = make([][][]float64, b)
	f = make([][]float64, b)
	for bb := 0; bb < b; bb++ {
		jac[bb] = make([][]float64, o)
		f[bb] = make([]float64, o)
		for k := 0; k < o; k++ {
			f[bb][k] = at(2*p, bb, k)
			jac[bb][k] = make([]float64, p)
			for j := 0; j < p; j++ {
				jac[bb][k][j] = (at(2*j, bb, k) - at(2*j+1, bb, k)) / (2 * h)
			}
		}
	}
	return jac, f
}

// outputHessian returns Λ [O][O], the Hessian of the example's negative log-likelihood in the outputs f
// (the Fisher for the heteroscedastic likelihood), on the host.
func outputHessian(lik posterior.Likelihood, f []float64, sigma float64) [][]float64 {
	o := len(f)
	l := make([][]float64, o)
	for i := range l {
		l[i] = make([]float64, o)
	}
	switch lik {
	case posterior.GaussianLikelihood:
		for i := range l {
			l[i][i] = 1 / (sigma * sigma)
		}
	case posterior.Bernoulli:
		p := 1 / (1 + math.Exp(-f[0]))
		l[0][0] = p * (1 - p)
	case posterior.Categorical:
		m := math.Inf(-1)
		for _, v := range f {
			m = math.Max(m, v)
		}
		p := make([]float64, o)
		s := 0.0
		for i, v := range f {
			p[i] = math.Exp(v - m)
			s += p[i]
		}
		for i := range p {
			p[i] /= s
		}
		for i := range l {
			for j := range l {
				l[i][j] = -p[i] * p[j]
			}
			l[i][i] += p[i]
		}
	case posterior.Heteroscedastic:
		t := o / 2
		for i := 0; i < t; i++ {
			l[i][i] = math.Exp(-2 * f[t+i])
			l[t+i][t+i] = 2
		}
	}
	return l
}

// ggnReference returns Σ_b J_bᵀ Λ_b J_b [P][P] from finite-difference Jacobians.
func ggnReference(t *testing.T, net *posterior.Network, theta []float32) [][]float64 {
	ds := net.Dataset()
	jac, f := jacobianFD(t, net.Spec, theta, ds.X)
	p := len(theta)
	g := make([][]float64, p)
	for i := range g {
		g[i] = make([]float64, p)
	}
	for b := range jac {
		l := outputHessian(net.Likelihood, f[b], net.Sigma)
		for k := range l {
			for q := range l {
				if l[k][q] == 0 {
					continue
				}
				for i := 0; i < p; i++ {
					for j := 0; j < p; j++ {
						g[i][j] += jac[b][k][i] * l[k][q] * jac[b][q][j]
					}
				}
			}
		}
	}
	return g
}

// maxAbs returns the largest |v| of a matrix.
func maxAbs(m [][]float64) float64 {
	s := 0.0
	for _, r := range m {
		for _, v := range r {
			s = math.Max(s, math.Abs(v))
		}
	}
	return s
}

type curvCase struct {
	name string
	// structures also checks the diagonal and one-example K-FAC structures (the others check the full GGN
	// only, unless -short is off).
	structures bool
	spec       nets.Spec
	ds         *data.Dataset
	opts       posterior.NetworkOptions
}

func curvCases() []curvCase {
	return []curvCase{
		{"gaussian", true, nets.MLP(3, []int{4}, 2, nets.Tanh), func() *data.Dataset {
			a, b := linearData(9, 3, 0.3, 3), linearData(9, 3, 0.3, 4)
			a.T, a.Y = 2, nil
			for i := 0; i < 9; i++ {
				a.Y = append(a.Y, b.Y[i], b.Y[i]*0.5)
			}
			return a
		}(), posterior.NetworkOptions{Sigma: 0.7}},
		{"bernoulli", false, nets.MLP(3, []int{5}, 1, nets.SiLU), classData(9, 3, 2, 5), posterior.NetworkOptions{Likelihood: posterior.Bernoulli}},
		{"categorical", true, nets.MLP(3, []int{4, 3}, 3, nets.Tanh), classData(9, 3, 3, 6), posterior.NetworkOptions{}},
		{"heteroscedastic", false, nets.MLP(3, []int{4}, 2, nets.GELU), linearData(9, 3, 0.3, 7), posterior.NetworkOptions{Likelihood: posterior.Heteroscedastic}},
	}
}

// The full GGN of all weights equals Σ_b J_bᵀ Λ_b J_b with finite-difference Jacobians and the output
// Hessians computed on the host; the diagonal structure equals its diagonal; on a single example, every
// Kronecker block A ⊗ G is the exact diagonal block of the GGN (K-FAC's only approximation is averaging
// over examples). Each likelihood is checked, at a random θ (the GGN does not need a stationary point).
func TestGGNStructures(t *testing.T) {
	for _, c := range curvCases() {
		t.Run(c.name, func(t *testing.T) {
			net, err := posterior.NewNetwork(c.spec, c.ds, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			theta := c.spec.MustInit(8)
			for i := range theta { // non-zero biases
				theta[i] += 0.1 * float32(math.Sin(float64(i)))
			}
			ref := ggnReference(t, net, theta)
			scale := maxAbs(ref)
			opts := laplace.Options{SubsetOfWeights: laplace.AllWeights, Tuning: laplace.TuneNone}
			full := mustFit(t, net, theta, opts, laplace.Full)
			g, _ := full.GGN()
			p := len(theta)
			worst := 0.0
			for i := 0; i < p; i++ {
				for j := 0; j < p; j++ {
					worst = math.Max(worst, math.Abs(g[i*p+j]-ref[i][j])/scale)
				}
			}
			t.Logf("full GGN vs finite differences: max error %.2e of the largest entry %.3g", worst, scale)
			if worst > 1e-4 {
				t.Errorf("full GGN differs from Σ JᵀΛJ by %.2e (relative to the largest entry)", worst)
			}
			if !c.structures && testing.Short() {
				return
			}
			diag := mustFit(t, net, theta, opts, laplace.Diag).GGNDiagonal()
			fd := full.GGNDiagonal()
			for i := range diag {
				if math.Abs(diag[i]-fd[i]) > 1e-5*scale {
					t.Errorf("diag GGN[%d] = %g, full GGN's diagonal %g", i, diag[i], fd[i])
				}
			}
			// One example: K-FAC blocks are exact.
			one, err := posterior.SubsetRows(c.ds, []int{2})
			if err != nil {
				t.Fatal(err)
			}
			net1, err := net.WithData(one)
			if err != nil {
				t.Fatal(err)
			}
			g1, _ := mustFit(t, net1, theta, opts, laplace.Full).GGN()
			k1, _ := mustFit(t, net1, theta, opts, laplace.Kron).GGN()
			scale1 := 0.0
			for _, v := range g1 {
				scale1 = math.Max(scale1, math.Abs(v))
			}
			layout := net.Layout()
			inBlock := func(i, j int) bool {
				for _, tt := range layout.Tensors {
					if !tt.Bias {
						continue
					}
					lo, _, _ := layout.Range(tt.Layer)
					hi := tt.Offset + tt.Size
					if i >= lo && i < hi {
						return j >= lo && j < hi
					}
				}
				return false
			}
			for i := 0; i < p; i++ {
				for j := 0; j < p; j++ {
					want := 0.0
					if inBlock(i, j) {
						want = g1[i*p+j]
					}
					if math.Abs(k1[i*p+j]-want) > 1e-5*scale1 {
						t.Fatalf("one example: Kronecker GGN[%d][%d] = %g, want the exact block entry %g", i, j, k1[i*p+j], want)
					}
				}
			}
		})
	}
}

func mustFit(t *testing.T, net *posterior.Network, theta []float32, opts laplace.Options, s laplace.HessianStructure) *laplace.Laplace {
	t.Helper()
	opts.HessianStructure = s
	la, err := laplace.Fit(net, theta, opts)
	if err != nil {
		t.Fatal(err)
	}
	return la
}

// The last-layer Laplace of a network with a hidden layer is Bayesian linear regression on the network's
// features [φ(x), 1] (computed on the host): same covariance, same evidence (the log likelihood of the whole
// network at θ* plus the head's prior terms), and the linearised predictive variance is φ̃ᵀ Σ φ̃ + σ².
// K-FAC on the last layer is exact too for a Gaussian likelihood.
func TestLastLayerIsBLROnFeatures(t *testing.T) {
	const n, d, h, sigma, alpha = 50, 2, 6, 0.3, 1.5
	ds := linearData(n, d, sigma, 9)
	spec := nets.MLP(d, []int{h}, 1, nets.Tanh)
	theta := spec.MustInit(3)
	layout := spec.MustLayout()
	w, _ := layout.Unflatten(theta)
	feats := func(x []float32) *mat.Dense {
		m := len(x) / d
		phi := mat.NewDense(m, h+1, nil)
		for i := 0; i < m; i++ {
			for j := 0; j < h; j++ {
				s := float64(w["dense0/bias"][j])
				for k := 0; k < d; k++ {
					s += float64(x[i*d+k]) * float64(w["dense0/weights"][k*h+j])
				}
				phi.Set(i, j, math.Tanh(s))
			}
			phi.Set(i, h, 1)
		}
		return phi
	}
	phi := feats(ds.X)
	y := make([]float64, n)
	for i := range y {
		y[i] = float64(ds.Y[i])
	}
	ref := newBLR(phi, y, sigma, alpha)
	for i, m := range ref.mean {
		theta[layout.HeadStart+i] = float32(m)
	}
	net, err := posterior.NewNetwork(spec, ds, posterior.NetworkOptions{Sigma: sigma, PriorPrecision: alpha})
	if err != nil {
		t.Fatal(err)
	}
	xt := []float32{-3, 0.5, 0, 0, 1.2, -0.7, 4, 4}
	phiT := feats(xt)
	for _, s := range []laplace.HessianStructure{laplace.Full, laplace.Kron} {
		la := mustFit(t, net, theta, laplace.Options{Tuning: laplace.TuneNone}, s)
		if st, en := la.Range(); st != layout.HeadStart || en != layout.P {
			t.Fatalf("last-layer range [%d, %d), want [%d, %d)", st, en, layout.HeadStart, layout.P)
		}
		cov, _ := la.Covariance()
		checkCov(t, "last layer "+string(s), cov, ref.cov, 1e-4)
		if e := relErr(la.LogMarginalLikelihood(), ref.logEv, 1); e > 1e-4 {
			t.Errorf("%s: log marglik %.6f, BLR evidence on the features %.6f", s, la.LogMarginalLikelihood(), ref.logEv)
		}
		pred, err := la.Predictive(xt, laplace.PredictOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 4; i++ {
			row := phiT.RawRowView(i)
			v := sigma * sigma
			mean := 0.0
			for a := range row {
				mean += row[a] * ref.mean[a]
				for b := range row {
					v += row[a] * ref.cov.At(a, b) * row[b]
				}
			}
			if e := relErr(float64(pred.Regression.Sigmas[i]), math.Sqrt(v), 0); e > 1e-4 {
				t.Errorf("%s: GLM predictive std at x%d = %.6f, closed form %.6f", s, i, pred.Regression.Sigmas[i], math.Sqrt(v))
			}
			if math.Abs(float64(pred.Regression.Means[i])-mean) > 1e-4*(1+math.Abs(mean)) {
				t.Errorf("%s: GLM predictive mean at x%d = %.6f, closed form %.6f", s, i, pred.Regression.Means[i], mean)
			}
		}
	}
}

// The linearised output covariance J Σ Jᵀ equals the host product with finite-difference Jacobians and the
// dense covariance, for every structure on all weights and on the last layer (a classifier, so that the
// output covariance is a full C×C matrix).
func TestFunctionalMoments(t *testing.T) {
	ds := classData(20, 3, 3, 13)
	spec := nets.MLP(3, []int{4}, 3, nets.Tanh)
	net, err := posterior.NewNetwork(spec, ds, posterior.NetworkOptions{PriorPrecision: 0.7})
	if err != nil {
		t.Fatal(err)
	}
	theta := spec.MustInit(21)
	xt := []float32{0.3, -1, 2, 0, 0, 0, -2, 1.5, 0.4}
	jac, f := jacobianFD(t, spec, theta, xt)
	o := spec.Outputs
	for _, subset := range []laplace.SubsetOfWeights{laplace.AllWeights, laplace.LastLayer} {
		for _, s := range []laplace.HessianStructure{laplace.Full, laplace.Diag, laplace.Kron} {
			if testing.Short() && ((subset == laplace.LastLayer && s != laplace.Full) || s == laplace.Diag) {
				continue // short: the last-layer Kronecker GLM predictive is also checked against BLR's closed form
			}
			t.Run(fmt.Sprintf("%s-%s", subset, s), func(t *testing.T) {
				la := mustFit(t, net, theta, laplace.Options{SubsetOfWeights: subset, Tuning: laplace.TuneNone}, s)
				cov, _ := la.Covariance()
				st, en := la.Range()
				ps := en - st
				mean, fc, err := la.FunctionalMoments(xt)
				if err != nil {
					t.Fatal(err)
				}
				for b := range jac {
					for k := 0; k < o; k++ {
						if math.Abs(float64(mean[b*o+k])-f[b][k]) > 1e-5 {
							t.Errorf("mean[%d][%d] = %g, f = %g", b, k, mean[b*o+k], f[b][k])
						}
						for q := 0; q < o; q++ {
							want := 0.0
							for i := 0; i < ps; i++ {
								for j := 0; j < ps; j++ {
									want += jac[b][k][st+i] * cov[i*ps+j] * jac[b][q][st+j]
								}
							}
							if got := float64(fc[(b*o+k)*o+q]); math.Abs(got-want) > 1e-4*(math.Abs(want)+1e-2) {
								t.Errorf("J Σ Jᵀ [%d][%d][%d] = %.6g, host %.6g", b, k, q, got, want)
							}
						}
					}
				}
			})
		}
	}
}
