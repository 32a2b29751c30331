package backend_test

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// isolate points every plugin search location at empty temporary directories, so that Choose sees only the
// files a test puts there. /usr/local/lib/go-xla cannot be redirected: tests that need it absent skip.
func isolate(t *testing.T) (home, pathDir string) {
	t.Helper()
	home, pathDir = t.TempDir(), t.TempDir()
	t.Setenv("FIBERBNN_HOME", home)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", pathDir)
	t.Setenv(compute.ConfigEnvVar, "")
	_ = os.Unsetenv(compute.ConfigEnvVar) // Choose must see it unset, not empty
	return home, pathDir
}

func writePlugin(t *testing.T, dir string, size int) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, backend.PluginFile)
	if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func skipIfSystemPlugin(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join("/usr/local/lib/go-xla", backend.PluginFile)); err == nil {
		t.Skip("a PJRT plugin is installed in /usr/local/lib/go-xla on this machine, so the fallback cannot be observed")
	}
}

func TestChooseHonoursGOMLXBackend(t *testing.T) {
	for _, tc := range []struct {
		config, kind, plugin string
	}{
		{"go", "go", ""},
		{"xla:cpu", "xla-cpu", ""},
		{"xla:/opt/x/" + backend.PluginFile, "xla-cpu", "/opt/x/" + backend.PluginFile},
		{"xla:/opt/jax_plugins/xla_cuda13/xla_cuda_plugin.so", "xla-cuda", "/opt/jax_plugins/xla_cuda13/xla_cuda_plugin.so"},
		{"xla:cuda", "xla-cuda", ""},
		{"onnx", "onnx", ""},
	} {
		isolate(t)
		t.Setenv(compute.ConfigEnvVar, tc.config)
		c := backend.Choose()
		if c.Config != tc.config || c.Kind != tc.kind || c.PluginPath != tc.plugin || c.Fallback {
			t.Errorf("GOMLX_BACKEND=%q: got %+v, want config %q kind %q plugin %q, no fallback", tc.config, c, tc.config, tc.kind, tc.plugin)
		}
		if !strings.Contains(c.Reason, "GOMLX_BACKEND="+tc.config) {
			t.Errorf("GOMLX_BACKEND=%q: reason %q does not name the variable", tc.config, c.Reason)
		}
	}
}

func TestChooseFindsPluginInSearchOrder(t *testing.T) {
	home, pathDir := isolate(t)
	inHome := writePlugin(t, filepath.Join(home, "pjrt"), 8)
	c := backend.Choose()
	if c.Kind != "xla-cpu" || c.PluginPath != inHome || c.Config != "xla:"+inHome || c.Fallback {
		t.Fatalf("plugin in $FIBERBNN_HOME/pjrt: got %+v, want xla-cpu via %s", c, inHome)
	}
	// PJRT_PLUGIN_LIBRARY_PATH comes first.
	inPath := writePlugin(t, pathDir, 8)
	if c := backend.Choose(); c.PluginPath != inPath {
		t.Fatalf("plugin in PJRT_PLUGIN_LIBRARY_PATH and FIBERBNN_HOME: chose %q, want %q", c.PluginPath, inPath)
	}
	// An empty file is not a plugin.
	if err := os.Truncate(inPath, 0); err != nil {
		t.Fatal(err)
	}
	if c := backend.Choose(); c.PluginPath != inHome {
		t.Fatalf("empty file in PJRT_PLUGIN_LIBRARY_PATH: chose %q, want %q", c.PluginPath, inHome)
	}
	// A colon list is searched in order.
	second := writePlugin(t, filepath.Join(t.TempDir(), "b"), 8)
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", "/nonexistent:"+filepath.Dir(second))
	if c := backend.Choose(); c.PluginPath != second {
		t.Fatalf("second entry of PJRT_PLUGIN_LIBRARY_PATH: chose %q, want %q", c.PluginPath, second)
	}
}

func TestChooseFallsBackToGoAndSaysHowToFix(t *testing.T) {
	skipIfSystemPlugin(t)
	home, pathDir := isolate(t)
	c := backend.Choose()
	if c.Kind != "go" || c.Config != "go" || !c.Fallback || c.PluginPath != "" {
		t.Fatalf("no plugin anywhere: got %+v, want the pure-Go fallback", c)
	}
	for _, want := range []string{"pure Go", "make setup", pathDir, filepath.Join(home, "pjrt")} {
		if !strings.Contains(c.Reason, want) {
			t.Errorf("fallback reason %q does not mention %q", c.Reason, want)
		}
	}
	if !strings.HasPrefix(c.String(), "fiberlib: backend go (") {
		t.Errorf("announcement %q does not start with %q", c.String(), "fiberlib: backend go (")
	}
}

func TestHomeDefault(t *testing.T) {
	t.Setenv("FIBERBNN_HOME", "")
	_ = os.Unsetenv("FIBERBNN_HOME")
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	if got, want := backend.Home(), filepath.Join(cache, "fiberbnn"); got != want {
		t.Errorf("Home() = %q, want %q", got, want)
	}
	t.Setenv("FIBERBNN_HOME", "/x/y")
	if got := backend.Home(); got != "/x/y" {
		t.Errorf("Home() with FIBERBNN_HOME=/x/y = %q", got)
	}
}

// --- XLA versus pure Go ------------------------------------------------------------------------------------

// The MLP of notebooks/00_quickstart.ipynb: 1 -> H -> H -> 1, tanh.
const (
	mlpPoints = 160
	mlpHidden = 32
)

// mlpInputs returns x [n,1], y [n,1] and the 6 parameters (biases as [1,H]), seeded.
func mlpInputs(seed uint64) []*tensors.Tensor {
	rng := rand.New(rand.NewPCG(seed, 7))
	normal := func(scale float64, dims ...int) *tensors.Tensor {
		n := 1
		for _, d := range dims {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(scale * rng.NormFloat64())
		}
		return tensors.FromFlatDataAndDimensions(v, dims...)
	}
	h := mlpHidden
	return []*tensors.Tensor{
		normal(1.5, mlpPoints, 1), normal(1, mlpPoints, 1),
		normal(1, 1, h), normal(0.1, 1, h), normal(1/math.Sqrt(float64(h)), h, h), normal(0.1, 1, h), normal(1/math.Sqrt(float64(h)), h, 1), normal(0.1, 1, 1),
	}
}

func mlp(p []*Node, x *Node) *Node {
	h := Tanh(Add(MatMul(x, p[0]), p[1]))
	h = Tanh(Add(MatMul(h, p[2]), p[3]))
	return Add(MatMul(h, p[4]), p[5])
}

// lossAndGrad: inputs x, y, 6 params -> [loss, 6 gradients].
func lossAndGrad(in []*Node) []*Node {
	loss := ReduceAllMean(Square(Sub(mlp(in[2:], in[0]), in[1])))
	return append([]*Node{loss}, Gradient(loss, in[2:]...)...)
}

// adamStep: inputs x, y, t, 6 params, 6 m, 6 v -> [loss, 6 params, 6 m, 6 v]. The notebook's training step.
func adamStep(in []*Node) []*Node {
	x, y, t := in[0], in[1], in[2]
	p, m, v := in[3:9], in[9:15], in[15:21]
	loss := ReduceAllMean(Square(Sub(mlp(p, x), y)))
	grads := Gradient(loss, p...)
	const b1, b2, eps, rate = 0.9, 0.999, 1e-8, 0.01
	c1 := OneMinus(Pow(Scalar(x.Graph(), t.DType(), b1), t))
	c2 := OneMinus(Pow(Scalar(x.Graph(), t.DType(), b2), t))
	out := []*Node{loss}
	var ms, vs []*Node
	for i := range p {
		mi := Add(MulScalar(m[i], b1), MulScalar(grads[i], 1-b1))
		vi := Add(MulScalar(v[i], b2), MulScalar(Square(grads[i]), 1-b2))
		out = append(out, Sub(p[i], MulScalar(Div(Div(mi, c1), AddScalar(Sqrt(Div(vi, c2)), eps)), rate)))
		ms, vs = append(ms, mi), append(vs, vi)
	}
	return append(append(out, ms...), vs...)
}

// xlaBackend returns an XLA CPU backend through the plugin Choose finds, or skips the test.
func xlaBackend(tb testing.TB) compute.Backend {
	tb.Helper()
	p := backend.FindCPUPlugin()
	if p == "" {
		tb.Skipf("no PJRT CPU plugin (%s) in %s: run `make setup` to install it; the XLA path is not tested",
			backend.PluginFile, strings.Join(backend.SearchPath(), ":"))
	}
	if os.Getenv("GOMLX_NO_AUTO_INSTALL") == "" {
		tb.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	}
	b, err := backend.NewWithConfig("xla:" + p)
	if err != nil {
		tb.Fatalf("creating the XLA backend from %s: %v", p, err)
	}
	return b
}

func goBackend(tb testing.TB) compute.Backend {
	tb.Helper()
	b, err := backend.NewWithConfig("go")
	if err != nil {
		tb.Fatalf("creating the pure-Go backend: %v", err)
	}
	if !backend.IsGo(b) {
		tb.Fatalf("NewWithConfig(go) gave %q", b.Name())
	}
	return b
}

func flat(t *testing.T, ts []*tensors.Tensor) [][]float32 {
	t.Helper()
	out := make([][]float32, len(ts))
	for i, x := range ts {
		out[i] = tensors.MustCopyFlatData[float32](x)
	}
	return out
}

// The same MLP loss and gradient on XLA CPU and on pure Go agree to float32 precision, and the pure-Go
// gradient agrees with central finite differences of the pure-Go loss.
func TestXLAMatchesGoOnMLPGradient(t *testing.T) {
	xla := xlaBackend(t)
	gob := goBackend(t)
	// Tensors bind to the backend that first uses them: each backend gets its own copy of the inputs.
	argsOf := func(in []*tensors.Tensor) []any {
		args := make([]any, len(in))
		for i, x := range in {
			args[i] = x
		}
		return args
	}
	gotXLA := flat(t, MustNewExec(xla, lossAndGrad).MustCall(argsOf(mlpInputs(3))...))
	in := mlpInputs(3)
	args := argsOf(in)
	gotGo := flat(t, MustNewExec(gob, lossAndGrad).MustCall(args...))
	if gotXLA[0][0] < 0.1 {
		t.Fatalf("loss %g is suspiciously small for random weights", gotXLA[0][0])
	}
	names := []string{"loss", "dW1", "db1", "dW2", "db2", "dW3", "db3"}
	for k := range gotXLA {
		var maxAbs, maxDiff float64
		for i := range gotXLA[k] {
			maxAbs = max(maxAbs, math.Abs(float64(gotGo[k][i])))
			maxDiff = max(maxDiff, math.Abs(float64(gotXLA[k][i]-gotGo[k][i])))
		}
		t.Logf("%-4s max |XLA - Go| = %.3g (max |Go| = %.3g)", names[k], maxDiff, maxAbs)
		if tol := 1e-5 + 1e-4*maxAbs; maxDiff > tol {
			t.Errorf("%s: XLA and Go differ by up to %g (scale %g, tolerance %g)", names[k], maxDiff, maxAbs, tol)
		}
	}
	// A few coordinates of dW2 against central differences of the Go backend's loss (float32, so h = 1e-2).
	lossOnly := MustNewExec(gob, func(in []*Node) *Node { return lossAndGrad(in)[0] })
	w2 := tensors.MustCopyFlatData[float32](in[4])
	for _, idx := range []int{0, 37, 500, 1023} {
		const h = 1e-2
		eval := func(delta float32) float64 {
			w := append([]float32(nil), w2...)
			w[idx] += delta
			a := append([]any(nil), args...)
			a[4] = tensors.FromFlatDataAndDimensions(w, mlpHidden, mlpHidden)
			return float64(tensors.ToScalar[float32](lossOnly.MustCall(a...)[0]))
		}
		fd := (eval(h) - eval(-h)) / (2 * h)
		g := float64(gotGo[3][idx])
		t.Logf("dW2[%d]: gradient %.5g, central difference %.5g", idx, g, fd)
		if math.Abs(g-fd) > 1e-4+1e-2*math.Abs(fd) {
			t.Errorf("dW2[%d]: gradient %g, central difference %g", idx, g, fd)
		}
	}
}

// Ten Adam steps of the notebook's training loop give the same parameters on both backends.
func TestXLAMatchesGoOnAdamSteps(t *testing.T) {
	xla := xlaBackend(t)
	gob := goBackend(t)
	run := func(b compute.Backend) [][]float32 {
		in := mlpInputs(5)
		params := in[2:]
		zeros := func() []*tensors.Tensor {
			out := make([]*tensors.Tensor, len(params))
			for i, p := range params {
				out[i] = tensors.FromShape(p.Shape())
			}
			return out
		}
		m, v := zeros(), zeros()
		step := MustNewExec(b, adamStep)
		var out []*tensors.Tensor
		for k := 1; k <= 10; k++ {
			args := []any{in[0], in[1], float32(k)}
			for _, g := range [][]*tensors.Tensor{params, m, v} {
				for _, x := range g {
					args = append(args, x)
				}
			}
			out = step.MustCall(args...)
			params, m, v = out[1:7], out[7:13], out[13:19]
		}
		return flat(t, append([]*tensors.Tensor{out[0]}, params...))
	}
	a, b := run(xla), run(gob)
	for k := range a {
		for i := range a[k] {
			if d := math.Abs(float64(a[k][i] - b[k][i])); d > 1e-4*(1+math.Abs(float64(b[k][i]))) {
				t.Fatalf("output %d[%d]: XLA %g, Go %g", k, i, a[k][i], b[k][i])
			}
		}
	}
	if a[0][0] <= 0 {
		t.Fatalf("loss after 10 steps = %g", a[0][0])
	}
}

// BenchmarkAdamStep times one full-batch Adam step of the quickstart notebook's MLP (160 points,
// 1 -> 32 -> 32 -> 1), including the host-device transfers of one Exec call, on each backend.
func BenchmarkAdamStep(b *testing.B) {
	for _, name := range []string{"xla-cpu", "go"} {
		b.Run(name, func(b *testing.B) {
			var be compute.Backend
			if name == "go" {
				be = goBackend(b)
			} else {
				be = xlaBackend(b)
			}
			in := mlpInputs(9)
			args := []any{in[0], in[1], float32(1)}
			for range 3 {
				for _, p := range in[2:] {
					args = append(args, p)
				}
			}
			step := MustNewExec(be, adamStep)
			step.MustCall(args...) // compile
			b.ResetTimer()
			for range b.N {
				step.MustCall(args...)
			}
		})
	}
}
