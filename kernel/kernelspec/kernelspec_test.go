package kernelspec_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/kernel/kernelspec"
	"github.com/fiberbnn/fiberbnn/kernel/project"
)

// fakeCheckout makes a checkout with a go.mod, an executable bin/gonb and a data dir beside it.
func fakeCheckout(t *testing.T) project.Paths {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "repo")
	for _, d := range []string{filepath.Join(root, "bin"), filepath.Join(base, "shared", "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module "+project.ModulePath+"\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "gonb"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FIBERBNN_HOME", filepath.Join(base, "cache"))
	t.Setenv(project.DataEnv, "")
	_ = os.Unsetenv(project.DataEnv)
	t.Setenv(project.RootEnv, "")
	_ = os.Unsetenv(project.RootEnv)
	p, err := project.Find(filepath.Join(root, "bin"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInstallIsIdempotentAndHonoursJupyterDataDir(t *testing.T) {
	p := fakeCheckout(t)
	dataDir := t.TempDir()
	t.Setenv(kernelspec.DataDirEnv, dataDir)

	r1, err := kernelspec.Install(p, kernelspec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dataDir, "kernels", "fiberbnn", "kernel.json")
	if r1.Path != want || !r1.Changed {
		t.Fatalf("first install: %+v, want a new %s", r1, want)
	}
	first, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	st1, _ := os.Stat(want)

	r2, err := kernelspec.Install(p, kernelspec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(want)
	st2, _ := os.Stat(want)
	if r2.Changed || string(first) != string(second) || !st1.ModTime().Equal(st2.ModTime()) {
		t.Fatalf("second install rewrote the spec: changed=%v", r2.Changed)
	}
	entries, _ := os.ReadDir(filepath.Dir(want))
	if len(entries) != 1 {
		t.Fatalf("kernel dir holds %d entries (temporary files left?), want only kernel.json", len(entries))
	}

	spec, err := kernelspec.Read(filepath.Dir(want))
	if err != nil {
		t.Fatal(err)
	}
	if spec.DisplayName != "Go (fiberlib)" || spec.Language != "go" {
		t.Errorf("display name %q language %q", spec.DisplayName, spec.Language)
	}
	wantArgv := []string{p.GoNB(), "--kernel", "{connection_file}", "--go_work=" + p.Root}
	if strings.Join(spec.Argv, " ") != strings.Join(wantArgv, " ") {
		t.Errorf("argv %q, want %q", spec.Argv, wantArgv)
	}
	goDir, _ := kernelspec.GoBinDir()
	for k, v := range map[string]string{
		"PJRT_PLUGIN_LIBRARY_PATH": p.PluginDir,
		"GOMLX_NO_AUTO_INSTALL":    "1",
		"FIBERBNN_DATA":            filepath.Join(filepath.Dir(p.Root), "shared", "data"),
		"PATH":                     p.Bin + ":" + goDir + ":${PATH}",
	} {
		if spec.Env[k] != v {
			t.Errorf("env %s = %q, want %q", k, spec.Env[k], v)
		}
	}
	if probs := kernelspec.Problems(spec, p); len(probs) != 0 {
		t.Errorf("fresh spec has problems: %q", probs)
	}

	// A changed setting rewrites the spec.
	r3, err := kernelspec.Install(p, kernelspec.Options{RawError: true})
	if err != nil || !r3.Changed {
		t.Fatalf("install with --raw_error: %+v, %v; want a rewrite", r3, err)
	}
	spec, _ = kernelspec.Read(filepath.Dir(want))
	if spec.Argv[len(spec.Argv)-1] != "--raw_error" {
		t.Errorf("argv %q lacks --raw_error", spec.Argv)
	}
}

func TestDefaultDataDirIsTheVenv(t *testing.T) {
	p := fakeCheckout(t)
	t.Setenv(kernelspec.DataDirEnv, "")
	_ = os.Unsetenv(kernelspec.DataDirEnv)
	if got, want := kernelspec.Dir(p, kernelspec.Options{}), filepath.Join(p.Root, ".venv", "share", "jupyter", "kernels", "fiberbnn"); got != want {
		t.Errorf("Dir = %q, want %q", got, want)
	}
}

func TestProblemsFindsBrokenSpecs(t *testing.T) {
	p := fakeCheckout(t)
	good, err := kernelspec.ForProject(p, kernelspec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*kernelspec.Spec)
		want   string
	}{
		{"missing binary", func(s *kernelspec.Spec) { s.Argv[0] = "/nonexistent/gonb" }, "does not exist"},
		{"no go_work", func(s *kernelspec.Spec) { s.Argv = s.Argv[:3] }, "no --go_work"},
		{"other checkout", func(s *kernelspec.Spec) { s.Argv[3] = "--go_work=/elsewhere" }, "does not include this checkout"},
		{"no plugin path", func(s *kernelspec.Spec) { delete(s.Env, "PJRT_PLUGIN_LIBRARY_PATH") }, "PJRT_PLUGIN_LIBRARY_PATH"},
		{"other plugin dir", func(s *kernelspec.Spec) { s.Env["PJRT_PLUGIN_LIBRARY_PATH"] = "/elsewhere/pjrt" }, "another FIBERBNN_HOME"},
		{"bad PATH", func(s *kernelspec.Spec) { s.Env["PATH"] = "/nonexistent/bin:${PATH}" }, "not a directory"},
	} {
		s := good
		s.Argv = append([]string(nil), good.Argv...)
		s.Env = map[string]string{}
		for k, v := range good.Env {
			s.Env[k] = v
		}
		tc.mutate(&s)
		probs := kernelspec.Problems(s, p)
		if len(probs) != 1 || !strings.Contains(probs[0], tc.want) {
			t.Errorf("%s: problems %q, want one containing %q", tc.name, probs, tc.want)
		}
	}
}
