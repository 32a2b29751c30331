package laplace_test

import (
	"math"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/data"
	"github.com/fiberbnn/fiberbnn/fiberlib/laplace"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/fiberbnn/fiberbnn/fiberlib/posterior"
)

// Invalid options and option combinations are rejected before any computation, with a message naming the
// problem.
func TestInvalidOptionsRejected(t *testing.T) {
	reg := linearData(10, 2, 0.1, 1)
	mlp := posterior.MustNewNetwork(nets.MLP(2, []int{3}, 1, nets.Tanh), reg, posterior.NetworkOptions{})
	flat := posterior.MustNewNetwork(nets.MLP(2, []int{3}, 1, nets.Tanh), reg, posterior.NetworkOptions{FlatPrior: true})
	wide := posterior.MustNewNetwork(nets.MLP(2, []int{60, 60}, 1, nets.Tanh), reg, posterior.NetworkOptions{})
	img := &data.Dataset{Name: "img", Task: data.Classification, N: 2, D: 16, InputShape: []int{4, 4, 1}, Classes: 2,
		X: make([]float32, 32), Labels: []int32{0, 1}}
	cnnSpec := nets.Spec{Kind: nets.KindCNN, InputShape: []int{4, 4, 1}, Conv: []nets.ConvLayer{{Filters: 2, Kernel: 3}}, Outputs: 2}
	cnn := posterior.MustNewNetwork(cnnSpec, img, posterior.NetworkOptions{})
	cls := posterior.MustNewNetwork(nets.MLP(2, nil, 3, nets.Tanh), classData(10, 2, 3, 1), posterior.NetworkOptions{})
	theta := func(n *posterior.Network) []float32 { return make([]float32, n.NumParams()) }
	cases := []struct {
		name string
		net  *posterior.Network
		th   []float32
		opts laplace.Options
		want string
	}{
		{"unknown subset", mlp, theta(mlp), laplace.Options{SubsetOfWeights: "subnetwork"}, "SubsetOfWeights"},
		{"unknown structure", mlp, theta(mlp), laplace.Options{HessianStructure: "lowrank"}, "HessianStructure"},
		{"unknown tuning", mlp, theta(mlp), laplace.Options{Tuning: "gridsearch"}, "Tuning"},
		{"negative prior precision", mlp, theta(mlp), laplace.Options{PriorPrecision: -1}, "PriorPrecision"},
		{"NaN prior precision", mlp, theta(mlp), laplace.Options{PriorPrecision: math.NaN()}, "PriorPrecision"},
		{"flat prior", flat, theta(flat), laplace.Options{}, "flat prior"},
		{"empty grid", mlp, theta(mlp), laplace.Options{Tuning: laplace.TuneMarglikGrid, GridMin: 2, GridMax: 1, GridSize: 10}, "grid"},
		{"full above the size limit", wide, theta(wide), laplace.Options{SubsetOfWeights: laplace.AllWeights}, "MaxFullParams"},
		{"kron on a CNN", cnn, theta(cnn), laplace.Options{SubsetOfWeights: laplace.AllWeights, HessianStructure: laplace.Kron}, "MLPs only"},
		{"fit sigma for a classifier", cls, theta(cls), laplace.Options{FitSigma: true}, "FitSigma"},
		{"MAP of the wrong length", mlp, make([]float32, 3), laplace.Options{}, "P="},
		{"NaN in the MAP", mlp, append(theta(mlp)[1:], float32(math.NaN())), laplace.Options{}, "NaN"},
	}
	for _, c := range cases {
		_, err := laplace.Fit(c.net, c.th, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	// A MAP of all zeros cannot be tuned by the marginal likelihood (it grows without bound in α).
	if _, err := laplace.Fit(mlp, theta(mlp), laplace.Options{}); err == nil || !strings.Contains(err.Error(), "zero") {
		t.Errorf("zero MAP with marglik tuning: error %v", err)
	}
	// Predictive options, checked before any computation.
	la, err := laplace.Fit(cls, []float32{0.1, 0.2, -0.3, 0.4, 0.5, -0.6, 0.1, 0, 0}, laplace.Options{Tuning: laplace.TuneNone})
	if err != nil {
		t.Fatal(err)
	}
	x := []float32{0, 1}
	for _, c := range []struct {
		name string
		opts laplace.PredictOptions
		want string
	}{
		{"unknown pred type", laplace.PredictOptions{PredType: "gp"}, "PredType"},
		{"unknown link", laplace.PredictOptions{LinkApprox: "bridge"}, "LinkApprox"},
		{"probit with nn", laplace.PredictOptions{PredType: laplace.NN, LinkApprox: laplace.Probit}, "link_approx"},
		{"negative samples", laplace.PredictOptions{Samples: -1}, "Samples"},
	} {
		if _, err := la.Predictive(x, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	if _, err := la.Predictive([]float32{1, 2, 3}, laplace.PredictOptions{}); err == nil || !strings.Contains(err.Error(), "D=2") {
		t.Errorf("inputs of the wrong width: error %v", err)
	}
	het := posterior.MustNewNetwork(nets.MLP(2, nil, 2, nets.Tanh), reg, posterior.NetworkOptions{Likelihood: posterior.Heteroscedastic})
	lh, err := laplace.Fit(het, []float32{0.1, 0.2, 0.3, 0.4, 0, 0}, laplace.Options{Tuning: laplace.TuneNone})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lh.Predictive(x, laplace.PredictOptions{}); err == nil || !strings.Contains(err.Error(), "heteroscedastic") {
		t.Errorf("GLM on the heteroscedastic likelihood: error %v", err)
	}
	if err := la.SetPriorPrecision(0); err == nil {
		t.Errorf("SetPriorPrecision(0) accepted")
	}
	if _, err := la.Sample(0, 1); err == nil {
		t.Errorf("Sample(0) accepted")
	}
}
