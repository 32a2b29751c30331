package data

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

func TestDirSearchAndOverrides(t *testing.T) {
	// A checkout laid out as on CI: root/shared/data beside root/repo (holding go.mod), tests in a package dir.
	root := writeFiles(t, map[string]string{
		"shared/data/toy/banana/banana.csv": "1,2,1\n",
		"repo/go.mod":                       "module x\n",
		"repo/fiberlib/data/x.go":           "package data\n",
	})
	t.Setenv(EnvDataDir, "")
	t.Chdir(filepath.Join(root, "repo", "fiberlib", "data"))
	got, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "shared", "data"); got != want {
		t.Fatalf("Dir() = %s, want %s", got, want)
	}

	// $FIBERBNN_DATA wins over the search, and must exist.
	other := t.TempDir()
	t.Setenv(EnvDataDir, other)
	if got, err := Dir(); err != nil || got != other {
		t.Fatalf("Dir() with $%s = %s, %v", EnvDataDir, got, err)
	}
	t.Setenv(EnvDataDir, filepath.Join(other, "missing"))
	_, err = Dir()
	wantErr(t, err, "missing", "$"+EnvDataDir, "fix the path")

	// The -data flag wins over $FIBERBNN_DATA.
	fs := flag.NewFlagSet("cmd", flag.ContinueOnError)
	RegisterDirFlag(fs)
	flagDir := t.TempDir()
	if err := fs.Parse([]string{"-data", flagDir}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { SetDir("") })
	if got, err := Dir(); err != nil || got != flagDir {
		t.Fatalf("Dir() with -data = %s, %v", got, err)
	}
	SetDir("")

	// Nothing found: the error lists where it looked and how to set it.
	t.Setenv(EnvDataDir, "")
	empty := t.TempDir()
	t.Chdir(empty)
	_, err = Dir()
	wantErr(t, err, "data directory not found", filepath.Join(empty, "shared", "data"), "set $"+EnvDataDir, "-data")

	// A shared/data folder without any known set is not taken.
	decoy := writeFiles(t, map[string]string{"shared/data/README.md": "x"})
	t.Chdir(decoy)
	if got, err := Dir(); err == nil && got == filepath.Join(decoy, "shared", "data") {
		t.Fatal("Dir() took a shared/data folder holding no data set")
	}
	// A file given as the directory is refused.
	f := filepath.Join(empty, "file")
	os.WriteFile(f, []byte("x"), 0o644)
	t.Setenv(EnvDataDir, f)
	_, err = Dir()
	wantErr(t, err, "is not a directory")
}
