package laplace

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/gomlx/gomlx/core/tensors"
	"gonum.org/v1/gonum/mat"
)

// For every structure: S Sᵀ (GGN + αI) = I on the host (so Covariance is the inverse posterior precision),
// and the compiled sampler maps z = e_i to θ* + S e_i (so samples have covariance S Sᵀ = Σ, on the covered
// weights only).
func TestSquareRootOfCovariance(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ds := &data.Dataset{Name: "r", Task: data.Classification, N: 15, D: 2, Classes: 3}
	for i := 0; i < ds.N; i++ {
		ds.X = append(ds.X, float32(rng.NormFloat64()), float32(rng.NormFloat64()))
		ds.Labels = append(ds.Labels, int32(i%3))
	}
	spec := nets.MLP(2, []int{3}, 3, nets.Tanh)
	net, err := posterior.NewNetwork(spec, ds, posterior.NetworkOptions{PriorPrecision: 0.8})
	if err != nil {
		t.Fatal(err)
	}
	theta := spec.MustInit(4)
	for _, subset := range []SubsetOfWeights{AllWeights, LastLayer} {
		for _, s := range []HessianStructure{Full, Diag, Kron} {
			if testing.Short() && (subset == AllWeights) != (s != Full) {
				continue // short: all weights with Diag and Kron, the last layer with Full
			}
			la, err := Fit(net, theta, Options{SubsetOfWeights: subset, HessianStructure: s, Tuning: TuneNone})
			if err != nil {
				t.Fatal(err)
			}
			ps := la.NumParams()
			cov, _ := la.Covariance()
			g, _ := la.GGN()
			for i := 0; i < ps; i++ {
				for j := 0; j < ps; j++ {
					v := 0.0
					for k := 0; k < ps; k++ {
						prec := g[k*ps+j]
						if k == j {
							prec += 0.8
						}
						v += cov[i*ps+k] * prec
					}
					want := 0.0
					if i == j {
						want = 1
					}
					if math.Abs(v-want) > 1e-6 {
						t.Fatalf("%s/%s: (Σ·(GGN+αI))[%d][%d] = %g, want %g", subset, s, i, j, v, want)
					}
				}
			}
			ex, err := la.sampleExec()
			if err != nil {
				t.Fatal(err)
			}
			eye := make([]float32, ps*ps)
			for i := 0; i < ps; i++ {
				eye[i*ps+i] = 1
			}
			args := []any{tensors.FromFlatDataAndDimensions(theta, len(theta)), tensors.FromFlatDataAndDimensions(eye, ps, ps)}
			for _, tt := range la.sqrtParams() {
				args = append(args, tt)
			}
			res, err := ex.Call(args...)
			if err != nil {
				t.Fatal(err)
			}
			out := tensors.MustCopyFlatData[float32](res[0])
			sd := la.sqrtDense()
			st, en := la.Range()
			p := len(theta)
			for i := 0; i < ps; i++ {
				for j := 0; j < p; j++ {
					want := 0.0
					if j >= st && j < en {
						want = sd.At(j-st, i)
					}
					if got := float64(out[i*p+j] - theta[j]); math.Abs(got-want) > 1e-5*(1+math.Abs(want)) {
						t.Fatalf("%s/%s: sample(e_%d)[%d] − θ* = %g, want S[%d][%d] = %g", subset, s, i, j, got, j-st, i, want)
					}
				}
			}
			var ss mat.Dense
			ss.Mul(sd, sd.T())
			if math.Abs(ss.At(0, 0)-cov[0]) > 1e-12 {
				t.Fatalf("S Sᵀ and Covariance disagree")
			}
		}
	}
}

// A GGN whose float32 round-off made it indefinite beyond α (as on one naval split: "GGN + 1.01·I is not
// positive definite") gets S from its eigendecomposition with the negative eigenvalue clamped at 0: S Sᵀ
// equals (V·diag(max(λ, 0) + α)·Vᵀ)⁻¹, and the diagonal of Σ is finite, instead of a panic.
func TestFullSqrtClampsAnIndefiniteGGN(t *testing.T) {
	const ps, alpha = 4, 0.5
	// GGN = Q·diag(9, 4, 1, −2)·Qᵀ for a rotation Q.
	q := mat.NewDense(ps, ps, nil)
	var qr mat.QR
	rng := rand.New(rand.NewPCG(3, 4))
	a := mat.NewDense(ps, ps, nil)
	for i := 0; i < ps; i++ {
		for j := 0; j < ps; j++ {
			a.Set(i, j, rng.NormFloat64())
		}
	}
	qr.Factorize(a)
	qr.QTo(q)
	lam := []float64{9, 4, 1, -2}
	g := mat.NewSymDense(ps, nil)
	for i := 0; i < ps; i++ {
		for j := i; j < ps; j++ {
			v := 0.0
			for k := range lam {
				v += q.At(i, k) * lam[k] * q.At(j, k)
			}
			g.SetSym(i, j, v)
		}
	}
	la := &Laplace{ggnFull: g, alpha: alpha, start: 0, end: ps, opts: Options{HessianStructure: Full}}
	s := la.fullSqrt()
	var cov mat.Dense
	cov.Mul(s, s.T())
	for i := 0; i < ps; i++ {
		for j := 0; j < ps; j++ {
			want := 0.0
			for k := range lam {
				want += q.At(i, k) * q.At(j, k) / (math.Max(lam[k], 0) + alpha)
			}
			if math.Abs(cov.At(i, j)-want) > 1e-10 {
				t.Fatalf("Σ[%d][%d] = %g, want %g (clamped eigenvalues)", i, j, cov.At(i, j), want)
			}
		}
	}
	for i, v := range la.PosteriorVariance() {
		if !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("posterior variance[%d] = %g", i, v)
		}
	}
}
