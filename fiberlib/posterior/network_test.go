package posterior_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// regressionData returns n rows of y = sin(Σx) + 0.1·noise with d features and t targets.
func regressionData(n, d, t int, seed uint64) *data.Dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	ds := &data.Dataset{Name: "synthetic-regression", Task: data.Regression, N: n, D: d, T: t}
	for i := 0; i < n; i++ {
		s := 0.0
		for j := 0; j < d; j++ {
			v := rng.NormFloat64()
			s += v
			ds.X = append(ds.X, float32(v))
		}
		for k := 0; k < t; k++ {
			ds.Y = append(ds.Y, float32(math.Sin(s+float64(k))+0.1*rng.NormFloat64()))
		}
	}
	return ds
}

// classificationData returns n rows with d features and labels from the sign pattern of the features.
func classificationData(n, d, classes int, seed uint64) *data.Dataset {
	rng := rand.New(rand.NewPCG(seed, 2))
	ds := &data.Dataset{Name: "synthetic-classification", Task: data.Classification, N: n, D: d, Classes: classes}
	for i := 0; i < n; i++ {
		s := 0.0
		for j := 0; j < d; j++ {
			v := rng.NormFloat64()
			s += v * float64(j+1)
			ds.X = append(ds.X, float32(v))
		}
		ds.Labels = append(ds.Labels, int32(int(math.Abs(s)*2)%classes))
	}
	return ds
}

type netCase struct {
	name string
	spec nets.Spec
	ds   *data.Dataset
	opts posterior.NetworkOptions
}

func netCases() []netCase {
	img := classificationData(10, 6*6*1, 3, 5)
	img.InputShape = []int{6, 6, 1}
	cnn := nets.Spec{Kind: nets.KindCNN, InputShape: []int{6, 6, 1},
		Conv: []nets.ConvLayer{{Filters: 2, Kernel: 3, Pool: 2}, {Filters: 3, Kernel: 3}}, Hidden: []int{4}, Outputs: 3, Activation: nets.Tanh}
	return []netCase{
		{"gaussian-mlp", nets.MLP(3, []int{6}, 2, nets.Tanh), regressionData(12, 3, 2, 1),
			posterior.NetworkOptions{Sigma: 0.3, PriorPrecision: 2}},
		{"heteroscedastic-mlp", nets.MLP(3, []int{6}, 2, nets.GELU), regressionData(12, 3, 1, 2),
			posterior.NetworkOptions{Likelihood: posterior.Heteroscedastic, PriorPrecision: 0.5}},
		{"bernoulli-mlp", nets.MLP(3, []int{5, 4}, 1, nets.SiLU), classificationData(12, 3, 2, 3),
			posterior.NetworkOptions{Likelihood: posterior.Bernoulli}},
		{"categorical-mlp", nets.MLP(3, []int{6}, 4, nets.Tanh), classificationData(12, 3, 4, 4),
			posterior.NetworkOptions{PriorPrecision: 3}},
		{"categorical-cnn", cnn, img, posterior.NetworkOptions{}},
		{"gaussian-cnn", nets.Spec{Kind: nets.KindCNN, InputShape: []int{4, 4, 2}, Conv: []nets.ConvLayer{{Filters: 3, Kernel: 3, Pool: 2}},
			Outputs: 1, Activation: nets.Softplus}, regressionData(8, 32, 1, 6), posterior.NetworkOptions{Sigma: 0.5}},
	}
}

// potential64 builds an executable computing U(θ) in float64 (theta float64 [N, P]; data converted in the
// graph), the reference for finite differences.
func potential64(t *testing.T, net *posterior.Network) func(theta []float64) []float64 {
	b := backend.MustNew()
	exec := MustNewExec(b, func(in []*Node) *Node {
		x := ConvertDType(in[1], dtypes.Float64)
		return net.Potential(in[0], []*Node{x, in[2]})
	})
	return func(theta []float64) []float64 {
		n := len(theta) / net.NumParams()
		args := []any{tensors.FromFlatDataAndDimensions(theta, n, net.NumParams())}
		for _, d := range net.Data() {
			args = append(args, d)
		}
		return tensors.MustCopyFlatData[float64](exec.MustCall(args...)[0])
	}
}

// The gradient (float32 graph) matches central finite differences of the float64 potential along random
// directions, for each likelihood and both network kinds; evaluating N vectors at once equals N separate
// evaluations.
func TestGradientMatchesFiniteDifferencesAndBatching(t *testing.T) {
	b := backend.MustNew()
	for _, c := range netCases() {
		net, err := posterior.NewNetwork(c.spec, c.ds, c.opts)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		p := net.NumParams()
		const n = 3
		theta, _ := c.spec.InitBatch(n, 17)
		rng := rand.New(rand.NewPCG(9, 9))
		for i := range theta {
			theta[i] += float32(0.05 * rng.NormFloat64())
		}
		ev, _ := posterior.NewEvaluator(b, net)
		u, g, err := ev.PotentialAndGrad(theta)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		u64 := potential64(t, net)
		th64 := make([]float64, len(theta))
		for i, v := range theta {
			th64[i] = float64(v)
		}
		ref := u64(th64)
		for i := 0; i < n; i++ {
			if math.Abs(float64(u[i])-ref[i]) > 1e-5*(1+math.Abs(ref[i])) {
				t.Errorf("%s: U[%d] float32 %g vs float64 %g", c.name, i, u[i], ref[i])
			}
		}
		// Directional derivatives along 4 random unit directions per particle.
		const h = 1e-4
		worst := 0.0
		for trial := 0; trial < 4; trial++ {
			dir := make([]float64, len(theta))
			for i := range dir {
				dir[i] = rng.NormFloat64()
			}
			plus, minus := make([]float64, len(theta)), make([]float64, len(theta))
			for i := range theta {
				plus[i], minus[i] = th64[i]+h*dir[i], th64[i]-h*dir[i]
			}
			up, um := u64(plus), u64(minus)
			for i := 0; i < n; i++ {
				fd := (up[i] - um[i]) / (2 * h)
				var an float64
				for j := 0; j < p; j++ {
					an += float64(g[i*p+j]) * dir[i*p+j]
				}
				worst = math.Max(worst, math.Abs(an-fd)/(1e-2+math.Abs(fd)))
			}
		}
		if worst > 2e-3 {
			t.Errorf("%s: directional derivative relative error %.3g > 2e-3", c.name, worst)
		}
		// Batched equals separate (for one MLP and one CNN, to keep the number of compilations down).
		if c.name != "gaussian-mlp" && c.name != "gaussian-cnn" {
			continue
		}
		for i := 0; i < n; i++ {
			ui, gi, err := ev.PotentialAndGrad(theta[i*p : (i+1)*p])
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(float64(ui[0]-u[i])) > 1e-5*(1+math.Abs(float64(u[i]))) {
				t.Errorf("%s: separate U %g vs batched %g", c.name, ui[0], u[i])
			}
			for j := 0; j < p; j++ {
				if math.Abs(float64(gi[j]-g[i*p+j])) > 1e-4*(1+math.Abs(float64(g[i*p+j]))) {
					t.Fatalf("%s: separate grad[%d] %g vs batched %g", c.name, j, gi[j], g[i*p+j])
				}
			}
		}
	}
}

// The average of the minibatch potentials (and gradients) over a partition of the data into disjoint
// batches equals the full-batch potential: the n/B scaling makes the estimate unbiased.
func TestMinibatchPotentialIsUnbiased(t *testing.T) {
	b := backend.MustNew()
	cases := netCases()
	for _, c := range []netCase{cases[1], cases[3]} {
		net := posterior.MustNewNetwork(c.spec, c.ds, c.opts)
		p := net.NumParams()
		theta, _ := c.spec.InitBatch(2, 3)
		ev, _ := posterior.NewEvaluator(b, net)
		u, g, err := ev.PotentialAndGrad(theta)
		if err != nil {
			t.Fatal(err)
		}
		if lp, lg, err := ev.LogDensityAndGradBatch(theta, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}); err != nil || math.Abs(float64(lp[0]+u[0])) > 1e-5*math.Abs(float64(u[0])) || math.Abs(float64(lg[5]+g[5])) > 1e-5*(1+math.Abs(float64(g[5]))) {
			t.Errorf("%s: LogDensityAndGradBatch on all rows: %v, %v vs −U %v (%v)", c.name, lp, lg[5], -u[0], err)
		}
		perm := rand.New(rand.NewPCG(4, 4)).Perm(12)
		mu, mg := make([]float64, 2), make([]float64, 2*p)
		for k := 0; k < 3; k++ {
			ub, gb, err := ev.PotentialAndGradBatch(theta, perm[4*k:4*k+4])
			if err != nil {
				t.Fatal(err)
			}
			for i := range ub {
				mu[i] += float64(ub[i]) / 3
			}
			for i := range gb {
				mg[i] += float64(gb[i]) / 3
			}
		}
		for i := range mu {
			if math.Abs(mu[i]-float64(u[i])) > 1e-5*(1+math.Abs(float64(u[i]))) {
				t.Errorf("%s: mean batch U %g vs full %g", c.name, mu[i], u[i])
			}
		}
		for i := range mg {
			if math.Abs(mg[i]-float64(g[i])) > 1e-4*(1+math.Abs(float64(g[i]))) {
				t.Fatalf("%s: mean batch grad[%d] %g vs full %g", c.name, i, mg[i], g[i])
			}
		}
	}
}

// A full-data evaluation split into chunks of examples (SetMaxRowsPerCall below N·n) gives the one-call
// values of U, ∇U and ∇²U·v: chunks of 3 rows for 3 vectors, with a short last chunk on the CNN's 10 rows.
func TestChunkedFullDataMatchesOneCall(t *testing.T) {
	b := backend.MustNew()
	cases := netCases()
	for _, c := range []netCase{cases[1], cases[4]} {
		net := posterior.MustNewNetwork(c.spec, c.ds, c.opts)
		theta, _ := c.spec.InitBatch(3, 5)
		v, _ := c.spec.InitBatch(3, 6)
		whole, _ := posterior.NewEvaluator(b, net)
		chunked, _ := posterior.NewEvaluator(b, net)
		chunked.SetMaxRowsPerCall(7)
		u1, g1, err1 := whole.PotentialAndGrad(theta)
		u2, g2, err2 := chunked.PotentialAndGrad(theta)
		p1, _ := whole.Potential(theta)
		p2, err3 := chunked.Potential(theta)
		h1, _ := whole.HVP(theta, v)
		h2, err4 := chunked.HVP(theta, v)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			t.Fatalf("%s: %v %v %v %v", c.name, err1, err2, err3, err4)
		}
		for _, cmp := range []struct {
			what      string
			want, got []float32
		}{{"U", u1, u2}, {"Potential", p1, p2}, {"grad", g1, g2}, {"HVP", h1, h2}} {
			scale := 0.0
			for _, w := range cmp.want {
				scale = math.Max(scale, math.Abs(float64(w)))
			}
			for i := range cmp.want {
				if d := math.Abs(float64(cmp.got[i] - cmp.want[i])); d > 2e-5*(1+scale) {
					t.Fatalf("%s: chunked %s[%d] = %g, one call %g", c.name, cmp.what, i, cmp.got[i], cmp.want[i])
				}
			}
		}
		// The chunked potential really differs from one chunk alone (the test would pass trivially if the
		// chunks were not summed).
		if bu, _, _ := chunked.PotentialAndGradBatch(theta, []int{0, 1, 2}); math.Abs(float64(bu[0]-u1[0])) < 1e-3*math.Abs(float64(u1[0])) {
			t.Fatalf("%s: one chunk's estimate %g equals the full potential %g: test data too uniform", c.name, bu[0], u1[0])
		}
	}
}

// Hand values of each likelihood's per-example NLL for a linear network with zero weights and a chosen
// bias: with f = bias for every example the NLL has a closed form.
func TestLikelihoodHandValues(t *testing.T) {
	b := backend.MustNew()
	reg := regressionData(5, 2, 1, 8)
	cls := classificationData(5, 2, 3, 8)
	bin := classificationData(5, 2, 2, 8)
	cases := []struct {
		lik  posterior.Likelihood
		ds   *data.Dataset
		out  int
		bias []float32
		want func(i int) float64
	}{
		{posterior.GaussianLikelihood, reg, 1, []float32{0.25}, func(i int) float64 {
			r := float64(reg.Y[i]) - 0.25
			return r*r/(2*0.49) + math.Log(0.7) + 0.5*math.Log(2*math.Pi)
		}},
		{posterior.Heteroscedastic, reg, 2, []float32{0.25, -0.5}, func(i int) float64 {
			s := math.Exp(-0.5)
			r := float64(reg.Y[i]) - 0.25
			return r*r/(2*s*s) + math.Log(s) + 0.5*math.Log(2*math.Pi)
		}},
		{posterior.Bernoulli, bin, 1, []float32{0.8}, func(i int) float64 {
			p := 1 / (1 + math.Exp(-0.8))
			if bin.Labels[i] == 1 {
				return -math.Log(p)
			}
			return -math.Log(1 - p)
		}},
		{posterior.Categorical, cls, 3, []float32{0.1, -0.4, 1.2}, func(i int) float64 {
			z := []float64{0.1, -0.4, 1.2}
			lse := math.Log(math.Exp(z[0]) + math.Exp(z[1]) + math.Exp(z[2]))
			return lse - z[cls.Labels[i]]
		}},
	}
	for _, c := range cases {
		spec := nets.MLP(2, nil, c.out, nets.Identity)
		net, err := posterior.NewNetwork(spec, c.ds, posterior.NetworkOptions{Likelihood: c.lik, Sigma: 0.7, PriorPrecision: 1.5})
		if err != nil {
			t.Fatal(err)
		}
		theta := make([]float32, net.NumParams())
		copy(theta[net.Layout().P-c.out:], c.bias)
		exec := MustNewExec(b, func(in []*Node) *Node { return net.ExampleNLL(in[0], in[1:]) })
		got := tensors.MustCopyFlatData[float32](exec.MustCall(tensors.FromFlatDataAndDimensions(theta, 1, len(theta)), net.Data()[0], net.Data()[1])[0])
		total := 0.0
		for i := range got {
			if w := c.want(i); math.Abs(float64(got[i])-w) > 1e-5*(1+math.Abs(w)) {
				t.Errorf("%s: NLL[%d] = %g, want %g", c.lik, i, got[i], w)
			}
			total += c.want(i)
		}
		// The potential adds the prior with its constant: α/2‖θ‖² − P/2 log(α/2π).
		var sq float64
		for _, v := range theta {
			sq += float64(v) * float64(v)
		}
		wantU := total + 1.5/2*sq - float64(len(theta))/2*math.Log(1.5/(2*math.Pi))
		ev, _ := posterior.NewEvaluator(b, net)
		u, err := ev.Potential(theta)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(u[0])-wantU) > 1e-5*(1+math.Abs(wantU)) {
			t.Errorf("%s: U = %g, want %g", c.lik, u[0], wantU)
		}
	}
}

func TestNetworkErrors(t *testing.T) {
	reg := regressionData(6, 3, 1, 1)
	cls := classificationData(6, 3, 3, 1)
	cases := []struct {
		spec nets.Spec
		ds   *data.Dataset
		opts posterior.NetworkOptions
		want string
	}{
		{nets.MLP(4, nil, 1, nets.Tanh), reg, posterior.NetworkOptions{}, "D=4 inputs"},
		{nets.MLP(3, nil, 2, nets.Tanh), reg, posterior.NetworkOptions{}, "needs 1 network outputs, spec has 2"},
		{nets.MLP(3, nil, 1, nets.Tanh), reg, posterior.NetworkOptions{Likelihood: posterior.Heteroscedastic}, "needs 2 network outputs"},
		{nets.MLP(3, nil, 1, nets.Tanh), cls, posterior.NetworkOptions{Likelihood: posterior.Bernoulli}, "needs 2 classes"},
		{nets.MLP(3, nil, 1, nets.Tanh), reg, posterior.NetworkOptions{Likelihood: posterior.Categorical}, "classification data set"},
		{nets.MLP(3, nil, 1, nets.Tanh), reg, posterior.NetworkOptions{Sigma: -1}, "Sigma=-1"},
		{nets.MLP(3, nil, 1, nets.Tanh), reg, posterior.NetworkOptions{PriorPrecision: math.NaN()}, "PriorPrecision=NaN"},
		{nets.MLP(3, nil, 1, nets.Tanh), reg, posterior.NetworkOptions{Likelihood: "poisson"}, "unknown likelihood"},
	}
	for _, c := range cases {
		if _, err := posterior.NewNetwork(c.spec, c.ds, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err=%v, want it to contain %q", err, c.want)
		}
	}
	bad := classificationData(6, 3, 3, 1)
	bad.Labels[4] = 3
	if _, err := posterior.NewNetwork(nets.MLP(3, nil, 3, nets.Tanh), bad, posterior.NetworkOptions{}); err == nil || !strings.Contains(err.Error(), "label 3 of example 4") {
		t.Errorf("label out of range: %v", err)
	}
	nan := regressionData(6, 3, 1, 1)
	nan.X[7] = float32(math.NaN())
	if _, err := posterior.NewNetwork(nets.MLP(3, nil, 1, nets.Tanh), nan, posterior.NetworkOptions{}); err == nil || !strings.Contains(err.Error(), "row 2, feature 1 is NaN") {
		t.Errorf("NaN input: %v", err)
	}
	net := posterior.MustNewNetwork(nets.MLP(3, nil, 1, nets.Tanh), reg, posterior.NetworkOptions{})
	ev, _ := posterior.NewEvaluator(backend.MustNew(), net)
	theta := make([]float32, net.NumParams())
	theta[2] = float32(math.Inf(1))
	if _, _, err := ev.PotentialAndGrad(theta); err == nil || !strings.Contains(err.Error(), "theta[0, 2] is +Inf") {
		t.Errorf("Inf theta: %v", err)
	}
	if _, _, err := ev.PotentialAndGrad(theta[:3]); err == nil || !strings.Contains(err.Error(), "P=4") {
		t.Errorf("short theta: %v", err)
	}
	if _, _, err := ev.PotentialAndGradBatch(make([]float32, 4), []int{0, 6}); err == nil || !strings.Contains(err.Error(), "row 6 out of range") {
		t.Errorf("bad row: %v", err)
	}
}

// Predict applies the inverse link to Evaluate's raw outputs; FitNoise is the residual RMS.
func TestPredictAndFitNoise(t *testing.T) {
	cls := classificationData(7, 3, 4, 2)
	net := posterior.MustNewNetwork(nets.MLP(3, []int{5}, 4, nets.Tanh), cls, posterior.NetworkOptions{})
	theta, _ := net.Spec.InitBatch(2, 1)
	raw, err := net.Evaluate(theta, cls.X)
	if err != nil {
		t.Fatal(err)
	}
	prob, _ := net.Predict(theta, cls.X)
	for i := 0; i < 2; i++ {
		for b := 0; b < 7; b++ {
			z := raw.Row(i, b)
			var s float64
			for _, v := range z {
				s += math.Exp(float64(v))
			}
			for k := range z {
				if w := math.Exp(float64(z[k])) / s; math.Abs(float64(prob.At(i, b, k))-w) > 1e-6 {
					t.Fatalf("prob %g, want %g", prob.At(i, b, k), w)
				}
			}
		}
	}
	reg := regressionData(9, 3, 2, 3)
	rnet := posterior.MustNewNetwork(nets.MLP(3, []int{5}, 2, nets.Tanh), reg, posterior.NetworkOptions{})
	rtheta, _ := rnet.Spec.InitBatch(3, 2)
	sig, err := posterior.FitNoise(rnet, rtheta)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := rnet.Evaluate(rtheta, reg.X)
	for i := 0; i < 3; i++ {
		var ss float64
		for b := 0; b < 9; b++ {
			for k := 0; k < 2; k++ {
				r := float64(out.At(i, b, k) - reg.Y[b*2+k])
				ss += r * r
			}
		}
		if w := math.Sqrt(ss / 18); math.Abs(sig[i]-w) > 1e-6*w {
			t.Errorf("FitNoise[%d] = %g, want %g", i, sig[i], w)
		}
	}
	if _, err := posterior.FitNoise(net, theta); err == nil {
		t.Error("FitNoise on a categorical network: no error")
	}
}
