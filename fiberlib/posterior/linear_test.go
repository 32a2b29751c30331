package posterior_test

import (
	"math"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// cholesky returns the lower factor L of a symmetric positive definite matrix (L Lᵀ = a).
func cholesky(a [][]float64) [][]float64 {
	n := len(a)
	l := make([][]float64, n)
	for i := range l {
		l[i] = make([]float64, n)
	}
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			s := a[i][j]
			for k := 0; k < j; k++ {
				s -= l[i][k] * l[j][k]
			}
			if i == j {
				l[i][i] = math.Sqrt(s)
			} else {
				l[i][j] = s / l[j][j]
			}
		}
	}
	return l
}

// cholSolve solves (L Lᵀ) x = b.
func cholSolve(l [][]float64, b []float64) []float64 {
	n := len(b)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		s := b[i]
		for k := 0; k < i; k++ {
			s -= l[i][k] * y[k]
		}
		y[i] = s / l[i][i]
	}
	x := make([]float64, n)
	for i := n - 1; i >= 0; i-- {
		s := y[i]
		for k := i + 1; k < n; k++ {
			s -= l[k][i] * x[k]
		}
		x[i] = s / l[i][i]
	}
	return x
}

func logDetChol(l [][]float64) float64 {
	s := 0.0
	for i := range l {
		s += 2 * math.Log(l[i][i])
	}
	return s
}

// blr is the closed-form Bayesian linear regression posterior of a network without hidden layers
// (θ = [w_1..w_D, b], features φ(x) = [x, 1]), noise σ, prior precision α.
type blr struct {
	a      [][]float64 // posterior precision αI + ΦᵀΦ/σ²
	mean   []float64
	logEv  float64 // log p(y) = log N(y; 0, σ²I + ΦΦᵀ/α)
	chol   [][]float64
	p      int
	sigma2 float64
}

func newBLR(x, y []float32, n, d int, sigma, alpha float64) *blr {
	p := d + 1
	phi := func(i, j int) float64 {
		if j == d {
			return 1
		}
		return float64(x[i*d+j])
	}
	r := &blr{p: p, sigma2: sigma * sigma}
	r.a = make([][]float64, p)
	rhs := make([]float64, p)
	for j := 0; j < p; j++ {
		r.a[j] = make([]float64, p)
		for k := 0; k < p; k++ {
			for i := 0; i < n; i++ {
				r.a[j][k] += phi(i, j) * phi(i, k) / r.sigma2
			}
		}
		r.a[j][j] += alpha
		for i := 0; i < n; i++ {
			rhs[j] += phi(i, j) * float64(y[i]) / r.sigma2
		}
	}
	r.chol = cholesky(r.a)
	r.mean = cholSolve(r.chol, rhs)
	c := make([][]float64, n)
	yy := make([]float64, n)
	for i := 0; i < n; i++ {
		c[i] = make([]float64, n)
		for k := 0; k < n; k++ {
			for j := 0; j < p; j++ {
				c[i][k] += phi(i, j) * phi(k, j) / alpha
			}
		}
		c[i][i] += r.sigma2
		yy[i] = float64(y[i])
	}
	lc := cholesky(c)
	r.logEv = -0.5*dotF(yy, cholSolve(lc, yy)) - 0.5*logDetChol(lc) - float64(n)/2*math.Log(2*math.Pi)
	return r
}

func dotF(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// potential returns −log N(θ; mean, A⁻¹) − log p(y), which must equal U(θ) exactly.
func (r *blr) potential(theta []float32) float64 {
	d := make([]float64, r.p)
	for i := range d {
		d[i] = float64(theta[i]) - r.mean[i]
	}
	q := 0.0
	for i := range d {
		for j := range d {
			q += d[i] * r.a[i][j] * d[j]
		}
	}
	return 0.5*q - 0.5*logDetChol(r.chol) + float64(r.p)/2*math.Log(2*math.Pi) - r.logEv
}

// A network without hidden layers and a Gaussian likelihood is Bayesian linear regression: U(θ) equals
// −log N(θ; μ_N, A⁻¹) − log p(D) with the closed-form posterior and evidence, at the mean and away from it.
// Its Hessian is A: HVP gives A·v, TopEigen the eigenvalues of A, LossSlice the exact quadratic.
func TestLinearGaussianIsBayesianLinearRegression(t *testing.T) {
	const n, d, sigma, alpha = 15, 2, 0.4, 2.0
	ds := regressionData(n, d, 1, 21)
	net, err := posterior.NewNetwork(nets.MLP(d, nil, 1, nets.Identity), ds, posterior.NetworkOptions{Sigma: sigma, PriorPrecision: alpha})
	if err != nil {
		t.Fatal(err)
	}
	ref := newBLR(ds.X, ds.Y, n, d, sigma, alpha)
	ev, _ := posterior.NewEvaluator(backend.MustNew(), net)
	mean := make([]float32, 3)
	for i := range mean {
		mean[i] = float32(ref.mean[i])
	}
	pts := [][]float32{mean, {0, 0, 0}, {0.5, -1, 2}, {-0.3, 0.8, 0.1}}
	var flat []float32
	for _, p := range pts {
		flat = append(flat, p...)
	}
	u, g, err := ev.PotentialAndGrad(flat)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pts {
		want := ref.potential(p)
		if math.Abs(float64(u[i])-want) > 2e-5*(1+math.Abs(want)) {
			t.Errorf("U(%v) = %.6f, closed form %.6f", p, u[i], want)
		}
	}
	// At the posterior mean the gradient vanishes (up to float32 rounding of the mean).
	for j := 0; j < 3; j++ {
		if math.Abs(float64(g[j])) > 2e-3 {
			t.Errorf("grad at the posterior mean [%d] = %g", j, g[j])
		}
	}
	// HVP = A v.
	v := []float32{1, -2, 0.5, 0.3, 0.7, -1}
	hv, err := ev.HVP(append(append([]float32(nil), pts[2]...), pts[3]...), v)
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < 2; r++ {
		for i := 0; i < 3; i++ {
			want := 0.0
			for j := 0; j < 3; j++ {
				want += ref.a[i][j] * float64(v[r*3+j])
			}
			if math.Abs(float64(hv[r*3+i])-want) > 1e-4*(1+math.Abs(want)) {
				t.Errorf("HVP[%d][%d] = %g, want %g", r, i, hv[r*3+i], want)
			}
		}
	}
	// TopEigen with k = P finds every eigenpair: A y = λ y, and Σλ = tr A.
	eig, err := posterior.TopEigen(ev, pts[2], 3, posterior.EigenOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	trace := ref.a[0][0] + ref.a[1][1] + ref.a[2][2]
	if s := eig.Values[0] + eig.Values[1] + eig.Values[2]; math.Abs(s-trace) > 1e-4*trace || !eig.Converged {
		t.Errorf("eigenvalues %v sum to %g, trace %g (converged %v)", eig.Values, s, trace, eig.Converged)
	}
	for k := 0; k < 3; k++ {
		y := eig.Vector(k)
		for i := 0; i < 3; i++ {
			ay := 0.0
			for j := 0; j < 3; j++ {
				ay += ref.a[i][j] * float64(y[j])
			}
			if math.Abs(ay-eig.Values[k]*float64(y[i])) > 1e-4*eig.Values[0] {
				t.Errorf("eigenpair %d: (A y)[%d] = %g, λ y = %g", k, i, ay, eig.Values[k]*float64(y[i]))
			}
		}
	}
	// LossSlice: U(μ + a u + b v) = U(μ) + ½ (a u + b v)ᵀ A (a u + b v).
	du, dv := posterior.RandomDirection(3, 1), posterior.RandomDirection(3, 2)
	as, bs := posterior.Linspace(-1, 1, 5), posterior.Linspace(-0.5, 0.5, 3)
	s, err := posterior.LossSlice(ev, mean, du, dv, as, bs)
	if err != nil {
		t.Fatal(err)
	}
	u0 := ref.potential(mean)
	for j, b := range bs {
		for i, a := range as {
			w := make([]float64, 3)
			for k := range w {
				w[k] = a*float64(du[k]) + b*float64(dv[k])
			}
			q := 0.0
			for k := range w {
				for l := range w {
					q += w[k] * ref.a[k][l] * w[l]
				}
			}
			if want := u0 + q/2; math.Abs(s.U[j][i]-want) > 2e-5*(1+math.Abs(want)) {
				t.Errorf("slice (a=%g, b=%g) = %g, want %g", a, b, s.U[j][i], want)
			}
		}
	}
}

// HVP of a non-linear network matches central differences of its gradient: one compiled call per case
// computes H·v at θ and ∇U at θ ± h·v. (The two-conv-layer CNN case is left out: compiling its second-order
// graph takes XLA ~10 s; the one-conv-layer case covers convolution and pooling.)
func TestHVPMatchesGradientDifferences(t *testing.T) {
	b := backend.MustNew()
	for _, c := range netCases() {
		if c.name == "categorical-cnn" {
			continue
		}
		net := posterior.MustNewNetwork(c.spec, c.ds, c.opts)
		p := net.NumParams()
		theta := c.spec.MustInit(4)
		v := posterior.RandomDirection(p, 7)
		const h = 1e-3 // small enough not to cross the kinks of max pooling
		exec := MustNewExec(b, func(in []*Node) (*Node, *Node) {
			th, dir, data := in[0], in[1], in[2:]
			hv := posterior.HVP(net, th, dir, data)
			pm := Concatenate([]*Node{Add(th, MulScalar(dir, h)), Sub(th, MulScalar(dir, h))}, 0)
			_, g := posterior.PotentialAndGrad(net, pm, data)
			return hv, g
		})
		args := []any{tensors.FromFlatDataAndDimensions(theta, 1, p), tensors.FromFlatDataAndDimensions(v, 1, p)}
		for _, d := range net.Data() {
			args = append(args, d)
		}
		res := exec.MustCall(args...)
		hv, g := tensors.MustCopyFlatData[float32](res[0]), tensors.MustCopyFlatData[float32](res[1])
		var num, den float64
		for j := 0; j < p; j++ {
			fd := float64(g[j]-g[p+j]) / (2 * h)
			num += (fd - float64(hv[j])) * (fd - float64(hv[j]))
			den += float64(hv[j]) * float64(hv[j])
		}
		if rel := math.Sqrt(num / den); rel > 5e-3 {
			t.Errorf("%s: ‖HVP − FD‖/‖HVP‖ = %.3g > 5e-3", c.name, rel)
		}
	}
}

// TopEigen on an analytic Gaussian target recovers the leading eigenvalues of its precision.
func TestTopEigenOnGaussian(t *testing.T) {
	const p = 12
	lambdas := []float64{50, 20, 10, 3, 2, 1, 1, 0.5, 0.5, 0.2, 0.1, 0.1}
	// A = H diag(λ) H with the Householder reflection H = I − 2 w wᵀ.
	w := posterior.RandomDirection(p, 3)
	prec := make([][]float32, p)
	hm := func(i, j int) float64 {
		v := -2 * float64(w[i]) * float64(w[j])
		if i == j {
			v++
		}
		return v
	}
	for i := range prec {
		prec[i] = make([]float32, p)
		for j := range prec[i] {
			s := 0.0
			for k := 0; k < p; k++ {
				s += hm(i, k) * lambdas[k] * hm(k, j)
			}
			prec[i][j] = float32(s)
		}
	}
	g, _ := posterior.NewGaussian(make([]float32, p), prec)
	ev, _ := posterior.NewEvaluator(backend.MustNew(), g)
	eig, err := posterior.TopEigen(ev, make([]float32, p), 3, posterior.EigenOptions{Seed: 5, Iterations: 500})
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 3; k++ {
		if math.Abs(eig.Values[k]-lambdas[k]) > 1e-3*lambdas[k] {
			t.Errorf("λ_%d = %g, want %g", k, eig.Values[k], lambdas[k])
		}
		// The eigenvector is ± column k of H.
		dotv := 0.0
		for i := 0; i < p; i++ {
			dotv += float64(eig.Vector(k)[i]) * hm(i, k)
		}
		if math.Abs(math.Abs(dotv)-1) > 1e-3 {
			t.Errorf("eigenvector %d: |⟨y, h_k⟩| = %g, want 1", k, math.Abs(dotv))
		}
	}
	t.Logf("top-3 eigenvalues %v after %d iterations (converged %v)", eig.Values, eig.Iterations, eig.Converged)
}
