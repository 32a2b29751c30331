package swag_test

import (
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/internal/gloop"
	"github.com/fiberbnn/fiberbnn/fiberlib/laplace"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/fiberbnn/fiberbnn/fiberlib/swag"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

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

var gapMemo struct {
	sync.Mutex
	net   *posterior.Network
	theta []float32
}

// gapSetup trains (once per test binary) the MAP of a 1×50 tanh MLP on the 1-D gap toy (σ = 0.1, α = 1).
func gapSetup(t testing.TB) (*posterior.Network, []float32) {
	gapMemo.Lock()
	defer gapMemo.Unlock()
	if gapMemo.net != nil {
		return gapMemo.net, gapMemo.theta
	}
	ds, err := data.GapRegression(data.GapOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	spec := nets.MLP(1, []int{50}, 1, nets.Tanh)
	net, err := posterior.NewNetwork(spec, ds, posterior.NetworkOptions{Sigma: 0.1, PriorPrecision: 1})
	if err != nil {
		t.Fatal(err)
	}
	gapMemo.net, gapMemo.theta = net, fitMAP(t, net, spec.MustInit(1), 3000, 0.01)
	return gapMemo.net, gapMemo.theta
}

// SWAG's mean is the average of the iterates it collected, its diagonal their (population) variance, and
// its deviation matrix holds θ_t − θ̄_t (θ̄_t the running mean after θ_t) for the last K iterates, in
// ring-buffer order; all in float64 on the host from the kept iterates.
func TestMomentsOfTheIterates(t *testing.T) {
	net, theta := gapSetup(t)
	const T, K = 12, 5
	s, err := swag.Fit(net, theta, swag.Options{Epochs: T, Rank: K, BatchSize: 16, KeepIterates: true, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	p := s.P
	mean := make([]float64, p)
	run := make([][]float64, T) // running means
	for e := 0; e < T; e++ {
		run[e] = make([]float64, p)
		for j := 0; j < p; j++ {
			mean[j] += float64(s.Iterates[e*p+j])
			run[e][j] = mean[j] / float64(e+1)
		}
	}
	moved := 0.0
	for j := 0; j < p; j++ {
		mean[j] /= T
		v := 0.0
		for e := 0; e < T; e++ {
			d := float64(s.Iterates[e*p+j]) - mean[j]
			v += d * d
		}
		v /= T
		moved = math.Max(moved, math.Abs(float64(s.Iterates[j])-float64(s.Iterates[(T-1)*p+j])))
		if math.Abs(float64(s.Mean[j])-mean[j]) > 1e-5*(1+math.Abs(mean[j])) {
			t.Fatalf("mean[%d] = %g, average of the iterates %g", j, s.Mean[j], mean[j])
		}
		// E[θ²] − E[θ]² in float32 loses digits to cancellation: tolerance relative to E[θ²].
		if tol := 2e-6*(mean[j]*mean[j]+v) + 1e-12; math.Abs(float64(s.Variance[j])-math.Max(v, swag.VarianceClamp)) > tol {
			t.Fatalf("variance[%d] = %g, variance of the iterates %g", j, s.Variance[j], v)
		}
	}
	if moved < 1e-3 {
		t.Fatalf("the iterates did not move (max change %g)", moved)
	}
	for e := T - K; e < T; e++ {
		slot := e % K
		for j := 0; j < p; j++ {
			want := float64(s.Iterates[e*p+j]) - run[e][j]
			if got := float64(s.Deviations[slot*p+j]); math.Abs(got-want) > 1e-5*(1+math.Abs(float64(s.Iterates[e*p+j]))) {
				t.Fatalf("deviation of iterate %d [%d] = %g, want %g", e, j, got, want)
			}
		}
	}
}

// Samples have mean θ_SWA and covariance s·(Σ_diag + DᵀD/(K−1)) within Monte Carlo error (checked on a few
// parameters), and the same seed gives the same samples; Diag samples have variance Σ_diag.
func TestSampleMoments(t *testing.T) {
	net, theta := gapSetup(t)
	for _, c := range []swag.Covariance{swag.LowRank, swag.Diag} {
		s, err := swag.Fit(net, theta, swag.Options{Covariance: c, Epochs: 10, Rank: 6, BatchSize: 16, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		const n = 4000
		set, err := s.Sample(n, 4)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := s.Sample(n, 4)
		for i := range set.Theta {
			if set.Theta[i] != again.Theta[i] {
				t.Fatalf("%s: same seed, different samples", c)
			}
		}
		if set.Method != "swag" || set.Loss == nil || set.Extras["covariance"] != string(c) {
			t.Errorf("%s: metadata %q %v", c, set.Method, set.Extras)
		}
		p, k := s.P, s.Rank
		scale := s.Options().Scale
		for _, j := range []int{0, 7, 60, p - 1} {
			want := float64(s.Variance[j])
			for r := 0; r < k; r++ {
				d := float64(s.Deviations[r*p+j])
				want += d * d / float64(k-1)
			}
			want *= scale
			m, v := 0.0, 0.0
			for i := 0; i < n; i++ {
				m += float64(set.Theta[i*p+j])
			}
			m /= n
			for i := 0; i < n; i++ {
				d := float64(set.Theta[i*p+j]) - m
				v += d * d
			}
			v /= n - 1
			if math.Abs(m-float64(s.Mean[j])) > 4.5*math.Sqrt(want/n) {
				t.Errorf("%s: sample mean[%d] = %g, θ_SWA %g", c, j, m, s.Mean[j])
			}
			if math.Abs(v-want) > 4.5*want*math.Sqrt(2.0/n) {
				t.Errorf("%s: sample variance[%d] = %g, want %g", c, j, v, want)
			}
		}
	}
}

// SWAG's predictive on the 1-D gap toy is wider away from the data (|x| > 2.8, extrapolation) than at the
// data. It is NOT wider in the gap between the two clusters, a documented failure asserted as a gap/data
// ratio below 1 (measured 0.61 low-rank, 0.72 diagonal at the default fraction 0.2; 0.37 and 0.50 at the
// earlier default 0.5; 0.45–0.84 around five other MAPs). Measured
// (default options but batch size and learning-rate fraction, seed 5): gap/data epistemic std 0.61
// (B=32, f=0.2), 0.37 (B=32, f=0.5), 0.85 (B=8, f=0.2), 0.64 (B=8, f=0.5); 0.43–0.95 with 200–1000 epochs,
// 0.34–0.69 with the cyclic schedule. SGD's gradient noise is small along the flat directions that carry
// the in-between uncertainty (its covariance ≈ the Fisher), so the iterates barely spread there.
func TestGapToyUncertainty(t *testing.T) {
	net, theta := gapSetup(t)
	grid, err := data.Grid1D(-3.5, 3.5, 141)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []swag.Covariance{swag.LowRank, swag.Diag} {
		s, err := swag.Fit(net, theta, swag.Options{Covariance: c, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		set, err := s.Sample(200, 6)
		if err != nil {
			t.Fatal(err)
		}
		pred, err := laplace.NetworkPredictive(net, set.Theta, grid)
		if err != nil {
			t.Fatal(err)
		}
		m := pred.Regression.Moments()
		var sum [3]float64
		var cnt [3]int
		for i, x := range grid {
			r := -1
			switch ax := math.Abs(float64(x)); {
			case ax < 0.4:
				r = 0
			case ax > 0.8 && ax < 1.8:
				r = 1
			case ax > 2.8:
				r = 2
			}
			if r >= 0 {
				sum[r] += math.Sqrt(m.Epistemic[i])
				cnt[r]++
			}
		}
		for r := range sum {
			sum[r] /= float64(cnt[r])
		}
		loss := 0.0
		for _, l := range set.Loss {
			loss += float64(l) / float64(set.N)
		}
		t.Logf("%s (lr %.2e, λ_max %.0f): epistemic std gap %.4f, data %.4f, outside %.4f; in-between ratio %.2f; mean loss of the samples %.3f",
			c, s.Options().LearningRate, s.LambdaMax, sum[0], sum[1], sum[2], sum[0]/sum[1], loss)
		want := 1.2
		if c == swag.Diag {
			want = 1.1
		}
		if !(sum[0] < sum[1]) {
			t.Errorf("%s: epistemic std in the gap %.4f, at the data %.4f: SWAG was measured narrower in the gap "+
				"(ratio 0.34–0.95 over 20 configurations); update the documentation if this changed", c, sum[0], sum[1])
		}
		if !(sum[2] > want*sum[1]) {
			t.Errorf("%s: epistemic std outside the data %.4f is not %.1f× that at the data %.4f", c, sum[2], want, sum[1])
		}
	}
}

// Invalid options are rejected before any computation.
func TestInvalidOptions(t *testing.T) {
	ds, _ := data.GapRegression(data.GapOptions{N: 10})
	net := posterior.MustNewNetwork(nets.MLP(1, []int{3}, 1, nets.Tanh), ds, posterior.NetworkOptions{})
	th := make([]float32, net.NumParams())
	for _, c := range []struct {
		opts swag.Options
		want string
	}{
		{swag.Options{Covariance: "full"}, "Covariance"},
		{swag.Options{Schedule: "cosine"}, "Schedule"},
		{swag.Options{Rank: 1}, "K >= 2"},
		{swag.Options{Epochs: 1}, "at least 2"},
		{swag.Options{Epochs: -1}, "Epochs"},
		{swag.Options{LearningRate: -1}, "LearningRate"},
		{swag.Options{Schedule: swag.Cyclic, LearningRate: 0.01, MinLearningRate: 0.1}, "MinLearningRate"},
		{swag.Options{Momentum: 1}, "Momentum"},
		{swag.Options{Momentum: 0.5, NoMomentum: true}, "NoMomentum"},
		{swag.Options{BatchSize: -2}, "BatchSize"},
		{swag.Options{Scale: -1}, "Scale"},
	} {
		if _, err := swag.Fit(net, th, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one mentioning %q", c.opts, err, c.want)
		}
	}
	if _, err := swag.Fit(net, th[1:], swag.Options{}); err == nil || !strings.Contains(err.Error(), "P=") {
		t.Errorf("short start: error %v", err)
	}
	if _, err := swag.Fit(net, th, swag.Options{Covariance: swag.Diag, Epochs: 1}); err != nil {
		t.Errorf("diagonal SWAG from one epoch: %v", err)
	}
}
