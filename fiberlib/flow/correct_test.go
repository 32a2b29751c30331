package flow

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/fiberbnn/fiberbnn/fiberlib/train"
	. "github.com/gomlx/gomlx/core/graph"
	gfloats "gonum.org/v1/gonum/floats"
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
	jac := linearJacobian(t, net)
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

// linearJacobian returns J = ∂f/∂θ [n, P] of a network without hidden layers (outputs linear in θ), read
// off by evaluating unit vectors, so that the layout's order of weights and bias does not matter.
func linearJacobian(t *testing.T, net *posterior.Network) *mat.Dense {
	t.Helper()
	n, p := net.NumData(), net.NumParams()
	x := net.Dataset().X
	f0, err := net.Evaluate(make([]float32, p), x)
	if err != nil {
		t.Fatal(err)
	}
	jac := mat.NewDense(n, p, nil)
	for j := 0; j < p; j++ {
		e := make([]float32, p)
		e[j] = 1
		f1, err := net.Evaluate(e, x)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			jac.Set(i, j, float64(f1.Values[i]-f0.Values[i]))
		}
	}
	return jac
}

// perDatumLossOf returns ℓ(θ) = U(θ)/n [S] of target for thetas [S, P], with the flow package's loss graph.
func perDatumLossOf(t *testing.T, target posterior.Target, thetas []float32) []float64 {
	t.Helper()
	e, err := NewExec(backend.MustNew(), lossGraph(target))
	if err != nil {
		t.Fatal(err)
	}
	l, err := callLoss(e, target, thetas)
	if err != nil {
		t.Fatal(err)
	}
	return toF64(l)
}

// The level step against its closed form. For a linear network (f = Xw + b) with more parameters than
// rows the fiber of θ* is the affine space θ* + null(J); on it the likelihood is constant and U changes
// only through the prior, U(θ) − U(θ*) = α/2 (‖θ‖² − ‖θ*‖²). With little damping the Gauss–Newton
// iterations take a draw θ* + w to θ₁ = θ* + a, a = N w (N the projector onto null(J)), and the radial
// level step moves along N(θ₁ − θ*) = a, so the result is θ* + s·a with s the larger root of
// ‖θ* + s·a‖² = ‖θ*‖² + 2(n·L − U(θ*))/α. Checked against gonum's SVD, for draws moved out and in; a level
// below the fiber's minimum is reported as missed and leaves the draw no higher than it was.
func TestCorrectToFiberLevelsLinearClosedForm(t *testing.T) {
	const n, d, draws = 6, 14, 8
	net := correctNet(t, n, d, nil, 1, 11)
	p := net.NumParams()
	alpha := net.PriorPrecision
	rng := rand.New(rand.NewPCG(13, 13))
	center := randomVec(rng, p, 0.5)
	thetas := make([]float32, 0, draws*p)
	for k := 0; k < draws; k++ { // draws at several distances, so that some move out and some in
		w := randomVec(rng, p, 0.3+0.25*float64(k))
		for j := range w {
			w[j] += center[j]
		}
		thetas = append(thetas, w...)
	}
	jac := linearJacobian(t, net)
	var svd mat.SVD
	if !svd.Factorize(jac, mat.SVDFull) {
		t.Fatal("SVD failed")
	}
	var v mat.Dense
	svd.VTo(&v)
	null := v.Slice(0, p, n, p) // the last P − n right singular vectors span null(J)
	var nullProj mat.Dense
	nullProj.Mul(null, null.T())
	u0 := perDatumLossOf(t, net, center)[0] * n
	c64 := toF64(center)
	level := u0/n + 0.4
	opts := CorrectOptions{Levels: []float32{float32(level)}, Damping: 1e-5, CGIterations: 80, Iterations: 2}
	got, rep, err := CorrectToFiber(net, center, thetas, opts)
	if err != nil {
		t.Fatal(err)
	}
	loss := perDatumLossOf(t, net, got)
	before := perDatumLossOf(t, net, thetas)
	worst, out, in := 0.0, 0, 0
	for k := 0; k < draws; k++ {
		diff := mat.NewVecDense(p, nil)
		for j := 0; j < p; j++ {
			diff.SetVec(j, float64(thetas[k*p+j])-c64[j])
		}
		var a mat.VecDense
		a.MulVec(&nullProj, diff)
		ad := a.RawVector().Data
		aa, b := gfloats.Dot(ad, ad), gfloats.Dot(c64, ad)
		sc := (-b + math.Sqrt(b*b+aa*2*(n*level-u0)/alpha)) / aa
		num, den := 0.0, 0.0
		for j := 0; j < p; j++ {
			want := c64[j] + sc*ad[j]
			num += (float64(got[k*p+j]) - want) * (float64(got[k*p+j]) - want)
			den += want * want
		}
		worst = max(worst, math.Sqrt(num/den))
		if sc < 1 {
			in++
		} else {
			out++
		}
		if !rep.LevelReached[k] || math.Abs(loss[k]-level) > 1e-4*level {
			t.Errorf("draw %d: per-datum loss %.6f (from %.4f), want the level %.6f (reached=%v)", k, loss[k], before[k], level, rep.LevelReached[k])
		}
	}
	t.Logf("max relative error against the closed form: %.2e (%d draws moved out, %d in)", worst, out, in)
	if worst > 2e-3 {
		t.Errorf("level step differs from the closed form by %.2e (relative), want < 2e-3", worst)
	}
	if out == 0 || in == 0 {
		t.Errorf("the test draws should move both ways (out %d, in %d)", out, in)
	}
	if rep.LevelMissed != 0 || rep.Level[0] != float32(level) {
		t.Errorf("report: missed %d, level %g", rep.LevelMissed, rep.Level[0])
	}

	// The lowest loss on the fiber is at Rθ* = θ* − Nθ*: a level below it cannot be reached.
	low := perDatumLossOf(t, net, toF32(rcOf(&nullProj, c64)))[0]
	pinned, _, err := CorrectToFiber(net, center, thetas[:2*p], CorrectOptions{Damping: 1e-5, CGIterations: 80, Iterations: 2})
	if err != nil {
		t.Fatal(err)
	}
	start := perDatumLossOf(t, net, pinned)
	opts.Levels = []float32{float32(low - 0.05)}
	got, rep, err = CorrectToFiber(net, center, thetas[:2*p], opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.LevelMissed != 2 || rep.LevelReached[0] || rep.LevelReached[1] {
		t.Errorf("a level below the fiber's minimum %.4f: missed %d, reached %v, want both missed", low, rep.LevelMissed, rep.LevelReached)
	}
	for k, l := range perDatumLossOf(t, net, got) {
		if l < low*(1-1e-4) || l > start[k]+1e-4 {
			t.Errorf("missed draw %d stopped at loss %.5f, want between the fiber's minimum %.5f and its start %.5f", k, l, low, start[k])
		}
	}
}

// rcOf returns Rθ* = θ* − Nθ* for the null-space projector N.
func rcOf(nullProj *mat.Dense, c []float64) []float64 {
	var nc mat.VecDense
	nc.MulVec(nullProj, mat.NewVecDense(len(c), slices.Clone(c)))
	out := make([]float64, len(c))
	for j := range c {
		out[j] = c[j] - nc.AtVec(j)
	}
	return out
}

// On a tanh network, around its MAP, every draw reaches its level (levels drawn from a list, seeded), the
// outputs stay pinned (the level step moves them at second order only), and the same seed gives the same
// draws.
func TestCorrectToFiberLevelsNonlinear(t *testing.T) {
	const n, draws = 40, 12
	net := correctNet(t, n, 2, []int{30}, 1, 17)
	p := net.NumParams()
	res, err := train.MAP(net, train.Options{Epochs: 3000, BatchSize: n, LearningRate: 0.01, Schedule: train.CosineLR,
		Seed: 1, Backend: backend.MustNew()})
	if err != nil {
		t.Fatal(err)
	}
	center := res.Theta
	rng := rand.New(rand.NewPCG(19, 19))
	thetas := randomVec(rng, draws*p, 0.15) // below the levels once corrected: every draw moves out
	for i := range thetas {
		thetas[i] += center[i%p]
	}
	l0 := perDatumLossOf(t, net, center)[0]
	levels := []float32{float32(l0 + 0.1), float32(l0 + 0.2), float32(l0 + 0.3)}
	opts := CorrectOptions{Levels: levels, Seed: 3}
	got, rep, err := CorrectToFiber(net, center, thetas, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, plain, err := CorrectToFiber(net, center, thetas, CorrectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	loss := perDatumLossOf(t, net, got)
	used := map[float32]bool{}
	for k := 0; k < draws; k++ {
		used[rep.Level[k]] = true
		if !rep.LevelReached[k] || math.Abs(loss[k]-float64(rep.Level[k])) > 1e-4 {
			t.Errorf("draw %d: loss %.5f, level %.5f, reached %v", k, loss[k], rep.Level[k], rep.LevelReached[k])
		}
	}
	if len(used) < 2 {
		t.Errorf("levels used: %v, want draws spread over the list", used)
	}
	sl, sp := median(toF64(rep.ShiftAfter)), median(toF64(plain.ShiftAfter))
	t.Logf("median output shift: %.4g with levels, %.4g without (before: %.4g)", sl, sp, median(toF64(rep.ShiftBefore)))
	if sl > 0.05*median(toF64(rep.ShiftBefore)) {
		t.Errorf("median output shift %.4g with the level step, want < 5%% of the start %.4g", sl, median(toF64(rep.ShiftBefore)))
	}
	again, _, err := CorrectToFiber(net, center, thetas, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, again) {
		t.Error("the same seed gave different draws")
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
		{"NaN level", net, ok, ok, CorrectOptions{Levels: []float32{1, float32(math.Inf(1))}}, "Levels[1]"},
		{"cycles", net, ok, ok, CorrectOptions{LevelCycles: -1}, "LevelCycles"},
	} {
		_, _, err := CorrectToFiber(c.target, c.center, c.thetas, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func toF32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}
