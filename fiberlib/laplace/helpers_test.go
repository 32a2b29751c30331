package laplace_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/internal/gloop"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"gonum.org/v1/gonum/mat"
)

// linearData returns n rows of y = x·w + 0.3 + noise with d standard-normal features.
func linearData(n, d int, noise float64, seed uint64) *data.Dataset {
	rng := rand.New(rand.NewPCG(seed, 11))
	ds := &data.Dataset{Name: "linear", Task: data.Regression, N: n, D: d, T: 1}
	for i := 0; i < n; i++ {
		y := 0.3
		for j := 0; j < d; j++ {
			x := rng.NormFloat64()
			y += x * (0.5 + float64(j))
			ds.X = append(ds.X, float32(x))
		}
		ds.Y = append(ds.Y, float32(y+noise*rng.NormFloat64()))
	}
	return ds
}

// classData returns n rows with d standard-normal features and labels from a noisy linear score.
func classData(n, d, classes int, seed uint64) *data.Dataset {
	rng := rand.New(rand.NewPCG(seed, 12))
	ds := &data.Dataset{Name: "classes", Task: data.Classification, N: n, D: d, Classes: classes}
	for i := 0; i < n; i++ {
		s := 0.0
		for j := 0; j < d; j++ {
			x := rng.NormFloat64()
			s += x * float64(j+1)
			ds.X = append(ds.X, float32(x))
		}
		c := int(math.Floor(s+rng.NormFloat64())) % classes
		if c < 0 {
			c += classes
		}
		ds.Labels = append(ds.Labels, int32(c))
	}
	return ds
}

// blr is the closed-form Bayesian linear regression on features φ [n, F] (the bias feature included by the
// caller), in float64: posterior precision A = αI + ΦᵀΦ/σ², mean A⁻¹Φᵀy/σ², covariance A⁻¹, and the
// log evidence log N(y; 0, σ²I + ΦΦᵀ/α).
type blr struct {
	mean  []float64
	cov   *mat.Dense
	logEv float64
}

func newBLR(phi *mat.Dense, y []float64, sigma, alpha float64) *blr {
	n, f := phi.Dims()
	var a mat.SymDense
	a.SymOuterK(1/(sigma*sigma), phi.T())
	for i := 0; i < f; i++ {
		a.SetSym(i, i, a.At(i, i)+alpha)
	}
	var chol mat.Cholesky
	if !chol.Factorize(&a) {
		panic("blr: A not positive definite")
	}
	var cov mat.SymDense
	if err := chol.InverseTo(&cov); err != nil {
		panic(err)
	}
	yv := mat.NewVecDense(n, y)
	var rhs, mean mat.VecDense
	rhs.MulVec(phi.T(), yv)
	rhs.ScaleVec(1/(sigma*sigma), &rhs)
	mean.MulVec(&cov, &rhs)
	var c mat.SymDense
	c.SymOuterK(1/alpha, phi)
	for i := 0; i < n; i++ {
		c.SetSym(i, i, c.At(i, i)+sigma*sigma)
	}
	var cc mat.Cholesky
	if !cc.Factorize(&c) {
		panic("blr: C not positive definite")
	}
	var sol mat.VecDense
	if err := cc.SolveVecTo(&sol, yv); err != nil {
		panic(err)
	}
	logEv := -0.5*mat.Dot(yv, &sol) - 0.5*cc.LogDet() - float64(n)/2*math.Log(2*math.Pi)
	return &blr{mean: mean.RawVector().Data, cov: mat.DenseCopyOf(&cov), logEv: logEv}
}

// linearFeatures returns [x, 1] for a data set (the features of a network without hidden layers, in nets'
// parameter order: weights then bias).
func linearFeatures(ds *data.Dataset) (*mat.Dense, []float64) {
	phi := mat.NewDense(ds.N, ds.D+1, nil)
	y := make([]float64, ds.N)
	for i := 0; i < ds.N; i++ {
		for j := 0; j < ds.D; j++ {
			phi.Set(i, j, float64(ds.X[i*ds.D+j]))
		}
		phi.Set(i, ds.D, 1)
		y[i] = float64(ds.Y[i])
	}
	return phi, y
}

// fitMAP minimises the network's potential U from init by full-batch Adam on U/n (learning rate lr) for
// steps steps, all in one compiled call, and returns θ [P].
func fitMAP(t testing.TB, net *posterior.Network, init []float32, steps int, lr float64) []float32 {
	t.Helper()
	b := backend.MustNew()
	p, n := net.NumParams(), float64(net.NumData())
	exec, err := NewExec(b, func(in []*Node) []*Node {
		// The Adam moments start from zero tensors passed in: a scalar constant created here would be cached
		// by the graph and then wrongly reused inside the While body (GoMLX v0.28.2).
		theta, m0, v0, data := in[0], in[1], in[2], in[3:]
		st := gloop.Repeat(steps, gloop.UseWhile(b), data, []*Node{theta, m0, v0}, func(step *Node, c, s []*Node) []*Node {
			_, g := posterior.PotentialAndGrad(net, s[0], c)
			g = MulScalar(g, 1/n)
			m := Add(MulScalar(s[1], 0.9), MulScalar(g, 0.1))
			v := Add(MulScalar(s[2], 0.999), MulScalar(Square(g), 0.001))
			k := ConvertDType(AddScalar(step, 1), theta.DType())
			mh := Div(m, OneMinus(Pow(Scalar(theta.Graph(), theta.DType(), 0.9), k)))
			vh := Div(v, OneMinus(Pow(Scalar(theta.Graph(), theta.DType(), 0.999), k)))
			th := Sub(s[0], MulScalar(Div(mh, AddScalar(Sqrt(vh), 1e-8)), lr))
			return []*Node{th, m, v}
		})
		return st[:1]
	})
	if err != nil {
		t.Fatal(err)
	}
	args := []any{tensors.FromFlatDataAndDimensions(append([]float32(nil), init...), 1, p),
		tensors.FromFlatDataAndDimensions(make([]float32, p), 1, p), tensors.FromFlatDataAndDimensions(make([]float32, p), 1, p)}
	for _, d := range net.Data() {
		args = append(args, d)
	}
	res, err := exec.Call(args...)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](res[0])
}

// relErr returns |got − want| / max(|want|, floor).
func relErr(got, want, floor float64) float64 {
	return math.Abs(got-want) / math.Max(math.Abs(want), floor)
}
