package laplace_test

import (
	"math"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/laplace"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
	"github.com/fiberbnn/fiberbnn/fiberlib/predict"
)

// gaussSigmoid returns ∫ sigmoid(f) N(f; m, v) df by the trapezoidal rule on ±12 standard deviations.
func gaussSigmoid(m, v float64) float64 {
	s := math.Sqrt(v)
	const k = 4000
	sum := 0.0
	for i := 0; i <= k; i++ {
		z := -12 + 24*float64(i)/k
		w := 1.0
		if i == 0 || i == k {
			w = 0.5
		}
		sum += w * math.Exp(-z*z/2) / (1 + math.Exp(-(m + s*z)))
	}
	return sum * 24 / k / math.Sqrt(2*math.Pi)
}

// For logistic regression (a network without hidden layers, Bernoulli likelihood) the logit is linear in θ,
// so the linearised and the sampled predictive are the same distribution: the GLM-MC and the NN predictive
// both match the Gaussian integral of the sigmoid within Monte Carlo error, and the probit approximation is
// predict.ProbitSigmoid of the GLM moments. For softmax regression, GLM-MC (full output covariance) and NN
// agree within Monte Carlo error.
func TestClassificationPredictives(t *testing.T) {
	ds := classData(60, 2, 2, 31)
	spec := nets.MLP(2, nil, 1, nets.Identity)
	net, err := posterior.NewNetwork(spec, ds, posterior.NetworkOptions{Likelihood: posterior.Bernoulli, PriorPrecision: 1})
	if err != nil {
		t.Fatal(err)
	}
	theta := fitMAP(t, net, make([]float32, 3), 2000, 0.05)
	la, err := laplace.Fit(net, theta, laplace.Options{SubsetOfWeights: laplace.AllWeights})
	if err != nil {
		t.Fatal(err)
	}
	x := []float32{0, 0, 1, 1, -2, 3, 4, -4}
	mean, cov, err := la.FunctionalMoments(x)
	if err != nil {
		t.Fatal(err)
	}
	const s = 20000
	mc, err := la.Predictive(x, laplace.PredictOptions{LinkApprox: laplace.MC, Samples: s, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	nn, err := la.Predictive(x, laplace.PredictOptions{PredType: laplace.NN, Samples: 4000, Seed: 6})
	if err != nil {
		t.Fatal(err)
	}
	probit, err := la.Predictive(x, laplace.PredictOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := predict.ProbitSigmoid(mean, cov, 4)
	for i := 0; i < 4; i++ {
		exact := gaussSigmoid(float64(mean[i]), float64(cov[i]))
		if got := mc.Classification.Probs[2*i+1]; math.Abs(got-exact) > 4*math.Sqrt(exact*(1-exact)/s)+1e-4 {
			t.Errorf("GLM-MC p(y=1|x%d) = %.4f, Gaussian integral %.4f", i, got, exact)
		}
		if got := nn.Classification.Probs[2*i+1]; math.Abs(got-exact) > 4*math.Sqrt(exact*(1-exact)/4000)+1e-3 {
			t.Errorf("NN p(y=1|x%d) = %.4f, Gaussian integral %.4f", i, got, exact)
		}
		if got := probit.Classification.Probs[2*i+1]; math.Abs(got-want.Probs[2*i+1]) > 1e-12 {
			t.Errorf("probit p(y=1|x%d) = %.6f, ProbitSigmoid %.6f", i, got, want.Probs[2*i+1])
		}
		t.Logf("x%d: logit %.3f ± %.3f: probit %.4f, GLM-MC %.4f, NN %.4f, exact %.4f", i, mean[i], math.Sqrt(float64(cov[i])),
			probit.Classification.Probs[2*i+1], mc.Classification.Probs[2*i+1], nn.Classification.Probs[2*i+1], exact)
	}

	// Softmax regression with three classes.
	cds := classData(60, 2, 3, 32)
	cnet, err := posterior.NewNetwork(nets.MLP(2, nil, 3, nets.Identity), cds, posterior.NetworkOptions{PriorPrecision: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctheta := fitMAP(t, cnet, make([]float32, 9), 2000, 0.05)
	cla, err := laplace.Fit(cnet, ctheta, laplace.Options{SubsetOfWeights: laplace.AllWeights, Tuning: laplace.TuneNone})
	if err != nil {
		t.Fatal(err)
	}
	cmc, err := cla.Predictive(x, laplace.PredictOptions{LinkApprox: laplace.MC, Samples: 8000, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	cnn, err := cla.Predictive(x, laplace.PredictOptions{PredType: laplace.NN, Samples: 8000, Seed: 8})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range cmc.Classification.Probs {
		q := cnn.Classification.Probs[i]
		if math.Abs(p-q) > 4*math.Sqrt(2*p*(1-p)/8000)+1e-3 {
			t.Errorf("softmax regression: GLM-MC prob[%d] = %.4f, NN %.4f", i, p, q)
		}
	}
}

// Sample returns a valid, reproducible samples.Set: the MAP and the settings in the metadata, each
// sample's per-datum loss U(θ)/n, the body at the MAP for a last-layer approximation, and a sample
// covariance that matches Σ within Monte Carlo error.
func TestSampleSet(t *testing.T) {
	ds := linearData(30, 2, 0.2, 41)
	spec := nets.MLP(2, []int{3}, 1, nets.Tanh)
	net, err := posterior.NewNetwork(spec, ds, posterior.NetworkOptions{Sigma: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	theta := fitMAP(t, net, spec.MustInit(2), 1500, 0.02)
	la, err := laplace.Fit(net, theta, laplace.Options{HessianStructure: laplace.Kron})
	if err != nil {
		t.Fatal(err)
	}
	const n = 6000
	set, err := la.Sample(n, 9)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := la.Sample(n, 9)
	for i := range set.Theta {
		if set.Theta[i] != again.Theta[i] {
			t.Fatalf("same seed, different samples at %d", i)
		}
	}
	if set.Method != "laplace" || set.N != n || set.P != spec.NumParams() || set.Extras["hessian_structure"] != "kron" ||
		set.Extras["prior_precision"] != la.PriorPrecision() || len(set.MAP) != set.P {
		t.Errorf("metadata: method %q N=%d P=%d extras %v", set.Method, set.N, set.P, set.Extras)
	}
	ev, _ := net.Evaluator()
	u, _ := ev.Potential(set.Theta[:5*set.P])
	for i := 0; i < 5; i++ {
		if want := u[i] / float32(ds.N); math.Abs(float64(set.Loss[i]-want)) > 1e-6*math.Abs(float64(want)) {
			t.Errorf("loss[%d] = %g, U/n = %g", i, set.Loss[i], want)
		}
	}
	st, en := la.Range()
	ps := en - st
	cov, _ := la.Covariance()
	mean := make([]float64, ps)
	for i := 0; i < n; i++ {
		row := set.Row(i)
		for j := 0; j < st; j++ {
			if row[j] != theta[j] {
				t.Fatalf("sample %d changed body weight %d", i, j)
			}
		}
		for j := 0; j < ps; j++ {
			mean[j] += float64(row[st+j]) / n
		}
	}
	for a := 0; a < ps; a++ {
		if se := math.Sqrt(cov[a*ps+a] / n); math.Abs(mean[a]-float64(theta[st+a])) > 4.5*se {
			t.Errorf("sample mean[%d] = %g, MAP %g (SE %.2g)", a, mean[a], theta[st+a], se)
		}
		for b := 0; b < ps; b++ {
			c := 0.0
			for i := 0; i < n; i++ {
				row := set.Row(i)
				c += (float64(row[st+a]) - mean[a]) * (float64(row[st+b]) - mean[b])
			}
			c /= n - 1
			se := math.Sqrt((cov[a*ps+a]*cov[b*ps+b] + cov[a*ps+b]*cov[a*ps+b]) / n)
			if math.Abs(c-cov[a*ps+b]) > 4.5*se {
				t.Errorf("sample covariance[%d][%d] = %.4g, Σ = %.4g (SE %.2g)", a, b, c, cov[a*ps+b], se)
			}
		}
	}
}
