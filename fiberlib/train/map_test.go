package train_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/fiberbnn/fiberbnn/fiberlib/train"
)

// linearData returns y = x·w + b + noise.
func linearData(n, d int, noise float64, seed uint64) *data.Dataset {
	rng := rand.New(rand.NewPCG(seed, 7))
	ds := &data.Dataset{Name: "linear", Task: data.Regression, N: n, D: d, T: 1}
	for i := 0; i < n; i++ {
		y := 0.3
		for j := 0; j < d; j++ {
			x := rng.NormFloat64()
			y += x * float64(j+1) * 0.5
			ds.X = append(ds.X, float32(x))
		}
		ds.Y = append(ds.Y, float32(y+noise*rng.NormFloat64()))
	}
	return ds
}

// sineData returns n points of y = sin(3x) + noise, x uniform in [lo, hi].
func sineData(n int, lo, hi, noise float64, seed uint64) *data.Dataset {
	rng := rand.New(rand.NewPCG(seed, 8))
	ds := &data.Dataset{Name: "sine", Task: data.Regression, N: n, D: 1, T: 1}
	for i := 0; i < n; i++ {
		x := lo + (hi-lo)*rng.Float64()
		ds.X = append(ds.X, float32(x))
		ds.Y = append(ds.Y, float32(math.Sin(3*x)+noise*rng.NormFloat64()))
	}
	return ds
}

// ridge returns the closed-form MAP of a linear model with features [x, 1]:
// θ* = (ΦᵀΦ/σ² + αI)⁻¹ Φᵀy/σ², solved by Gaussian elimination.
func ridge(ds *data.Dataset, sigma, alpha float64) []float64 {
	p := ds.D + 1
	a := make([][]float64, p)
	for j := range a {
		a[j] = make([]float64, p+1)
	}
	phi := func(i, j int) float64 {
		if j == ds.D {
			return 1
		}
		return float64(ds.X[i*ds.D+j])
	}
	for i := 0; i < ds.N; i++ {
		for j := 0; j < p; j++ {
			for k := 0; k < p; k++ {
				a[j][k] += phi(i, j) * phi(i, k) / (sigma * sigma)
			}
			a[j][p] += phi(i, j) * float64(ds.Y[i]) / (sigma * sigma)
		}
	}
	for j := 0; j < p; j++ {
		a[j][j] += alpha
	}
	for c := 0; c < p; c++ {
		for r := c + 1; r < p; r++ {
			f := a[r][c] / a[c][c]
			for k := c; k <= p; k++ {
				a[r][k] -= f * a[c][k]
			}
		}
	}
	x := make([]float64, p)
	for r := p - 1; r >= 0; r-- {
		s := a[r][p]
		for k := r + 1; k < p; k++ {
			s -= a[r][k] * x[k]
		}
		x[r] = s / a[r][r]
	}
	return x
}

// The MAP of a network without hidden layers is the ridge-regression closed form, for Adam and for SGD
// with momentum, for every member of an ensemble started from different points.
func TestMAPOfLinearNetworkIsRidge(t *testing.T) {
	const sigma, alpha = 0.5, 1.5
	ds := linearData(40, 3, 0.4, 1)
	net := posterior.MustNewNetwork(nets.MLP(3, nil, 1, nets.Identity), ds, posterior.NetworkOptions{Sigma: sigma, PriorPrecision: alpha})
	want := ridge(ds, sigma, alpha)
	for _, o := range []train.Options{
		{Optimizer: train.Adam, LearningRate: 0.01, Epochs: 3000, BatchSize: 40, Members: 3, Seed: 2},
		{Optimizer: train.SGD, LearningRate: 0.02, Momentum: 0.9, Epochs: 600, BatchSize: 1000, Members: 2, Seed: 3},
	} {
		res, err := train.MAP(net, o)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < res.M; i++ {
			for j, w := range want {
				if got := float64(res.Member(i)[j]); math.Abs(got-w) > 1e-3 {
					t.Errorf("%s member %d: θ[%d] = %.5f, ridge closed form %.5f", o.Optimizer, i, j, got, w)
				}
			}
		}
		if res.Steps != o.Epochs {
			t.Errorf("%s: %d steps for %d full-batch epochs", o.Optimizer, res.Steps, o.Epochs)
		}
	}
}

// The same seed gives the same numbers; another seed gives others. Member 0 of an ensemble equals a
// single-member run with the same seed (its own init and batch order, independent of the other members).
func TestSeedsAndMemberIndependence(t *testing.T) {
	ds := sineData(50, -2, 2, 0.1, 4)
	net := posterior.MustNewNetwork(nets.MLP(1, []int{16}, 1, nets.Tanh), ds, posterior.NetworkOptions{Sigma: 0.1})
	o := train.Options{LearningRate: 0.01, Epochs: 20, BatchSize: 8, Members: 2, Seed: 5}
	a, err := train.MAP(net, o)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := train.MAP(net, o)
	for i := range a.Theta {
		if a.Theta[i] != b.Theta[i] {
			t.Fatalf("same seed: θ[%d] %g vs %g", i, a.Theta[i], b.Theta[i])
		}
	}
	o.Seed = 6
	c, _ := train.MAP(net, o)
	diff := 0.0
	for i := range a.Theta {
		diff = math.Max(diff, math.Abs(float64(a.Theta[i]-c.Theta[i])))
	}
	if diff < 1e-3 {
		t.Errorf("seeds 5 and 6 give max |Δθ| = %g", diff)
	}
	o.Seed, o.Members = 5, 1
	single, _ := train.MAP(net, o)
	for j := 0; j < single.P; j++ {
		if d := math.Abs(float64(single.Theta[j] - a.Member(0)[j])); d > 1e-4 {
			t.Fatalf("member 0 of 2 vs alone: θ[%d] %g vs %g", j, a.Member(0)[j], single.Theta[j])
		}
	}
	// The two members differ (own init and order).
	d01 := 0.0
	for j := 0; j < a.P; j++ {
		d01 = math.Max(d01, math.Abs(float64(a.Member(0)[j]-a.Member(1)[j])))
	}
	if d01 < 1e-2 {
		t.Errorf("members 0 and 1 nearly equal (max |Δθ| %g)", d01)
	}
	if a.TrainLoss[len(a.TrainLoss)-1][0] >= a.TrainLoss[0][0] {
		t.Errorf("training loss did not decrease: %v → %v", a.TrainLoss[0], a.TrainLoss[len(a.TrainLoss)-1])
	}
}

// Early stopping on a validation set that the training data do not cover: the validation loss reaches a
// minimum and rises as the net overfits; the returned parameters are those of the best evaluation, and
// their validation NLL (recomputed independently) is the recorded minimum.
func TestEarlyStoppingRestoresBest(t *testing.T) {
	tr := sineData(12, -1, 1, 0.3, 9)
	val := sineData(40, -1.3, 1.3, 0.3, 10)
	net := posterior.MustNewNetwork(nets.MLP(1, []int{64}, 1, nets.Tanh), tr,
		posterior.NetworkOptions{Sigma: 0.05, PriorPrecision: 1e-4})
	var progress bytes.Buffer
	res, err := train.MAP(net, train.Options{LearningRate: 0.01, Epochs: 3000, BatchSize: 12, EvalEvery: 20,
		Validation: val, Patience: 5, Members: 2, Seed: 11, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	vnet, _ := net.WithData(val)
	for i := 0; i < res.M; i++ {
		minV, minK := math.Inf(1), -1
		for k, v := range res.ValLoss {
			if !math.IsNaN(v[i]) && v[i] < minV {
				minV, minK = v[i], k
			}
		}
		if !res.Stopped[i] {
			t.Errorf("member %d did not stop early in %d epochs", i, res.Epochs)
		}
		if res.EvalEpochs[minK] != res.BestEpoch[i] {
			t.Errorf("member %d: best epoch %d, minimum of the history at epoch %d", i, res.BestEpoch[i], res.EvalEpochs[minK])
		}
		last := res.ValLoss[len(res.ValLoss)-1][i]
		if k := lastFinite(res.ValLoss, i); k >= 0 {
			last = res.ValLoss[k][i]
		}
		if !(last > minV+1e-3) {
			t.Errorf("member %d: last validation NLL %g not above the minimum %g: the test does not exercise restoring", i, last, minV)
		}
		got := meanNLL(t, vnet, res.Member(i))
		if math.Abs(got-minV) > 1e-4*(1+math.Abs(minV)) {
			t.Errorf("member %d: validation NLL of the returned θ %g, recorded minimum %g", i, got, minV)
		}
	}
	if !strings.Contains(progress.String(), "val NLL") || !strings.Contains(progress.String(), "active 0/2") {
		t.Errorf("progress lines:\n%s", progress.String())
	}
}

func lastFinite(v [][]float64, i int) int {
	for k := len(v) - 1; k >= 0; k-- {
		if !math.IsNaN(v[k][i]) {
			return k
		}
	}
	return -1
}

// meanNLL recomputes the mean validation NLL per example from the Gaussian likelihood on the host.
func meanNLL(t *testing.T, net *posterior.Network, theta []float32) float64 {
	out, err := net.Evaluate(theta, net.Dataset().X)
	if err != nil {
		t.Fatal(err)
	}
	s := 0.0
	for b := 0; b < out.B; b++ {
		r := float64(out.At(0, b, 0) - net.Dataset().Y[b])
		s += r*r/(2*net.Sigma*net.Sigma) + math.Log(net.Sigma) + 0.5*math.Log(2*math.Pi)
	}
	return s / float64(out.B)
}

// A small classifier reaches high training accuracy; FitNoise sets σ to the residual RMS.
func TestClassificationAndFitNoise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	ds := &data.Dataset{Name: "blobs", Task: data.Classification, N: 90, D: 2, Classes: 3}
	for i := 0; i < 90; i++ {
		c := i % 3
		ds.X = append(ds.X, float32(2*math.Cos(2*math.Pi*float64(c)/3)+0.5*rng.NormFloat64()),
			float32(2*math.Sin(2*math.Pi*float64(c)/3)+0.5*rng.NormFloat64()))
		ds.Labels = append(ds.Labels, int32(c))
	}
	net := posterior.MustNewNetwork(nets.MLP(2, []int{8}, 3, nets.ReLU), ds, posterior.NetworkOptions{})
	res, err := train.MAP(net, train.Options{LearningRate: 0.02, Epochs: 60, BatchSize: 16, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	prob, _ := net.Predict(res.Theta, ds.X)
	correct := 0
	for b := 0; b < ds.N; b++ {
		best := 0
		for k := 1; k < 3; k++ {
			if prob.At(0, b, k) > prob.At(0, b, best) {
				best = k
			}
		}
		if int32(best) == ds.Labels[b] {
			correct++
		}
	}
	if acc := float64(correct) / float64(ds.N); acc < 0.9 {
		t.Errorf("training accuracy %.3f < 0.9", acc)
	}

	reg := sineData(60, -2, 2, 0.2, 3)
	rnet := posterior.MustNewNetwork(nets.MLP(1, []int{20}, 1, nets.Tanh), reg, posterior.NetworkOptions{Sigma: 0.2})
	rres, err := train.MAP(rnet, train.Options{LearningRate: 0.02, Epochs: 4000, BatchSize: 60, Seed: 2, FitNoise: true})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := rnet.Evaluate(rres.Theta, reg.X)
	ss := 0.0
	for b := 0; b < reg.N; b++ {
		r := float64(out.At(0, b, 0) - reg.Y[b])
		ss += r * r
	}
	if w := math.Sqrt(ss / float64(reg.N)); math.Abs(rres.Sigma[0]-w) > 1e-6*w || rres.Network.Sigma != rres.Sigma[0] {
		t.Errorf("fitted σ %v (network %g), residual RMS %g", rres.Sigma, rres.Network.Sigma, w)
	}
	t.Logf("fitted σ %.4f (true noise 0.2)", rres.Sigma[0])
	if rres.Sigma[0] > 0.23 {
		t.Errorf("fitted σ %g for noise 0.2: the MAP fits poorly", rres.Sigma[0])
	}
}

func TestBadOptions(t *testing.T) {
	ds := linearData(10, 2, 0.1, 1)
	net := posterior.MustNewNetwork(nets.MLP(2, nil, 1, nets.Identity), ds, posterior.NetworkOptions{})
	cases := []struct {
		o    train.Options
		want string
	}{
		{train.Options{Optimizer: "lbfgs"}, "unknown optimizer"},
		{train.Options{LearningRate: -1}, "LearningRate=-1"},
		{train.Options{Momentum: 1}, "Momentum=1"},
		{train.Options{BatchSize: -2}, "BatchSize=-2"},
		{train.Options{ValidationFraction: 0.01}, "leaves 0 validation"},
		{train.Options{ValidationFraction: 0.5, Validation: ds}, "choose one"},
		{train.Options{Init: []float32{1, 2}}, "Init has 2 values"},
		{train.Options{Init: []float32{1, 2, float32(math.NaN())}, Members: 1}, "Init[0, 2] is NaN"},
		{train.Options{LearningRate: 1e6, Optimizer: train.SGD, Epochs: 50}, "diverged"},
	}
	for _, c := range cases {
		if _, err := train.MAP(net, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err=%v, want it to contain %q", c.o, err, c.want)
		}
	}
	other := linearData(10, 3, 0.1, 1)
	if _, err := train.MAP(net, train.Options{Validation: other}); err == nil || !strings.Contains(err.Error(), "D=3") {
		t.Errorf("validation with other features: %v", err)
	}
}

// Full-batch SGD on the quadratic potential of a linear network follows θ_{t+1} − θ* = (I − η_t A/n)(θ_t − θ*)
// exactly (A = ΦᵀΦ/σ² + αI), with η_t from the learning-rate schedule: checked against the host recursion
// for the constant and the cosine schedules, 60 steps from the initial point.
func TestSGDFollowsTheScheduleOnAQuadratic(t *testing.T) {
	const sigma, alpha, lr = 0.5, 1.5, 0.005
	ds := linearData(40, 3, 0.4, 1)
	net := posterior.MustNewNetwork(nets.MLP(3, nil, 1, nets.Identity), ds, posterior.NetworkOptions{Sigma: sigma, PriorPrecision: alpha})
	star := ridge(ds, sigma, alpha)
	p := 4
	a := make([][]float64, p)
	for j := range a {
		a[j] = make([]float64, p)
		for k := range a[j] {
			for i := 0; i < ds.N; i++ {
				pj, pk := 1.0, 1.0
				if j < 3 {
					pj = float64(ds.X[i*3+j])
				}
				if k < 3 {
					pk = float64(ds.X[i*3+k])
				}
				a[j][k] += pj * pk / (sigma * sigma)
			}
		}
		a[j][j] += alpha
	}
	const epochs = 60
	for _, sched := range []train.Schedule{train.ConstantLR, train.CosineLR} {
		init := []float32{0.5, -0.5, 1, 0.2}
		res, err := train.MAP(net, train.Options{Optimizer: train.SGD, LearningRate: lr, Schedule: sched, FinalLRFraction: 0.1,
			Epochs: epochs, BatchSize: ds.N, Init: init})
		if err != nil {
			t.Fatal(err)
		}
		d := make([]float64, p)
		for j := range d {
			d[j] = float64(init[j]) - star[j]
		}
		for step := 0; step < epochs; step++ {
			eta := lr
			if sched == train.CosineLR {
				eta = lr * (0.1 + 0.9*0.5*(1+math.Cos(math.Pi*float64(step)/float64(epochs-1))))
			}
			nd := make([]float64, p)
			for j := range nd {
				nd[j] = d[j]
				for k := range d {
					nd[j] -= eta * a[j][k] * d[k] / float64(ds.N)
				}
			}
			d = nd
		}
		for j := 0; j < p; j++ {
			if want := star[j] + d[j]; math.Abs(float64(res.Theta[j])-want) > 1e-4 {
				t.Errorf("%s: θ[%d] = %.6f, recursion gives %.6f", sched, j, res.Theta[j], want)
			}
		}
		if nd := math.Hypot(math.Hypot(d[0], d[1]), math.Hypot(d[2], d[3])); nd < 1e-2 {
			t.Errorf("%s: the run converged (|θ−θ*| = %g): the test would not see the schedule", sched, nd)
		}
	}
}
