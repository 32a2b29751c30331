package flow

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// correctNet returns a regression network on n random rows of d inputs.
func correctNet(t *testing.T, n, d int, hidden []int, outputs int, seed uint64) *posterior.Network {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	ds := &data.Dataset{Name: "correct", Task: data.Regression, N: n, D: d, T: outputs,
		X: make([]float32, n*d), Y: make([]float32, n*outputs)}
	for i := range ds.X {
		ds.X[i] = float32(rng.NormFloat64())
	}
	for i := range ds.Y {
		ds.Y[i] = float32(rng.NormFloat64())
	}
	net, err := posterior.NewNetwork(nets.MLP(d, hidden, outputs, nets.Tanh), ds, posterior.NetworkOptions{Sigma: 0.1, PriorPrecision: 1})
	if err != nil {
		t.Fatal(err)
	}
	return net
}

func randomVec(rng *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(scale * rng.NormFloat64())
	}
	return v
}

// For a network without hidden layers the outputs are linear in θ (f = Xw + b), so one Gauss–Newton
// step is the damped minimum-norm projection θ − Jᵀ(JJᵀ + λI)⁻¹(Jθ − Jθ*), J = [X 1], λ = μ·tr(JJᵀ)/n:
// checked against gonum's dense solve, and with small damping the outputs end up at θ*'s.
func TestCorrectToFiberLinearIsExactProjection(t *testing.T) {
	const n, d, draws = 10, 20, 4
	net := correctNet(t, n, d, nil, 1, 3)
	p := net.NumParams() // d weights + 1 bias
	rng := rand.New(rand.NewPCG(5, 5))
	center := randomVec(rng, p, 1)
	thetas := randomVec(rng, draws*p, 1)
	// The layout's order of weights and bias, read off by evaluating unit vectors.
	x := net.Dataset().X
	jac := mat.NewDense(n, p, nil)
	for j := 0; j < p; j++ {
		e := make([]float32, p)
		e[j] = 1
		zero := make([]float32, p)
		f1, err := net.Evaluate(e, x)
		if err != nil {
			t.Fatal(err)
		}
		f0, err := net.Evaluate(zero, x)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			jac.Set(i, j, float64(f1.Values[i]-f0.Values[i]))
		}
	}
	const mu = 1e-3
	got, rep, err := CorrectToFiber(net, center, thetas, CorrectOptions{Iterations: 1, Damping: mu, CGIterations: 60})
	if err != nil {
		t.Fatal(err)
	}
	var jjt mat.Dense
	jjt.Mul(jac, jac.T())
	tr := mat.Trace(&jjt) / n
	for a := 0; a < n; a++ {
		jjt.Set(a, a, jjt.At(a, a)+mu*tr)
	}
	worst := 0.0
	for k := 0; k < draws; k++ {
		diff := mat.NewVecDense(p, nil)
		for j := 0; j < p; j++ {
			diff.SetVec(j, float64(thetas[k*p+j]-center[j]))
		}
		var r, y, step mat.VecDense
		r.MulVec(jac, diff)
		if err := y.SolveVec(&jjt, &r); err != nil {
			t.Fatal(err)
		}
		step.MulVec(jac.T(), &y)
		num, den := 0.0, 0.0
		for j := 0; j < p; j++ {
			want := float64(thetas[k*p+j]) - step.AtVec(j)
			num += (float64(got[k*p+j]) - want) * (float64(got[k*p+j]) - want)
			den += step.AtVec(j) * step.AtVec(j)
		}
		worst = max(worst, math.Sqrt(num/den))
		if rep.ShiftAfter[k] > 0.02*rep.ShiftBefore[k] {
			t.Errorf("draw %d: output shift %.4g after vs %.4g before, want a 50-fold reduction", k, rep.ShiftAfter[k], rep.ShiftBefore[k])
		}
		if rep.Accepted[k] != 1 {
			t.Errorf("draw %d: %d steps accepted, want 1", k, rep.Accepted[k])
		}
	}
	t.Logf("max relative error of the step against the dense solve: %.2e", worst)
	if worst > 1e-3 {
		t.Errorf("Gauss–Newton step differs from the exact damped projection by %.2e (relative), want < 1e-3", worst)
	}
	if len(rep.Rows) != n || rep.Outputs != n {
		t.Errorf("pinned %d rows / %d outputs, want %d", len(rep.Rows), rep.Outputs, n)
	}
}

// On a tanh network with two outputs, draws far from the center come back close to its outputs on the
// training rows; no accepted step raises the output error; the center itself stays (to round-off); a subset of
// rows is used when MaxRows is below the data size.
func TestCorrectToFiberNonlinear(t *testing.T) {
	const n, draws = 40, 16
	net := correctNet(t, n, 2, []int{12}, 2, 7)
	p := net.NumParams()
	rng := rand.New(rand.NewPCG(9, 9))
	center := randomVec(rng, p, 0.7)
	thetas := randomVec(rng, (draws-1)*p, 0.3)
	for i := range thetas {
		thetas[i] += center[i%p]
	}
	thetas = append(thetas, center...) // the last draw is the center
	got, rep, err := CorrectToFiber(net, center, thetas, CorrectOptions{Iterations: 8, Damping: 1e-3})
	if err != nil {
		t.Fatal(err)
	}
	var ratios []float64
	for k := 0; k < draws-1; k++ {
		if rep.ShiftAfter[k] > rep.ShiftBefore[k] {
			t.Errorf("draw %d: shift rose from %.4g to %.4g", k, rep.ShiftBefore[k], rep.ShiftAfter[k])
		}
		ratios = append(ratios, float64(rep.ShiftAfter[k]/rep.ShiftBefore[k]))
	}
	med := median(ratios)
	t.Logf("median output-shift ratio after/before: %.2e (shift before: median %.3f)", med, median(toF64(rep.ShiftBefore[:draws-1])))
	if med > 0.01 {
		t.Errorf("median output shift reduced only to %.3g of its start, want < 0.01", med)
	}
	last := got[(draws-1)*p:]
	for j := range last { // float32 round-off only: its outputs are the target
		if math.Abs(float64(last[j]-center[j])) > 1e-5*(1+math.Abs(float64(center[j]))) {
			t.Fatalf("the center moved: parameter %d %g → %g", j, center[j], last[j])
		}
	}
	if rep.Outputs != 2*n {
		t.Errorf("%d pinned outputs, want %d (two per row)", rep.Outputs, 2*n)
	}
	_, sub, err := CorrectToFiber(net, center, thetas[:p], CorrectOptions{MaxRows: 15, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Rows) != 15 {
		t.Errorf("MaxRows 15 pinned %d rows", len(sub.Rows))
	}
}

// median of x (not modified).
func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	return stat.Quantile(0.5, stat.Empirical, s, nil)
}

func TestCorrectToFiberErrors(t *testing.T) {
	net := correctNet(t, 5, 2, []int{3}, 1, 1)
	p := net.NumParams()
	ok := make([]float32, p)
	nan := make([]float32, 2*p)
	nan[p+2] = float32(math.NaN())
	for _, c := range []struct {
		name   string
		target OutputTarget
		center []float32
		thetas []float32
		opts   CorrectOptions
		want   string
	}{
		{"nil target", nil, ok, ok, CorrectOptions{}, "nil target"},
		{"short center", net, ok[:p-1], ok, CorrectOptions{}, "center has"},
		{"ragged thetas", net, ok, ok[:p-1], CorrectOptions{}, "multiple of P"},
		{"NaN draw", net, ok, nan, CorrectOptions{}, "draw 1, parameter 2"},
		{"damping", net, ok, ok, CorrectOptions{Damping: -1}, "Damping"},
		{"iterations", net, ok, ok, CorrectOptions{Iterations: -2}, "Iterations"},
		{"rows", net, ok, ok, CorrectOptions{MaxRows: -1}, "MaxRows"},
	} {
		_, _, err := CorrectToFiber(c.target, c.center, c.thetas, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one containing %q", c.name, err, c.want)
		}
	}
}
