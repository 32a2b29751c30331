package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/kernel/kernelspec"
	"github.com/fiberbnn/fiberbnn/kernel/project"
)

// buildCommand builds fiberkernel into a temporary directory and returns its path.
func buildCommand(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "fiberkernel")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// run runs the command in dir with extra environment and returns its combined output and exit code.
func run(t *testing.T, bin, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	t.Fatalf("running %s: %v", bin, err)
	return "", -1
}

// writeNotebook writes a notebook with the given code cells after one markdown cell.
func writeNotebook(t *testing.T, path string, code ...string) {
	t.Helper()
	cells := []map[string]any{{"cell_type": "markdown", "metadata": map[string]any{}, "source": "# t"}}
	for _, c := range code {
		cells = append(cells, map[string]any{"cell_type": "code", "metadata": map[string]any{}, "source": c,
			"outputs": []any{}, "execution_count": nil})
	}
	data, _ := json.Marshal(map[string]any{"cells": cells, "nbformat": 4, "nbformat_minor": 5,
		"metadata": map[string]any{"kernelspec": map[string]any{"name": "fiberbnn", "display_name": "Go (fiberlib)"}}})
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Without the set-up, `fiberkernel run` and `fiberkernel doctor` exit 1 and say what to do; an unknown
// command exits 2 with the usage.
func TestExitCodesWithoutSetUp(t *testing.T) {
	bin := buildCommand(t)
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module "+project.ModulePath+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{project.RootEnv + "=", "FIBERBNN_HOME=" + filepath.Join(root, "home"),
		kernelspec.DataDirEnv + "=" + filepath.Join(root, "jupyter")}
	out, code := run(t, bin, root, env, "run", "x.ipynb")
	if code != 1 || !strings.Contains(out, "no Python virtual environment at") || !strings.Contains(out, "make setup") {
		t.Errorf("run without a venv: exit %d, output %q", code, out)
	}
	out, code = run(t, bin, root, env, "doctor")
	if code != 1 || !strings.Contains(out, "FAIL") || !strings.Contains(out, "make setup") {
		t.Errorf("doctor on an empty checkout: exit %d, output %q", code, out)
	}
	out, code = run(t, bin, root, env, "frobnicate")
	if code != 2 || !strings.Contains(out, "unknown command") {
		t.Errorf("unknown command: exit %d, output %q", code, out)
	}
	out, code = run(t, bin, t.TempDir(), env, "run")
	if code != 1 || !strings.Contains(out, "no go.mod of "+project.ModulePath) {
		t.Errorf("outside a checkout: exit %d, output %q", code, out)
	}
}

// With the set-up in place, `fiberkernel install` is idempotent (the second run changes nothing and says
// so) and `fiberkernel run` on a notebook whose third code cell panics exits 1, naming the cell index, its
// first line and the panic (a passing notebook exits 0: kernel/nbrun tests it).
func TestRunExitsNonZeroOnAFailingCell(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: notebook execution skipped")
	}
	p, err := project.Find("")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{p.Python(), p.GoNB(), p.GoImports()} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("%s is not built, so notebooks can not run: run `make setup` (make test always does)", f)
		}
	}
	bin := buildCommand(t)
	jupyter := t.TempDir()
	env := []string{kernelspec.DataDirEnv + "=" + jupyter, "PATH=" + p.Bin + string(os.PathListSeparator) + os.Getenv("PATH")}
	out, code := run(t, bin, p.Root, env, "install")
	if code != 0 || !strings.Contains(out, "registered") {
		t.Fatalf("install: exit %d, output %q", code, out)
	}
	spec1, err := os.ReadFile(filepath.Join(jupyter, "kernels", kernelspec.DefaultName, "kernel.json"))
	if err != nil {
		t.Fatal(err)
	}
	out, code = run(t, bin, p.Root, env, "install")
	if code != 0 || !strings.Contains(out, "already registered") {
		t.Errorf("second install: exit %d, output %q, want `already registered`", code, out)
	}
	spec2, _ := os.ReadFile(filepath.Join(jupyter, "kernels", kernelspec.DefaultName, "kernel.json"))
	if string(spec1) != string(spec2) {
		t.Errorf("the second install changed kernel.json:\n%s\n%s", spec1, spec2)
	}

	dir, outDir := t.TempDir(), t.TempDir()
	bad := filepath.Join(dir, "bad.ipynb")
	writeNotebook(t, bad, "%noautoget", "%%\nfmt.Println(\"fine\")", "%%\npanic(\"broken on purpose\")")
	out, code = run(t, bin, p.Root, env, "run", "--out", outDir, "--timeout", "300", bad)
	t.Logf("fiberkernel run output:\n%s", out)
	if code != 1 {
		t.Errorf("a failing cell: exit %d, want 1", code)
	}
	// Cells: markdown [0], %noautoget [1], the fine cell [2], the panic [3].
	for _, want := range []string{"FAIL", "cell [3] (%%) failed:", "broken on purpose", "notebooks: 0 passed, 1 failed, 0 skipped"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
