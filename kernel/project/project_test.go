package project_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/kernel/project"
)

func unset(t *testing.T, keys ...string) {
	t.Helper()
	for _, k := range keys {
		t.Setenv(k, "")
		_ = os.Unsetenv(k)
	}
}

func TestFindWalksUpAndHonoursRootEnv(t *testing.T) {
	unset(t, project.RootEnv, project.DataEnv)
	t.Setenv("FIBERBNN_HOME", "/cache/fb")
	base := t.TempDir()
	root := filepath.Join(base, "checkout")
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	// A go.mod of another module on the way up is skipped.
	if err := os.WriteFile(filepath.Join(root, "a", "go.mod"), []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("// comment\nmodule "+project.ModulePath+"\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := project.Find(deep)
	if err != nil {
		t.Fatal(err)
	}
	want := project.Paths{Root: root, Bin: filepath.Join(root, "bin"), Venv: filepath.Join(root, ".venv"),
		Home: "/cache/fb", PluginDir: "/cache/fb/pjrt"}
	if p != want {
		t.Errorf("Find = %+v, want %+v", p, want)
	}

	// ../shared/data beside the checkout is the data dir when it exists; FIBERBNN_DATA wins.
	if err := os.MkdirAll(filepath.Join(base, "shared", "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if p, _ := project.Find(deep); p.Data != filepath.Join(base, "shared", "data") {
		t.Errorf("Data = %q, want ../shared/data", p.Data)
	}
	t.Setenv(project.DataEnv, "/my/data")
	if p, _ := project.Find(deep); p.Data != "/my/data" {
		t.Errorf("Data with FIBERBNN_DATA = %q", p.Data)
	}

	t.Setenv(project.RootEnv, root)
	if p, err := project.Find(t.TempDir()); err != nil || p.Root != root {
		t.Errorf("Find with FIBERBNN_ROOT: %+v, %v", p, err)
	}
	t.Setenv(project.RootEnv, filepath.Join(root, "a"))
	if _, err := project.Find(""); err == nil || !strings.Contains(err.Error(), project.RootEnv) {
		t.Errorf("FIBERBNN_ROOT at another module: error %v, want one naming the variable", err)
	}
	unset(t, project.RootEnv)
	if _, err := project.Find(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no go.mod of") {
		t.Errorf("outside any checkout: error %v", err)
	}
}
