package nets_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/nets"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// refAct is the float64 reference of each activation.
func refAct(a nets.Activation, x float64) float64 {
	switch a {
	case nets.Tanh:
		return math.Tanh(x)
	case nets.ReLU:
		return math.Max(x, 0)
	case nets.GELU:
		return x * 0.5 * (1 + math.Erf(x/math.Sqrt2))
	case nets.Sigmoid:
		return 1 / (1 + math.Exp(-x))
	case nets.Softplus:
		return math.Log1p(math.Exp(x))
	case nets.SiLU:
		return x / (1 + math.Exp(-x))
	case nets.Identity:
		return x
	}
	panic(a)
}

// refForward evaluates one parameter vector on one example with plain loops in float64, reading the
// tensors through the layout (so it checks the layout and the graph code independently).
func refForward(t *testing.T, s nets.Spec, theta []float32, x []float32) []float64 {
	l := s.MustLayout()
	w, err := l.Unflatten(theta)
	if err != nil {
		t.Fatal(err)
	}
	act := s.Activation
	h := make([]float64, len(x))
	for i, v := range x {
		h[i] = float64(v)
	}
	if s.Kind == nets.KindCNN {
		H, W, C := s.InputShape[0], s.InputShape[1], s.InputShape[2]
		for li, cl := range s.Conv {
			k, o := cl.Kernel, cl.Filters
			kern := w[layerName("conv", li)+"/kernel"]
			bias := w[layerName("conv", li)+"/bias"]
			out := make([]float64, H*W*o)
			for y := 0; y < H; y++ {
				for xx := 0; xx < W; xx++ {
					for f := 0; f < o; f++ {
						sum := float64(bias[f])
						for dy := 0; dy < k; dy++ {
							for dx := 0; dx < k; dx++ {
								iy, ix := y+dy-k/2, xx+dx-k/2
								if iy < 0 || iy >= H || ix < 0 || ix >= W {
									continue
								}
								for c := 0; c < C; c++ {
									sum += h[(iy*W+ix)*C+c] * float64(kern[((dy*k+dx)*C+c)*o+f])
								}
							}
						}
						out[(y*W+xx)*o+f] = refAct(act, sum)
					}
				}
			}
			h, C = out, o
			if p := cl.Pool; p > 1 {
				ho, wo := H/p, W/p
				pooled := make([]float64, ho*wo*C)
				for y := 0; y < ho; y++ {
					for xx := 0; xx < wo; xx++ {
						for c := 0; c < C; c++ {
							m := math.Inf(-1)
							for a := 0; a < p; a++ {
								for b := 0; b < p; b++ {
									m = math.Max(m, h[((y*p+a)*W+xx*p+b)*C+c])
								}
							}
							pooled[(y*wo+xx)*C+c] = m
						}
					}
				}
				h, H, W = pooled, ho, wo
			}
		}
	}
	denseLayer := func(h []float64, wts, bias []float32, act func(float64) float64) []float64 {
		out := make([]float64, len(bias))
		for j := range bias {
			sum := float64(bias[j])
			for i, v := range h {
				sum += v * float64(wts[i*len(bias)+j])
			}
			out[j] = act(sum)
		}
		return out
	}
	for li := range s.Hidden {
		name := layerName("dense", li)
		h = denseLayer(h, w[name+"/weights"], w[name+"/bias"], func(v float64) float64 { return refAct(act, v) })
	}
	return denseLayer(h, w["out/weights"], w["out/bias"], func(v float64) float64 { return v })
}

func layerName(prefix string, i int) string { return prefix + string(rune('0'+i)) }

func randVec(rng *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64() * scale)
	}
	return v
}

var testSpecs = []nets.Spec{
	nets.MLP(3, []int{5, 4}, 2, nets.Tanh),
	nets.MLP(3, []int{6}, 1, nets.ReLU),
	nets.MLP(3, []int{6}, 3, nets.GELU),
	nets.MLP(3, []int{4, 4, 4}, 2, nets.SiLU),
	nets.MLP(3, []int{6}, 2, nets.Sigmoid),
	nets.MLP(3, []int{6}, 2, nets.Softplus),
	nets.MLP(3, nil, 2, nets.Identity),
	{Kind: nets.KindCNN, InputShape: []int{6, 5, 2}, Conv: []nets.ConvLayer{{Filters: 3, Kernel: 3, Pool: 2}, {Filters: 4, Kernel: 1}},
		Hidden: []int{5}, Outputs: 3, Activation: nets.ReLU},
	{Kind: nets.KindCNN, InputShape: []int{8, 8, 1}, Conv: []nets.ConvLayer{{Filters: 2, Kernel: 3, Pool: 2}, {Filters: 3, Kernel: 3, Pool: 2}},
		Outputs: 4, Activation: nets.Tanh},
}

// Forward on N particles and shared inputs equals the float64 reference per particle, and per-particle
// inputs [N, B, D] give each particle its own batch.
func TestForwardMatchesReference(t *testing.T) {
	b := backend.MustNew()
	const n, batch = 3, 4
	for _, s := range testSpecs {
		l := s.MustLayout()
		d := s.InputDim()
		theta, err := s.InitBatch(n, 7)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range theta { // non-zero biases too
			theta[i] += float32(0.1 * rng.NormFloat64())
		}
		x := randVec(rng, batch*d, 1)
		xp := randVec(rng, n*batch*d, 1)
		shared := graph.MustNewExec(b, func(th, x *graph.Node) *graph.Node { return s.Forward(th, x) })
		got := tensors.MustCopyFlatData[float32](shared.MustCall(
			tensors.FromFlatDataAndDimensions(theta, n, l.P), tensors.FromFlatDataAndDimensions(x, batch, d))[0])
		gotP := tensors.MustCopyFlatData[float32](shared.MustCall(
			tensors.FromFlatDataAndDimensions(theta, n, l.P), tensors.FromFlatDataAndDimensions(xp, n, batch, d))[0])
		o := s.Outputs
		if len(got) != n*batch*o {
			t.Fatalf("%s: %d outputs, want %d", s, len(got), n*batch*o)
		}
		maxErr := 0.0
		for i := 0; i < n; i++ {
			th := theta[i*l.P : (i+1)*l.P]
			for j := 0; j < batch; j++ {
				want := refForward(t, s, th, x[j*d:(j+1)*d])
				wantP := refForward(t, s, th, xp[(i*batch+j)*d:(i*batch+j+1)*d])
				for k := 0; k < o; k++ {
					maxErr = math.Max(maxErr, math.Abs(float64(got[(i*batch+j)*o+k])-want[k])/(1+math.Abs(want[k])))
					maxErr = math.Max(maxErr, math.Abs(float64(gotP[(i*batch+j)*o+k])-wantP[k])/(1+math.Abs(wantP[k])))
				}
			}
		}
		if maxErr > 2e-5 {
			t.Errorf("%s: max relative error vs float64 reference %.3g > 2e-5", s, maxErr)
		}
	}
}

// Features followed by Head equals Forward, for the full θ and for body/head slices.
func TestFeaturesAndHeadComposeToForward(t *testing.T) {
	b := backend.MustNew()
	s := nets.MLP(3, []int{5, 4}, 2, nets.Tanh)
	l := s.MustLayout()
	if l.Features != 4 || l.HeadStart != 3*5+5+5*4+4 || l.P != l.HeadStart+4*2+2 {
		t.Fatalf("layout: features %d, head start %d, P %d", l.Features, l.HeadStart, l.P)
	}
	theta, _ := s.InitBatch(2, 3)
	x := randVec(rand.New(rand.NewPCG(3, 3)), 5*3, 1)
	exec := graph.MustNewExec(b, func(th, x *graph.Node) (*graph.Node, *graph.Node, *graph.Node) {
		body := graph.Slice(th, graph.AxisRange(), graph.AxisRange(0, l.HeadStart))
		head := graph.Slice(th, graph.AxisRange(), graph.AxisRange(l.HeadStart, l.P))
		f := s.Features(body, x)
		return s.Forward(th, x), s.Head(head, f), f
	})
	res := exec.MustCall(tensors.FromFlatDataAndDimensions(theta, 2, l.P), tensors.FromFlatDataAndDimensions(x, 5, 3))
	a, c := tensors.MustCopyFlatData[float32](res[0]), tensors.MustCopyFlatData[float32](res[1])
	for i := range a {
		if math.Abs(float64(a[i]-c[i])) > 1e-6 {
			t.Fatalf("Head(Features) [%d] = %g, Forward = %g", i, c[i], a[i])
		}
	}
	if dims := res[2].Shape().Dimensions; len(dims) != 3 || dims[0] != 2 || dims[1] != 5 || dims[2] != 4 {
		t.Errorf("features shape %v, want [2 5 4]", dims)
	}
}

func TestLayoutRangesFlattenAndJSON(t *testing.T) {
	s := nets.SmallCNN(28, 28, 1, 10)
	l, err := s.Layout()
	if err != nil {
		t.Fatal(err)
	}
	// conv0: 3·3·1·8+8 = 80; conv1: 3·3·8·16+16 = 1168; out: 7·7·16·10+10 = 7850.
	if l.P != 9098 || l.Features != 784 || l.HeadStart != 1248 {
		t.Fatalf("small CNN: P=%d features=%d head start=%d, want 9098, 784, 1248", l.P, l.Features, l.HeadStart)
	}
	if a, b, ok := l.Range("conv1"); !ok || a != 80 || b != 1248 {
		t.Errorf("Range(conv1) = %d, %d, %v; want 80, 1248", a, b, ok)
	}
	if a, b, ok := l.Range("out/bias"); !ok || a != 9088 || b != 9098 {
		t.Errorf("Range(out/bias) = %d, %d, %v; want 9088, 9098", a, b, ok)
	}
	if a, b, _ := l.Range("head"); a != 1248 || b != 9098 {
		t.Errorf("Range(head) = %d, %d", a, b)
	}
	if _, _, ok := l.Range("nope"); ok {
		t.Error("Range(nope) ok")
	}
	theta := s.MustInit(5)
	m, err := l.Unflatten(theta)
	if err != nil {
		t.Fatal(err)
	}
	back, err := l.Flatten(m)
	if err != nil {
		t.Fatal(err)
	}
	for i := range theta {
		if theta[i] != back[i] {
			t.Fatalf("Flatten(Unflatten) differs at %d", i)
		}
	}
	delete(m, "conv0/bias")
	if _, err := l.Flatten(m); err == nil || !strings.Contains(err.Error(), "conv0/bias") {
		t.Errorf("Flatten with a missing tensor: err=%v", err)
	}
	js, _ := json.Marshal(s)
	s2, err := nets.ParseSpec(js)
	if err != nil || s2.String() != s.String() {
		t.Errorf("JSON round trip: %s -> %s (%v)", s, s2, err)
	}
}

// Init is deterministic per seed, InitBatch row 0 equals Init, biases are 0 and the weight scale follows
// He/Glorot.
func TestInit(t *testing.T) {
	s := nets.MLP(200, []int{300}, 100, nets.ReLU)
	l := s.MustLayout()
	a, b := s.MustInit(11), s.MustInit(11)
	batch, _ := s.InitBatch(3, 11)
	c := s.MustInit(12)
	same, diff := true, false
	for i := range a {
		same = same && a[i] == b[i] && a[i] == batch[i]
		diff = diff || a[i] != c[i] || batch[l.P+i] != a[i]
	}
	if !same || !diff {
		t.Fatalf("seed behaviour: same seed equal=%v, different seeds differ=%v", same, diff)
	}
	std := func(name string) float64 {
		ti, _ := l.Tensor(name)
		var ss float64
		for _, v := range a[ti.Offset : ti.Offset+ti.Size] {
			ss += float64(v) * float64(v)
		}
		return math.Sqrt(ss / float64(ti.Size))
	}
	if got, want := std("dense0/weights"), math.Sqrt(2.0/200); math.Abs(got/want-1) > 0.02 {
		t.Errorf("He std %g, want %g", got, want)
	}
	if got, want := std("out/weights"), math.Sqrt(2.0/400); math.Abs(got/want-1) > 0.03 {
		t.Errorf("Glorot std %g, want %g", got, want)
	}
	if std("dense0/bias") != 0 || std("out/bias") != 0 {
		t.Error("biases not zero")
	}
}

func TestBadSpecsAndInputs(t *testing.T) {
	bad := []struct {
		s    nets.Spec
		want string
	}{
		{nets.Spec{}, "no kind"},
		{nets.MLP(0, nil, 1, nets.Tanh), "input_shape"},
		{nets.MLP(3, []int{0}, 1, nets.Tanh), "hidden layer 0"},
		{nets.MLP(3, nil, 0, nets.Tanh), "outputs=0"},
		{nets.MLP(3, nil, 1, "cube"), "unknown activation"},
		{nets.Spec{Kind: nets.KindCNN, InputShape: []int{4, 4, 1}, Conv: []nets.ConvLayer{{Filters: 2, Kernel: 2}}, Outputs: 1}, "odd"},
		{nets.Spec{Kind: nets.KindCNN, InputShape: []int{4, 4, 1}, Conv: []nets.ConvLayer{{Filters: 2, Kernel: 3, Pool: 8}}, Outputs: 1}, "pools"},
	}
	for _, c := range bad {
		if err := c.s.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err=%v, want it to mention %q", c.s, err, c.want)
		}
	}
	s := nets.MLP(3, []int{4}, 2, nets.Tanh)
	ev, err := nets.NewEvaluator(backend.MustNew(), s)
	if err != nil {
		t.Fatal(err)
	}
	theta := s.MustInit(1)
	if _, err := ev.Evaluate(theta[:5], make([]float32, 6)); err == nil || !strings.Contains(err.Error(), "P=26") {
		t.Errorf("short theta: %v", err)
	}
	if _, err := ev.Evaluate(theta, make([]float32, 5)); err == nil || !strings.Contains(err.Error(), "D=3") {
		t.Errorf("bad x: %v", err)
	}
	x := []float32{1, 2, float32(math.NaN())}
	if _, err := ev.Evaluate(theta, x); err == nil || !strings.Contains(err.Error(), "x[0, 2] is NaN") {
		t.Errorf("NaN x: %v", err)
	}
}

// The host evaluator in small chunks equals the graph forward on the whole batch.
func TestEvaluatorChunks(t *testing.T) {
	b := backend.MustNew()
	s := nets.MLP(2, []int{7}, 3, nets.Tanh)
	theta, _ := s.InitBatch(4, 9)
	x := randVec(rand.New(rand.NewPCG(4, 4)), 11*2, 1)
	ev, _ := nets.NewEvaluator(b, s)
	whole, err := ev.Evaluate(theta, x)
	if err != nil {
		t.Fatal(err)
	}
	ev.ChunkSize = 3
	chunked, err := ev.Evaluate(theta, x)
	if err != nil {
		t.Fatal(err)
	}
	l := s.MustLayout()
	for i := 0; i < 4; i++ {
		for j := 0; j < 11; j++ {
			want := refForward(t, s, theta[i*l.P:(i+1)*l.P], x[j*2:j*2+2])
			for k := 0; k < 3; k++ {
				if d := math.Abs(float64(chunked.At(i, j, k)) - want[k]); d > 1e-5 || math.Abs(float64(whole.At(i, j, k)-chunked.At(i, j, k))) > 1e-6 {
					t.Fatalf("output (%d,%d,%d): chunked %g, whole %g, reference %g", i, j, k, chunked.At(i, j, k), whole.At(i, j, k), want[k])
				}
			}
		}
	}
}
