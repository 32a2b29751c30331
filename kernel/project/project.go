// Package project locates the pieces of a fiberbnn checkout and its local set-up: the module root, the tools in
// bin/, the Python virtual environment, the cache directory with the PJRT plugin, and the data directory.
//
// Every path is absolute. Nothing here creates files; the set-up (scripts/setup.sh) does, and
// `fiberkernel doctor` checks them.
package project

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
)

// ModulePath is the Go module path of the project; Find recognises the root by it.
const ModulePath = "github.com/fiberbnn/fiberbnn"

// RootEnv names the environment variable that, when set, gives the project root directly.
const RootEnv = "FIBERBNN_ROOT"

// DataEnv names the environment variable that points at the reference data directory.
const DataEnv = "FIBERBNN_DATA"

// Paths are the locations of one checkout's files and set-up.
type Paths struct {
	// Root is the module root (the directory holding go.mod).
	Root string
	// Bin is Root/bin, where the set-up builds gonb, goimports and fiberkernel.
	Bin string
	// Venv is Root/.venv, the Python virtual environment with JupyterLab and nbclient.
	Venv string
	// Home is fiberbnn's cache directory: $FIBERBNN_HOME, or ~/.cache/fiberbnn.
	Home string
	// PluginDir is Home/pjrt, where the set-up installs the PJRT CPU plugin.
	PluginDir string
	// Data is the reference data directory ($FIBERBNN_DATA, or ../shared/data beside the checkout), or "" if
	// neither exists.
	Data string
}

// Find locates the project from $FIBERBNN_ROOT, or else by walking up from dir (the current directory when
// empty) to the first go.mod that declares ModulePath.
func Find(dir string) (Paths, error) {
	if r := os.Getenv(RootEnv); r != "" {
		if !isRoot(r) {
			return Paths{}, fmt.Errorf("%s=%q does not hold the go.mod of %s: unset it or point it at the checkout", RootEnv, r, ModulePath)
		}
		return At(r)
	}
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return Paths{}, fmt.Errorf("finding the project root: %w", err)
		}
		dir = wd
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return Paths{}, fmt.Errorf("finding the project root from %q: %w", dir, err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if isRoot(d) {
			return At(d)
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return Paths{}, fmt.Errorf("no go.mod of %s in %q or above it: run fiberkernel inside the checkout, or set %s", ModulePath, dir, RootEnv)
}

// At returns the Paths of the checkout whose root is root.
func At(root string) (Paths, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return Paths{}, fmt.Errorf("project root %q: %w", root, err)
	}
	home, err := filepath.Abs(backend.Home())
	if err != nil {
		return Paths{}, fmt.Errorf("cache directory %q: %w", backend.Home(), err)
	}
	p := Paths{
		Root:      root,
		Bin:       filepath.Join(root, "bin"),
		Venv:      filepath.Join(root, ".venv"),
		Home:      home,
		PluginDir: filepath.Join(home, "pjrt"),
	}
	p.Data = DataDir(root)
	return p, nil
}

// DataDir returns the reference data directory: $FIBERBNN_DATA when set (even if missing, so that a wrong
// setting shows up in `fiberkernel doctor`), else ../shared/data beside the checkout at root when it exists,
// else "".
func DataDir(root string) string {
	if d := os.Getenv(DataEnv); d != "" {
		if abs, err := filepath.Abs(d); err == nil {
			return abs
		}
		return d
	}
	d := filepath.Join(filepath.Dir(root), "shared", "data")
	if st, err := os.Stat(d); err == nil && st.IsDir() {
		return d
	}
	return ""
}

// Python returns the virtual environment's python executable.
func (p Paths) Python() string { return filepath.Join(p.Venv, "bin", "python") }

// Jupyter returns the virtual environment's jupyter executable.
func (p Paths) Jupyter() string { return filepath.Join(p.Venv, "bin", "jupyter") }

// GoNB returns the path of the GoNB binary the set-up builds.
func (p Paths) GoNB() string { return filepath.Join(p.Bin, "gonb") }

// GoImports returns the path of the goimports binary the set-up builds.
func (p Paths) GoImports() string { return filepath.Join(p.Bin, "goimports") }

// PluginPath returns the path where the set-up installs the PJRT CPU plugin.
func (p Paths) PluginPath() string { return filepath.Join(p.PluginDir, backend.PluginFile) }

// VenvDataDir returns the Jupyter data directory inside the virtual environment (sys.prefix/share/jupyter),
// which the venv's Jupyter always searches: the default place to register the kernel.
func (p Paths) VenvDataDir() string { return filepath.Join(p.Venv, "share", "jupyter") }

// isRoot reports whether dir holds a go.mod whose module line is ModulePath.
func isRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`) == ModulePath
		}
	}
	return false
}
