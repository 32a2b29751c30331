package doctor_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/kernel/doctor"
	"github.com/fiberbnn/fiberbnn/kernel/kernelspec"
	"github.com/fiberbnn/fiberbnn/kernel/project"
)

// checkout returns the real checkout's paths, with the plugin search confined to pluginDirs (HOME and
// FIBERBNN_HOME moved to temporary directories), and the kernel spec installed into a temporary Jupyter dir.
func checkout(t *testing.T, pluginDirs string) project.Paths {
	t.Helper()
	t.Setenv("FIBERBNN_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	t.Setenv("PJRT_PLUGIN_LIBRARY_PATH", pluginDirs)
	t.Setenv("GOMLX_BACKEND", "")
	_ = os.Unsetenv("GOMLX_BACKEND")
	t.Setenv(kernelspec.DataDirEnv, t.TempDir())
	p, err := project.Find("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kernelspec.Install(p, kernelspec.Options{}); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDoctorWithoutPluginNamesFallbackAndFix(t *testing.T) {
	if _, err := os.Stat(filepath.Join("/usr/local/lib/go-xla", backend.PluginFile)); err == nil {
		t.Skip("a PJRT plugin in /usr/local/lib/go-xla is always found: the fallback cannot be observed here")
	}
	p := checkout(t, t.TempDir())
	r := doctor.Run(p, doctor.Options{})
	if !r.Backend.Fallback || r.Backend.Kind != "go" {
		t.Fatalf("backend %+v, want the pure-Go fallback", r.Backend)
	}
	be, ok := r.Find("backend")
	if !ok {
		t.Fatal("no backend check")
	}
	if be.Status != doctor.Fail {
		t.Errorf("backend check status %v, want FAIL on linux/amd64 (warn elsewhere)", be.Status)
	}
	if !strings.Contains(be.Detail, "FALLBACK") || !strings.Contains(be.Detail, "pure-Go") {
		t.Errorf("backend detail %q does not name the fallback", be.Detail)
	}
	if !strings.Contains(be.Fix, "make setup") || !strings.Contains(be.Fix, "fiberkernel pjrt install") {
		t.Errorf("backend fix %q does not say how to install the plugin", be.Fix)
	}
	if !r.Broken() {
		t.Error("report without a plugin is not Broken on linux/amd64")
	}
	var out bytes.Buffer
	r.Write(&out)
	for _, want := range []string{"FAIL  pjrt plugin", "fix: make setup", "backend: go (pure Go, SLOW", "failed: BROKEN"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}

	// Choosing the Go backend on purpose is not an error.
	t.Setenv("GOMLX_BACKEND", "go")
	r = doctor.Run(p, doctor.Options{})
	if c, _ := r.Find("backend"); c.Status != doctor.OK {
		t.Errorf("GOMLX_BACKEND=go: backend check %v (%s), want ok", c.Status, c.Detail)
	}
	if c, _ := r.Find("pjrt plugin"); c.Status != doctor.Warn {
		t.Errorf("GOMLX_BACKEND=go without plugin: plugin check %v, want warn", c.Status)
	}
}

func TestDoctorAllGreenWithSetUp(t *testing.T) {
	real := backend.FindCPUPlugin()
	if real == "" {
		t.Skip("no PJRT CPU plugin installed: run `make setup` (make test always does)")
	}
	p := checkout(t, filepath.Dir(real))
	for _, f := range []string{p.GoNB(), p.GoImports(), p.Python()} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("%s is not built: run `make setup` (make test always does)", f)
		}
	}
	r := doctor.Run(p, doctor.Options{})
	var out bytes.Buffer
	r.Write(&out)
	if r.Broken() {
		t.Fatalf("doctor reports a broken set-up:\n%s", out.String())
	}
	if r.Backend.Kind != "xla-cpu" || r.Backend.PluginPath != real {
		t.Errorf("backend %+v, want xla-cpu via %s", r.Backend, real)
	}
	if !strings.Contains(out.String(), "backend: xla-cpu (XLA on CPU via the PJRT plugin "+real) {
		t.Errorf("report does not name the backend:\n%s", out.String())
	}

	// Breaking the kernel spec is caught.
	spec, _ := kernelspec.Read(kernelspec.Dir(p, kernelspec.Options{}))
	spec.Argv[0] = "/nonexistent/gonb"
	if _, err := kernelspec.WriteSpec(kernelspec.Dir(p, kernelspec.Options{}), spec); err != nil {
		t.Fatal(err)
	}
	r = doctor.Run(p, doctor.Options{})
	if c, _ := r.Find("kernel spec"); c.Status != doctor.Fail || !strings.Contains(c.Detail, "/nonexistent/gonb") {
		t.Errorf("broken kernel spec: %+v", c)
	}
}

func TestFindCUDAPlugins(t *testing.T) {
	venv := t.TempDir()
	dir := filepath.Join(venv, "lib", "python3.12", "site-packages", "jax_plugins", "xla_cuda13")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, doctor.CUDAPluginName)
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	found := doctor.FindCUDAPlugins(venv)
	ok := false
	for _, f := range found {
		ok = ok || f == p
	}
	if !ok {
		t.Errorf("FindCUDAPlugins(%s) = %q, want it to include %s", venv, found, p)
	}
}
