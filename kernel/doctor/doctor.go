// Package doctor checks a checkout's set-up (tools, Jupyter, kernel spec, PJRT plugin, backend, GPU, data)
// and says, for each problem, how to fix it.
//
// Policy: a check fails (and `fiberkernel doctor` exits 1) when something the set-up is meant to provide is
// missing or broken: go, goimports, gonb, the venv's Jupyter, the kernel spec, and — on linux/amd64, where the
// pinned plugin wheel exists — the PJRT CPU plugin, without which fiberlib falls back to the slow pure-Go
// backend. The fallback is only a warning when the user chose it (GOMLX_BACKEND=go) or the platform has no
// pinned plugin. Missing data and the absence of a GPU are warnings or information, never failures.
package doctor

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/kernel/kernelspec"
	"github.com/fiberbnn/fiberbnn/kernel/pjrt"
	"github.com/fiberbnn/fiberbnn/kernel/project"
)

// Status is the outcome of one check.
type Status int

// The outcomes, from best to worst.
const (
	OK Status = iota
	Info
	Warn
	Fail
)

// String returns the label printed in the report.
func (s Status) String() string {
	return [...]string{"ok", "info", "warn", "FAIL"}[s]
}

// Check is one line of the report.
type Check struct {
	Name   string
	Status Status
	// Detail says what was found.
	Detail string
	// Fix says what to do, when Status is Warn or Fail.
	Fix string
}

// Report is the result of Run.
type Report struct {
	Paths   project.Paths
	Checks  []Check
	Backend backend.Choice
}

// Options configure Run.
type Options struct {
	// Kernel says where to look for the kernel spec (default: $JUPYTER_DATA_DIR or the venv).
	Kernel kernelspec.Options
}

// Broken reports whether any check failed.
func (r Report) Broken() bool {
	for _, c := range r.Checks {
		if c.Status == Fail {
			return true
		}
	}
	return false
}

// Find returns the first check with the given name.
func (r Report) Find(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

// Write prints the report: one line per check (with its fix underneath when there is one), the backend, and
// a closing count.
func (r Report) Write(w io.Writer) {
	fmt.Fprintf(w, "fiberkernel doctor: checkout %s\n", r.Paths.Root)
	counts := map[Status]int{}
	for _, c := range r.Checks {
		counts[c.Status]++
		fmt.Fprintf(w, "  %-4s  %-14s %s\n", c.Status, c.Name, c.Detail)
		if c.Fix != "" && c.Status >= Warn {
			for _, l := range strings.Split(c.Fix, "\n") {
				fmt.Fprintf(w, "        %-14s fix: %s\n", "", l)
			}
		}
	}
	fmt.Fprintf(w, "backend: %s (%s)\n", r.Backend.Kind, r.Backend.Reason)
	verdict := "everything needed is in place"
	if r.Broken() {
		verdict = "BROKEN: apply the fixes above (most are `make setup`)"
	}
	fmt.Fprintf(w, "doctor: %d ok, %d warnings, %d failed: %s\n", counts[OK]+counts[Info], counts[Warn], counts[Fail], verdict)
}

// Run performs every check. It reads files and runs `go version` and the venv's python; it changes nothing.
func Run(p project.Paths, opts Options) Report {
	r := Report{Paths: p, Backend: backend.Choose()}
	add := func(c Check) { r.Checks = append(r.Checks, c) }
	add(checkGo())
	add(checkBinary("goimports", p.GoImports(), "make setup   (builds it from kernel/tools into bin/)"))
	add(checkBinary("gonb", p.GoNB(), "make setup   (builds GoNB v0.11.4 from kernel/tools into bin/)"))
	add(checkJupyter(p))
	add(checkKernel(p, opts.Kernel))
	plugin := checkPlugin(p, r.Backend)
	add(plugin)
	add(checkBackend(r.Backend, plugin))
	add(checkGPU(p))
	add(checkData(p))
	add(checkFashionMNIST())
	return r
}

func checkGo() Check {
	c := Check{Name: "go"}
	dir, err := kernelspec.GoBinDir()
	if err != nil {
		c.Status, c.Detail, c.Fix = Fail, err.Error(), "install Go 1.26.8 or newer and put its bin/ on PATH"
		return c
	}
	out, err := exec.Command(filepath.Join(dir, "go"), "env", "GOVERSION").Output()
	if err != nil {
		c.Status, c.Detail, c.Fix = Fail, fmt.Sprintf("`go env GOVERSION` failed: %v", err), "reinstall Go"
		return c
	}
	c.Detail = fmt.Sprintf("%s at %s", strings.TrimSpace(string(out)), dir)
	return c
}

func checkBinary(name, path, fix string) Check {
	c := Check{Name: name, Detail: path}
	st, err := os.Stat(path)
	switch {
	case err != nil:
		c.Status, c.Detail, c.Fix = Fail, path+" is missing", fix
	case st.Mode()&0o111 == 0:
		c.Status, c.Detail, c.Fix = Fail, path+" is not executable", fix
	}
	return c
}

func checkJupyter(p project.Paths) Check {
	c := Check{Name: "jupyter", Fix: "make setup   (creates .venv/ from kernel/requirements.txt)"}
	if _, err := os.Stat(p.Python()); err != nil {
		c.Status, c.Detail = Fail, "no virtual environment at "+p.Venv
		return c
	}
	code := `import importlib.metadata as m; print(" ".join(f"{n}=={m.version(n)}" for n in ("jupyterlab","nbclient","nbconvert")))`
	out, err := exec.Command(p.Python(), "-c", code).CombinedOutput()
	if err != nil {
		c.Status, c.Detail = Fail, fmt.Sprintf("the venv lacks JupyterLab or nbclient/nbconvert: %s", lastLine(string(out)))
		return c
	}
	c.Detail = strings.TrimSpace(string(out)) + " in " + p.Venv
	c.Fix = ""
	return c
}

func checkKernel(p project.Paths, opts kernelspec.Options) Check {
	dir := kernelspec.Dir(p, opts)
	c := Check{Name: "kernel spec", Fix: "make setup   (or: bin/fiberkernel install)"}
	spec, err := kernelspec.Read(dir)
	if err != nil {
		c.Status, c.Detail = Fail, fmt.Sprintf("%q is not installed in %s", filepath.Base(dir), filepath.Dir(dir))
		return c
	}
	if probs := kernelspec.Problems(spec, p); len(probs) > 0 {
		c.Status, c.Detail = Fail, fmt.Sprintf("%s: %s", dir, strings.Join(probs, "; "))
		return c
	}
	c.Detail = fmt.Sprintf("%q (%s) in %s, --go_work=%s", filepath.Base(dir), spec.DisplayName, dir, p.Root)
	c.Fix = ""
	return c
}

func checkPlugin(p project.Paths, choice backend.Choice) Check {
	c := Check{Name: "pjrt plugin"}
	path := choice.PluginPath
	if path == "" {
		path = backend.FindCPUPlugin()
	}
	if path == "" {
		c.Detail = fmt.Sprintf("no %s in %s", backend.PluginFile, strings.Join(backend.SearchPath(), ":"))
		c.Status, c.Fix = Fail, "make setup   (or: bin/fiberkernel pjrt install), which puts it in "+p.PluginDir
		if !pjrt.Supported() {
			c.Status, c.Fix = Warn, pjrt.ErrUnsupportedPlatform.Error()
		} else if choice.Kind == "go" && !choice.Fallback {
			c.Status = Warn
		}
		return c
	}
	if err := pjrt.CheckPlugin(path); err != nil {
		c.Status, c.Detail, c.Fix = Fail, err.Error(), "remove it and run `make setup`"
		return c
	}
	c.Detail = path + " (exports " + pjrt.EntryPoint + ")"
	if filepath.Dir(path) == p.PluginDir && filepath.Base(path) == backend.PluginFile {
		if err := pjrt.Installed(p.PluginDir, pjrt.DefaultWheel); err != nil {
			c.Status, c.Fix = Warn, "make setup   (reinstalls the pinned plugin)"
			c.Detail += "; not the pinned build: " + err.Error()
		} else {
			c.Detail += fmt.Sprintf(", from %s==%s (sha256 verified)", pjrt.WheelProject, pjrt.WheelVersion)
		}
	}
	return c
}

func checkBackend(choice backend.Choice, plugin Check) Check {
	c := Check{Name: "backend", Detail: fmt.Sprintf("%s: %s", choice.Kind, choice.Reason)}
	if choice.Fallback {
		c.Status = plugin.Status
		if c.Status == OK {
			c.Status = Warn
		}
		c.Detail = "FALLBACK to the pure-Go backend (slow: a few times to 25× and more below XLA on CPU): " + choice.Reason
		c.Fix = "install the PJRT CPU plugin: make setup   (or: bin/fiberkernel pjrt install)"
		if !pjrt.Supported() {
			c.Fix = pjrt.ErrUnsupportedPlatform.Error()
		}
		return c
	}
	if choice.PluginPath != "" {
		if _, err := os.Stat(choice.PluginPath); err != nil {
			c.Status, c.Fix = Fail, "fix GOMLX_BACKEND: the plugin file "+choice.PluginPath+" does not exist"
		}
	}
	return c
}

func checkData(p project.Paths) Check {
	c := Check{Name: "data"}
	switch {
	case p.Data == "":
		c.Status, c.Detail = Warn, "no reference data: neither $FIBERBNN_DATA nor ../shared/data beside the checkout"
		c.Fix = "set FIBERBNN_DATA to a copy of the data directory (see README.md, Data)"
	default:
		if st, err := os.Stat(p.Data); err != nil || !st.IsDir() {
			c.Status, c.Detail = Warn, p.Data+" is not a directory"
			c.Fix = "point FIBERBNN_DATA at the data directory"
		} else {
			c.Detail = p.Data
		}
	}
	return c
}

// FashionMNISTDir is where Debian's dataset-fashion-mnist package installs the IDX files.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

func checkFashionMNIST() Check {
	c := Check{Name: "fashion-mnist", Detail: FashionMNISTDir}
	if st, err := os.Stat(FashionMNISTDir); err != nil || !st.IsDir() {
		c.Status, c.Detail = Warn, FashionMNISTDir+" is missing (needed by the image notebooks only)"
		c.Fix = "sudo apt-get update && sudo apt-get install -y dataset-fashion-mnist"
	}
	return c
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
