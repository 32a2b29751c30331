package docker

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// entrypointRig is a fake image layout for docker/entrypoint.sh: a checkout with two notebooks, a home, a CUDA
// folder and a device folder, and a stand-in for scripts/lab.sh that prints the environment it was given.
type entrypointRig struct {
	dir, root, home, cuda, devices, portFile string
}

func newEntrypointRig(t *testing.T) entrypointRig {
	t.Helper()
	dir := t.TempDir()
	r := entrypointRig{
		dir:      dir,
		root:     filepath.Join(dir, "opt", "fiberbnn"),
		home:     filepath.Join(dir, "home"),
		cuda:     filepath.Join(dir, "cuda"),
		devices:  filepath.Join(dir, "dev"),
		portFile: filepath.Join(dir, "lab.port"),
	}
	for _, d := range []string{filepath.Join(r.root, "notebooks"), filepath.Join(r.root, "scripts"), r.home, r.cuda, r.devices} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"notebooks/00_quickstart.ipynb": `{"cells": []}`,
		"notebooks/01_other.ipynb":      `{"cells": [1]}`,
		"notebooks/README.md":           "# Notebooks\n",
		"scripts/lab.sh": "#!/usr/bin/env bash\n" +
			"for v in FIBERBNN_LAB_TOKEN FIBERBNN_LAB_IP FIBERBNN_LAB_DIR FIBERBNN_LAB_PORT GOMLX_BACKEND GOPJRT_CUDA_CHECKS; do\n" +
			"  if [ -n \"${!v+set}\" ]; then echo \"$v=${!v}\"; fi\n" +
			"done\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(r.root, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// addCUDAPlugin puts a (fake) CUDA plugin where the GPU image has it; addGPU a device node stand-in.
func (r entrypointRig) addCUDAPlugin(t *testing.T) string {
	t.Helper()
	p := filepath.Join(r.cuda, "jax_plugins", "xla_cuda13", "xla_cuda_plugin.so")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("ELF"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (r entrypointRig) addGPU(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(r.devices, "nvidia0"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// run starts entrypoint.sh with the rig's layout and extra environment; it returns the stand-in lab's
// variables (KEY -> value), the full stdout, stderr and the error.
func (r entrypointRig) run(t *testing.T, extra []string, args ...string) (map[string]string, string, string, error) {
	t.Helper()
	env := append([]string{
		"HOME=" + r.home, "FIBERBNN_ROOT=" + r.root, "FIBERBNN_WORK", "FIBERBNN_CUDA_DIR=" + r.cuda,
		"FIBERBNN_GPU_DEVICES=" + filepath.Join(r.devices, "nvidia[0-9]*"), "FIBERBNN_LAB_PORT_FILE=" + r.portFile,
		"FIBERBNN_LAB_CMD", "FIBERBNN_LAB_PORT", "FIBERBNN_LAB_TOKEN", "JUPYTER_TOKEN", "GOMLX_BACKEND", "GOPJRT_CUDA_CHECKS",
	}, extra...)
	stdout, stderr, err := runScript(t, env, "entrypoint.sh", args...)
	vars := map[string]string{}
	for _, l := range strings.Split(stdout, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && regexp.MustCompile(`^[A-Z_]+$`).MatchString(k) {
			vars[k] = v
		}
	}
	return vars, stdout, stderr, err
}

func TestEntrypointToken(t *testing.T) {
	needTools(t, "bash", "python3")
	r := newEntrypointRig(t)

	vars, stdout, stderr, err := r.run(t, []string{"JUPYTER_TOKEN=s3cret-token"})
	if err != nil {
		t.Fatalf("entrypoint lab failed: %v\n%s%s", err, stdout, stderr)
	}
	want := map[string]string{
		"FIBERBNN_LAB_TOKEN": "s3cret-token", "FIBERBNN_LAB_IP": "0.0.0.0",
		"FIBERBNN_LAB_DIR": filepath.Join(r.home, "work"), "FIBERBNN_LAB_PORT": "8888",
	}
	for k, w := range want {
		if vars[k] != w {
			t.Errorf("lab got %s=%q, want %q", k, vars[k], w)
		}
	}
	if port, err := os.ReadFile(r.portFile); err != nil || strings.TrimSpace(string(port)) != "8888" {
		t.Errorf("port file for the health check: %q, %v; want 8888", port, err)
	}

	// No token given: a random one, long, URL-safe, different each start.
	tokens := map[string]bool{}
	for i := 0; i < 2; i++ {
		vars, stdout, stderr, err := r.run(t, nil)
		if err != nil {
			t.Fatalf("entrypoint lab without a token failed: %v\n%s%s", err, stdout, stderr)
		}
		tok := vars["FIBERBNN_LAB_TOKEN"]
		if !regexp.MustCompile(`^[A-Za-z0-9_-]{32,}$`).MatchString(tok) {
			t.Errorf("random token %q: want at least 32 URL-safe characters", tok)
		}
		tokens[tok] = true
	}
	if len(tokens) != 2 {
		t.Errorf("two starts gave the same random token")
	}

	// An empty token is refused, whichever variable carries it, and JupyterLab does not start.
	for _, env := range []string{"JUPYTER_TOKEN=", "FIBERBNN_LAB_TOKEN="} {
		vars, _, stderr, err := r.run(t, []string{env})
		if err == nil || len(vars) > 0 {
			t.Errorf("%s: entrypoint started the lab (%v) with an empty token", env, vars)
		}
		if !strings.Contains(stderr, "empty") {
			t.Errorf("%s: the refusal should say the token is empty; stderr:\n%s", env, stderr)
		}
	}
	// JupyterLab's own variable name wins over ours.
	vars, _, _, err = r.run(t, []string{"JUPYTER_TOKEN=a-token", "FIBERBNN_LAB_TOKEN=b-token"})
	if err != nil || vars["FIBERBNN_LAB_TOKEN"] != "a-token" {
		t.Errorf("JUPYTER_TOKEN should win: got %q (%v)", vars["FIBERBNN_LAB_TOKEN"], err)
	}
}

func TestEntrypointTutorials(t *testing.T) {
	needTools(t, "bash", "python3")
	r := newEntrypointRig(t)
	if _, stdout, stderr, err := r.run(t, nil); err != nil {
		t.Fatalf("entrypoint lab failed: %v\n%s%s", err, stdout, stderr)
	}
	tut := filepath.Join(r.home, "work", "tutorials")
	for _, name := range []string{"00_quickstart.ipynb", "01_other.ipynb", "README.md"} {
		got, err := os.ReadFile(filepath.Join(tut, name))
		want, _ := os.ReadFile(filepath.Join(r.root, "notebooks", name))
		if err != nil || string(got) != string(want) {
			t.Errorf("tutorial %s: %q (%v), want a copy of %q", name, got, err, want)
		}
	}
	// The user's own folder is never overwritten: edit a tutorial, remove another, start again.
	edited := filepath.Join(tut, "00_quickstart.ipynb")
	if err := os.WriteFile(edited, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(tut, "01_other.ipynb")); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := r.run(t, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(edited); string(got) != "mine" {
		t.Errorf("a restart overwrote the user's tutorial: %q", got)
	}
	if _, err := os.Stat(filepath.Join(tut, "01_other.ipynb")); err == nil {
		t.Errorf("a restart brought back a tutorial the user removed")
	}
}

func TestEntrypointBackend(t *testing.T) {
	needTools(t, "bash", "python3")
	cases := []struct {
		name          string
		plugin, gpu   bool
		env           []string
		wantBackend   string // "" = unset; "plugin" = xla:<the plugin path>
		wantSaid      string
		wantCUDACheck string
	}{
		{name: "CPU image", wantSaid: "XLA on CPU"},
		{name: "CPU image with a GPU", gpu: true, wantSaid: "XLA on CPU"},
		{name: "GPU image without a GPU", plugin: true, wantSaid: "no GPU is visible"},
		{name: "GPU image with a GPU", plugin: true, gpu: true, wantBackend: "plugin", wantSaid: "NVIDIA GPU", wantCUDACheck: "0"},
		{name: "user's choice", plugin: true, gpu: true, env: []string{"GOMLX_BACKEND=go"}, wantBackend: "go", wantSaid: "as given"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newEntrypointRig(t)
			plugin := ""
			if c.plugin {
				plugin = r.addCUDAPlugin(t)
			}
			if c.gpu {
				r.addGPU(t)
			}
			vars, stdout, stderr, err := r.run(t, append([]string{"JUPYTER_TOKEN=t0ken"}, c.env...))
			if err != nil {
				t.Fatalf("entrypoint failed: %v\n%s%s", err, stdout, stderr)
			}
			want := c.wantBackend
			if want == "plugin" {
				want = "xla:" + plugin
			}
			if vars["GOMLX_BACKEND"] != want {
				t.Errorf("GOMLX_BACKEND=%q, want %q", vars["GOMLX_BACKEND"], want)
			}
			if vars["GOPJRT_CUDA_CHECKS"] != c.wantCUDACheck {
				t.Errorf("GOPJRT_CUDA_CHECKS=%q, want %q", vars["GOPJRT_CUDA_CHECKS"], c.wantCUDACheck)
			}
			if !strings.Contains(stdout, c.wantSaid) {
				t.Errorf("the entrypoint should say %q; stdout:\n%s", c.wantSaid, stdout)
			}
		})
	}
}

func TestEntrypointOtherCommand(t *testing.T) {
	needTools(t, "bash", "python3")
	r := newEntrypointRig(t)
	_, stdout, stderr, err := r.run(t, nil, "echo", "hello", "image")
	if err != nil || strings.TrimSpace(stdout) != "hello image" {
		t.Errorf("`entrypoint.sh echo hello image` printed %q (%v, %s)", stdout, err, stderr)
	}
	if _, err := os.Stat(r.portFile); err == nil {
		t.Errorf("a non-lab command wrote the port file: the health check would probe a server that is not there")
	}
}

// TestHealthcheck: healthy without a lab (no port file), healthy when the server answers /api, unhealthy when
// nothing listens on the port.
func TestHealthcheck(t *testing.T) {
	needTools(t, "bash", "python3")
	portFile := filepath.Join(t.TempDir(), "lab.port")
	env := []string{"FIBERBNN_LAB_PORT_FILE=" + portFile}
	if _, stderr, err := runScript(t, env, "healthcheck.sh"); err != nil {
		t.Errorf("no lab started: want healthy, got %v\n%s", err, stderr)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/api" {
			http.NotFound(w, req)
			return
		}
		fmt.Fprint(w, `{"version": "2.99.0"}`)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	if err := os.WriteFile(portFile, []byte(port+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runScript(t, env, "healthcheck.sh")
	if err != nil || !strings.Contains(stdout, "2.99.0") {
		t.Errorf("server answering: want healthy naming its version, got %v\n%s%s", err, stdout, stderr)
	}

	// A port nobody listens on: take a free one and close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, deadPort, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	if err := os.WriteFile(portFile, []byte(deadPort+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runScript(t, env, "healthcheck.sh"); err == nil {
		t.Errorf("nothing listening on port %s: want unhealthy (non-zero exit)", deadPort)
	}
}
