package posterior

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	. "github.com/gomlx/gomlx/core/graph"
)

// HVP returns the Hessian-vector products ∇²U(θᵢ) vᵢ [N, P] for theta and v [N, P], by differentiating
// ⟨∇U(θ), v⟩ once more (GoMLX differentiates its own gradient graphs: exact second-order reverse mode, no
// finite differences). Because particles are independent, row i only involves θᵢ and vᵢ.
func HVP(t Target, theta, v *Node, data []*Node) *Node {
	_, g := PotentialAndGrad(t, theta, data)
	return Gradient(ReduceAllSum(Mul(g, StopGradient(v))), theta)[0]
}

// EigenOptions configure TopEigen.
type EigenOptions struct {
	// Iterations is the maximum number of subspace iterations (default 200).
	Iterations int
	// Tolerance stops the iteration when every Ritz value λᵢ changes by less than Tolerance·|λᵢ| in one
	// iteration (values below 1e-6 of the largest count as 1e-6 of the largest) (default 1e-5).
	Tolerance float64
	// Seed seeds the random start vectors.
	Seed uint64
}

// Eigen holds the k leading eigenpairs of a Hessian.
type Eigen struct {
	// Values in decreasing order.
	Values []float64
	// Vectors, row-major [k, P], unit length, in the order of Values.
	Vectors []float32
	// Iterations used; Converged reports whether Tolerance was met.
	Iterations int
	Converged  bool
}

// Vector returns eigenvector i (a view).
func (e *Eigen) Vector(i int) []float32 {
	p := len(e.Vectors) / len(e.Values)
	return e.Vectors[i*p : (i+1)*p]
}

// TopEigen returns the k largest eigenvalues of the Hessian ∇²U(θ) at one parameter vector theta [P], and
// their eigenvectors, by subspace (block power) iteration with Rayleigh–Ritz: each iteration is one
// compiled call computing the k Hessian-vector products at once (θ repeated on the particle axis), then a
// Gram–Schmidt orthonormalisation of the k vectors on the host. It finds the eigenvalues of largest
// magnitude; at a minimum the Hessian is positive semi-definite, so these are the largest.
func TopEigen(ev *Evaluator, theta []float32, k int, opts EigenOptions) (*Eigen, error) {
	p := ev.target.NumParams()
	if len(theta) != p {
		return nil, fmt.Errorf("posterior.TopEigen: theta has %d values, want P=%d (one vector)", len(theta), p)
	}
	if k < 1 || k > p {
		return nil, fmt.Errorf("posterior.TopEigen: k=%d, want 1 <= k <= P=%d", k, p)
	}
	if opts.Iterations == 0 {
		opts.Iterations = 200
	}
	if opts.Tolerance == 0 {
		opts.Tolerance = 1e-5
	}
	if opts.Iterations < 1 || opts.Tolerance < 0 {
		return nil, fmt.Errorf("posterior.TopEigen: Iterations=%d, Tolerance=%g: want >= 1 and >= 0", opts.Iterations, opts.Tolerance)
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5eed))
	thetas := make([]float32, k*p)
	v := make([][]float64, k)
	for i := range v {
		copy(thetas[i*p:], theta)
		v[i] = make([]float64, p)
		for j := range v[i] {
			v[i][j] = rng.NormFloat64()
		}
	}
	orthonormalize(v)
	flat := make([]float32, k*p)
	var vals []float64
	res := &Eigen{}
	for it := 1; it <= opts.Iterations; it++ {
		for i := range v {
			for j, x := range v[i] {
				flat[i*p+j] = float32(x)
			}
		}
		hv32, err := ev.HVP(thetas, flat)
		if err != nil {
			return nil, fmt.Errorf("posterior.TopEigen: %w", err)
		}
		w := make([][]float64, k)
		for i := range w {
			w[i] = make([]float64, p)
			for j := range w[i] {
				w[i][j] = float64(hv32[i*p+j])
			}
		}
		// Rayleigh–Ritz in span(V): T = V H Vᵀ (symmetrised).
		t := make([][]float64, k)
		for i := range t {
			t[i] = make([]float64, k)
		}
		for i := 0; i < k; i++ {
			for j := 0; j <= i; j++ {
				s := 0.5 * (dot(v[i], w[j]) + dot(v[j], w[i]))
				t[i][j], t[j][i] = s, s
			}
		}
		lam, q := symEigen(t) // decreasing, q[:, c] eigenvectors
		// Ritz vectors Y = Qᵀ V, and their images Qᵀ W.
		y := rotate(v, q)
		hy := rotate(w, q)
		res.Iterations = it
		if vals != nil {
			floor := math.Max(1e-6*math.Abs(lam[0]), 1e-30)
			done := true
			for i := range lam {
				done = done && math.Abs(lam[i]-vals[i]) <= opts.Tolerance*math.Max(math.Abs(lam[i]), floor)
			}
			if done {
				vals, v = lam, y
				res.Converged = true
				break
			}
		}
		vals = lam
		v = hy
		if it == opts.Iterations {
			v = y
			break
		}
		orthonormalize(v)
	}
	res.Values = vals
	res.Vectors = make([]float32, k*p)
	for i := range v {
		norm := math.Sqrt(dot(v[i], v[i]))
		for j, x := range v[i] {
			res.Vectors[i*p+j] = float32(x / norm)
		}
	}
	return res, nil
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// orthonormalize applies modified Gram–Schmidt to the rows of v in place (a row that collapses is
// replaced by a deterministic unit vector orthogonal to the others where possible).
func orthonormalize(v [][]float64) {
	for i := range v {
		for j := 0; j < i; j++ {
			c := dot(v[i], v[j])
			for k := range v[i] {
				v[i][k] -= c * v[j][k]
			}
		}
		n := math.Sqrt(dot(v[i], v[i]))
		if n < 1e-30 {
			for k := range v[i] {
				v[i][k] = 0
			}
			v[i][i%len(v[i])] = 1
			n = 1
		}
		for k := range v[i] {
			v[i][k] /= n
		}
	}
}

// rotate returns the rows Σ_r q[r][c] v[r] for each column c of q.
func rotate(v [][]float64, q [][]float64) [][]float64 {
	k, p := len(v), len(v[0])
	out := make([][]float64, k)
	for c := 0; c < k; c++ {
		out[c] = make([]float64, p)
		for r := 0; r < k; r++ {
			if q[r][c] == 0 {
				continue
			}
			for j := 0; j < p; j++ {
				out[c][j] += q[r][c] * v[r][j]
			}
		}
	}
	return out
}

// symEigen diagonalises a small symmetric matrix by cyclic Jacobi rotations and returns its eigenvalues in
// decreasing order and the eigenvectors as the columns of q.
func symEigen(a [][]float64) ([]float64, [][]float64) {
	n := len(a)
	m := make([][]float64, n)
	q := make([][]float64, n)
	for i := range m {
		m[i] = append([]float64(nil), a[i]...)
		q[i] = make([]float64, n)
		q[i][i] = 1
	}
	for sweep := 0; sweep < 100; sweep++ {
		off := 0.0
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				off += m[i][j] * m[i][j]
			}
		}
		if off < 1e-30 {
			break
		}
		for pi := 0; pi < n; pi++ {
			for qi := pi + 1; qi < n; qi++ {
				if m[pi][qi] == 0 {
					continue
				}
				theta := (m[qi][qi] - m[pi][pi]) / (2 * m[pi][qi])
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := 0; k < n; k++ {
					mkp, mkq := m[k][pi], m[k][qi]
					m[k][pi], m[k][qi] = c*mkp-s*mkq, s*mkp+c*mkq
				}
				for k := 0; k < n; k++ {
					mpk, mqk := m[pi][k], m[qi][k]
					m[pi][k], m[qi][k] = c*mpk-s*mqk, s*mpk+c*mqk
				}
				for k := 0; k < n; k++ {
					qkp, qkq := q[k][pi], q[k][qi]
					q[k][pi], q[k][qi] = c*qkp-s*qkq, s*qkp+c*qkq
				}
			}
		}
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(x, y int) bool { return m[idx[x]][idx[x]] > m[idx[y]][idx[y]] })
	vals := make([]float64, n)
	qs := make([][]float64, n)
	for r := range qs {
		qs[r] = make([]float64, n)
	}
	for c, i := range idx {
		vals[c] = m[i][i]
		for r := 0; r < n; r++ {
			qs[r][c] = q[r][i]
		}
	}
	return vals, qs
}
