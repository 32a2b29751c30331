// Package kernelspec writes and reads the Jupyter kernel specification that runs GoNB wired to this module.
//
// The spec has the semantics of `gonb --install --go_work=<root>`: Jupyter starts GoNB with
// `--go_work=<root>`, so every notebook's scratch module joins a go.work with the project's module, and
// notebooks import fiberlib (and every package the root go.mod requires) with no per-notebook set-up beyond
// `%noautoget` in their first cell. Unlike `gonb --install`, the spec gets its own name ("fiberbnn") and
// display name ("Go (fiberlib)"), so it sits beside a plain GoNB kernel without replacing it, and its env
// sets what the kernel needs (PATH with go and bin/, the PJRT plugin path, no plugin download, the data dir).
package kernelspec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/fiberbnn/fiberbnn/kernel/project"
)

// DefaultName is the kernel name notebooks refer to in their metadata (kernelspec.name).
const DefaultName = "fiberbnn"

// DefaultDisplayName is the name Jupyter shows in its launcher and kernel menu.
const DefaultDisplayName = "Go (fiberlib)"

// DataDirEnv names the environment variable that overrides Jupyter's data directory.
const DataDirEnv = "JUPYTER_DATA_DIR"

// Spec is the content of a Jupyter kernel.json.
type Spec struct {
	Argv          []string          `json:"argv"`
	DisplayName   string            `json:"display_name"`
	Language      string            `json:"language"`
	InterruptMode string            `json:"interrupt_mode,omitempty"`
	Env           map[string]string `json:"env,omitempty"`
	Metadata      map[string]any    `json:"metadata,omitempty"`
}

// Options say how to build the spec. The zero value is valid: it means the defaults documented per field.
type Options struct {
	// Name is the kernel name (the directory under kernels/). Default DefaultName.
	Name string
	// DisplayName is shown by Jupyter. Default DefaultDisplayName.
	DisplayName string
	// DataDir is the Jupyter data directory to install into. Default: $JUPYTER_DATA_DIR when set, else the
	// virtual environment's share/jupyter (seen only by the project's own Jupyter).
	DataDir string
	// RawError adds GoNB's --raw_error flag: cell errors as plain text instead of HTML (for headless runs).
	RawError bool
}

// DataDir returns the Jupyter data directory Install writes to for opts and p.
func DataDir(p project.Paths, opts Options) string {
	switch {
	case opts.DataDir != "":
		return opts.DataDir
	case os.Getenv(DataDirEnv) != "":
		return os.Getenv(DataDirEnv)
	default:
		return p.VenvDataDir()
	}
}

func (o Options) name() string {
	if o.Name == "" {
		return DefaultName
	}
	return o.Name
}

// Dir returns the kernel's directory (DataDir/kernels/Name).
func Dir(p project.Paths, opts Options) string {
	return filepath.Join(DataDir(p, opts), "kernels", opts.name())
}

// ForProject builds the spec for the checkout p. It needs the go command on PATH (its directory goes into the
// kernel's PATH); it does not check that gonb is built (doctor does).
func ForProject(p project.Paths, opts Options) (Spec, error) {
	goDir, err := GoBinDir()
	if err != nil {
		return Spec{}, err
	}
	display := opts.DisplayName
	if display == "" {
		display = DefaultDisplayName
	}
	argv := []string{p.GoNB(), "--kernel", "{connection_file}", "--go_work=" + p.Root}
	if opts.RawError {
		argv = append(argv, "--raw_error")
	}
	// Jupyter (jupyter_client ≥ 7) substitutes ${VAR} in env values from its own environment.
	env := map[string]string{
		"PATH":                     p.Bin + string(os.PathListSeparator) + goDir + string(os.PathListSeparator) + "${PATH}",
		"PJRT_PLUGIN_LIBRARY_PATH": p.PluginDir,
		"GOMLX_NO_AUTO_INSTALL":    "1",
		"FIBERBNN_HOME":            p.Home,
		project.RootEnv:            p.Root,
	}
	if p.Data != "" {
		env[project.DataEnv] = p.Data
	}
	return Spec{
		Argv:          argv,
		DisplayName:   display,
		Language:      "go",
		InterruptMode: "message",
		Env:           env,
		Metadata:      map[string]any{"fiberbnn": map[string]any{"root": p.Root}},
	}, nil
}

// GoBinDir returns the directory of the go command found on PATH.
func GoBinDir() (string, error) {
	g, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is not on PATH (%v): install Go 1.26+ from https://go.dev/dl and add its bin/ to PATH", err)
	}
	if r, err := filepath.EvalSymlinks(g); err == nil {
		g = r
	}
	abs, err := filepath.Abs(g)
	if err != nil {
		return "", fmt.Errorf("go command %q: %w", g, err)
	}
	return filepath.Dir(abs), nil
}

// Result tells what Install did.
type Result struct {
	// Path is the kernel.json written or found.
	Path string
	// Changed is false when an identical kernel.json was already there (nothing was written).
	Changed bool
}

// Install writes the spec for p into Dir(p, opts)/kernel.json, atomically (temp file + rename). It is
// idempotent: when the file already holds the same spec, it writes nothing and reports Changed false.
func Install(p project.Paths, opts Options) (Result, error) {
	spec, err := ForProject(p, opts)
	if err != nil {
		return Result{}, err
	}
	return WriteSpec(Dir(p, opts), spec)
}

// WriteSpec writes spec as dir/kernel.json (creating dir), unless an identical spec is already there.
func WriteSpec(dir string, spec Spec) (Result, error) {
	path := filepath.Join(dir, "kernel.json")
	data, err := Encode(spec)
	if err != nil {
		return Result{}, err
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return Result{Path: path}, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Result{}, fmt.Errorf("creating kernel directory %q: %w", dir, err)
	}
	if err := writeFileAtomic(path, data, 0o644); err != nil {
		return Result{}, err
	}
	return Result{Path: path, Changed: true}, nil
}

// Encode returns the kernel.json bytes for spec: indented JSON with sorted keys, so that the same spec
// always gives the same bytes.
func Encode(spec Spec) ([]byte, error) {
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding kernel spec: %w", err)
	}
	return append(data, '\n'), nil
}

// Read loads dir/kernel.json.
func Read(dir string) (Spec, error) {
	path := filepath.Join(dir, "kernel.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, fmt.Errorf("reading kernel spec: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes the bytes of a kernel.json; path names the file in errors.
func Parse(data []byte, path string) (Spec, error) {
	var s Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return Spec{}, fmt.Errorf("kernel spec %q is not valid JSON: %w", path, err)
	}
	return s, nil
}

// Problems lists what is wrong with an installed spec for the checkout p: a missing or non-executable kernel
// binary, a --go_work that is not p's root, plugin or PATH directories that do not exist. Empty when the spec
// is usable.
func Problems(spec Spec, p project.Paths) []string {
	var out []string
	if len(spec.Argv) < 3 {
		return []string{fmt.Sprintf("argv %q is too short to start GoNB", spec.Argv)}
	}
	if st, err := os.Stat(spec.Argv[0]); err != nil {
		out = append(out, fmt.Sprintf("kernel binary %q does not exist", spec.Argv[0]))
	} else if st.Mode()&0o111 == 0 {
		out = append(out, fmt.Sprintf("kernel binary %q is not executable", spec.Argv[0]))
	}
	var work string
	for _, a := range spec.Argv[1:] {
		if v, ok := strings.CutPrefix(a, "--go_work="); ok {
			work = v
		}
	}
	if work == "" {
		out = append(out, "argv has no --go_work: notebooks would not see the project's module")
	} else if !slices.ContainsFunc(strings.Split(work, ","), func(w string) bool { return filepath.Clean(w) == p.Root }) {
		out = append(out, fmt.Sprintf("--go_work=%s does not include this checkout %q", work, p.Root))
	}
	if pp := spec.Env["PJRT_PLUGIN_LIBRARY_PATH"]; pp == "" {
		out = append(out, "env has no PJRT_PLUGIN_LIBRARY_PATH")
	} else if !slices.Contains(filepath.SplitList(pp), p.PluginDir) {
		out = append(out, fmt.Sprintf("env PJRT_PLUGIN_LIBRARY_PATH=%s does not include %s (installed with another FIBERBNN_HOME?)", pp, p.PluginDir))
	}
	for _, d := range filepath.SplitList(spec.Env["PATH"]) {
		if strings.Contains(d, "${") {
			continue
		}
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			out = append(out, fmt.Sprintf("PATH entry %q is not a directory", d))
		}
	}
	sort.Strings(out)
	return out
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, perm)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("writing %q: %w", path, werr)
	}
	return nil
}
