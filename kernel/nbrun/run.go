// Package nbrun executes notebooks headless under the fiberbnn kernel and checks them: every cell must run
// without error, and the outputs the notebook promises in its metadata must be there.
//
// Execution goes through the virtual environment's nbclient (a small embedded Python script), with a copy
// of the installed kernel spec that adds GoNB's --raw_error, so cell errors arrive as plain text. For each
// notebook the runner writes the executed copy and an HTML rendering into the output directory
// (notebooks/_out/ by default), prints one PASS/FAIL/SKIP line with the time taken, and at the end a closing
// line "notebooks: N passed, M failed, K skipped".
package nbrun

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/fiberbnn/fiberbnn/kernel/kernelspec"
	"github.com/fiberbnn/fiberbnn/kernel/project"
)

//go:embed execute_notebook.py
var executeScript []byte

// HeadlessKernelName is the name of the temporary kernel spec the runner uses.
const HeadlessKernelName = "fiberbnn-headless"

// Options configure Run.
type Options struct {
	// OutDir receives the executed notebooks and their HTML. Default: <root>/notebooks/_out.
	OutDir string
	// TimeoutSeconds is the per-cell timeout. Default 600. A notebook's metadata may override it.
	TimeoutSeconds int
	// Kernel selects the installed kernel spec to copy. Default: kernelspec.Options{} (the fiberbnn kernel in
	// $JUPYTER_DATA_DIR or the venv).
	Kernel kernelspec.Options
	// Log receives progress and result lines. Default os.Stdout.
	Log io.Writer
}

// Result is the outcome of running one notebook.
type Result struct {
	// Path is the notebook run.
	Path string
	// Executed and HTML are the files written (empty when the run did not get that far).
	Executed, HTML string
	// Skipped is the reason the notebook was skipped, or "".
	Skipped string
	// Seconds is the wall time of the execution.
	Seconds float64
	// Err is nil when the notebook passed.
	Err error
}

// summary is what execute_notebook.py writes.
type summary struct {
	Error *struct {
		Kind    string `json:"kind"`
		Cell    *int   `json:"cell"`
		Message string `json:"message"`
	} `json:"error"`
	Cells []struct {
		Index   int     `json:"index"`
		Status  string  `json:"status"`
		Seconds float64 `json:"seconds"`
	} `json:"cells"`
	Seconds float64 `json:"seconds"`
}

// Run executes the notebooks in order and returns one Result per notebook. The error is non-nil when any
// notebook failed, or when the runner itself could not start (no venv, no kernel spec).
func Run(p project.Paths, notebooks []string, opts Options) ([]Result, error) {
	if opts.Log == nil {
		opts.Log = os.Stdout
	}
	if opts.OutDir == "" {
		opts.OutDir = filepath.Join(p.Root, "notebooks", "_out")
	}
	if opts.TimeoutSeconds <= 0 {
		opts.TimeoutSeconds = 600
	}
	if _, err := os.Stat(p.Python()); err != nil {
		return nil, fmt.Errorf("no Python virtual environment at %q: run `make setup` first", p.Venv)
	}
	specDir := kernelspec.Dir(p, opts.Kernel)
	spec, err := kernelspec.Read(specDir)
	if err != nil {
		return nil, fmt.Errorf("kernel %q is not installed in %q (%v): run `make setup` or `fiberkernel install`", filepath.Base(specDir), filepath.Dir(specDir), err)
	}
	if probs := kernelspec.Problems(spec, p); len(probs) > 0 {
		return nil, fmt.Errorf("kernel spec %q is broken: %s; run `make setup`", specDir, strings.Join(probs, "; "))
	}
	tmp, err := os.MkdirTemp("", "fiberkernel-run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	// The headless copy of the spec: same kernel, plain-text errors.
	headless := spec
	headless.Argv = append(append([]string{}, spec.Argv...), "--raw_error")
	headless.DisplayName += " (headless)"
	if _, err := kernelspec.WriteSpec(filepath.Join(tmp, "jupyter", "kernels", HeadlessKernelName), headless); err != nil {
		return nil, err
	}
	script := filepath.Join(tmp, "execute_notebook.py")
	if err := os.WriteFile(script, executeScript, 0o644); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating output directory: %w", err)
	}

	var results []Result
	var passed, failed, skipped int
	for _, nbPath := range notebooks {
		r := runOne(p, nbPath, script, tmp, opts)
		results = append(results, r)
		switch {
		case r.Skipped != "":
			skipped++
			fmt.Fprintf(opts.Log, "SKIP %s: %s\n", r.Path, r.Skipped)
		case r.Err != nil:
			failed++
			fmt.Fprintf(opts.Log, "FAIL %s (%.1f s): %v\n", r.Path, r.Seconds, r.Err)
		default:
			passed++
			fmt.Fprintf(opts.Log, "PASS %s (%.1f s) -> %s\n", r.Path, r.Seconds, shortPath(p, r.HTML))
		}
	}
	fmt.Fprintf(opts.Log, "notebooks: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 {
		return results, fmt.Errorf("%d of %d notebooks failed", failed, len(notebooks))
	}
	return results, nil
}

// shortPath returns path relative to the checkout when it lies inside it, else path itself.
func shortPath(p project.Paths, path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		if rel, err := filepath.Rel(p.Root, abs); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return path
}

func runOne(p project.Paths, nbPath, script, tmp string, opts Options) Result {
	r := Result{Path: shortPath(p, nbPath)}
	if abs, err := filepath.Abs(nbPath); err == nil {
		nbPath = abs
	}
	nb, err := ReadNotebook(nbPath)
	if err != nil {
		r.Err = err
		return r
	}
	if nb.Metadata.FiberBNN.Skip != "" {
		r.Skipped = nb.Metadata.FiberBNN.Skip
		return r
	}
	if probs := Lint(nb); len(probs) > 0 {
		r.Err = errors.New(strings.Join(probs, "; "))
		return r
	}
	if name := nb.Metadata.KernelSpec.Name; name != "" && name != kernelspec.DefaultName {
		fmt.Fprintf(opts.Log, "note: %s names kernel %q; running it with the %q kernel\n", r.Path, name, kernelspec.DefaultName)
	}
	timeout := opts.TimeoutSeconds
	if t := nb.Metadata.FiberBNN.TimeoutSeconds; t > 0 {
		timeout = t
	}
	base := strings.TrimSuffix(filepath.Base(nbPath), filepath.Ext(nbPath))
	r.Executed = filepath.Join(opts.OutDir, base+".ipynb")
	r.HTML = filepath.Join(opts.OutDir, base+".html")
	sumPath := filepath.Join(tmp, base+".summary.json")
	_ = os.Remove(sumPath)
	workdir, _ := filepath.Abs(filepath.Dir(nbPath))

	fmt.Fprintf(opts.Log, "RUN  %s\n", r.Path)
	start := time.Now()
	cmd := exec.Command(p.Python(), script, nbPath, r.Executed, r.HTML, sumPath, HeadlessKernelName,
		fmt.Sprint(timeout), workdir)
	// JUPYTER_PATH puts the headless spec first in the kernel search path.
	cmd.Env = append(os.Environ(), "JUPYTER_PATH="+filepath.Join(tmp, "jupyter")+
		string(os.PathListSeparator)+os.Getenv("JUPYTER_PATH"), "PYTHONUNBUFFERED=1")
	out, runErr := cmd.CombinedOutput()
	r.Seconds = time.Since(start).Seconds()

	var sum summary
	data, err := os.ReadFile(sumPath)
	if err != nil {
		r.Err = fmt.Errorf("the notebook runner crashed (%v):\n%s", runErr, tail(string(out), 4000))
		return r
	}
	if err := json.Unmarshal(data, &sum); err != nil {
		r.Err = fmt.Errorf("reading the runner's summary: %w", err)
		return r
	}
	executed, err := ReadNotebook(r.Executed)
	if err != nil {
		r.Err = fmt.Errorf("reading the executed notebook: %w", err)
		return r
	}
	// A cell's error output is the most precise report; fall back to the runner's exception.
	if errs := Errors(executed); len(errs) > 0 {
		r.Err = errs[0]
		return r
	}
	if sum.Error != nil {
		where := "before any cell ran"
		if sum.Error.Cell != nil {
			i := *sum.Error.Cell
			first := ""
			if i >= 0 && i < len(executed.Cells) {
				first = executed.Cells[i].FirstLine()
			}
			where = fmt.Sprintf("in cell [%d] (%s)", i, first)
		}
		r.Err = fmt.Errorf("%s %s: %s", sum.Error.Kind, where, tail(StripANSI(sum.Error.Message), 4000))
		return r
	}
	if runErr != nil {
		r.Err = fmt.Errorf("the notebook runner exited with %v:\n%s", runErr, tail(string(out), 4000))
		return r
	}
	if missing := CheckExpectations(executed, nb.Metadata.FiberBNN.Expect); len(missing) > 0 {
		r.Err = fmt.Errorf("%s (see %s)", strings.Join(missing, "; "), r.HTML)
	}
	return r
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
