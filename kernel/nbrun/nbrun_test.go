package nbrun_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/kernel/kernelspec"
	"github.com/fiberbnn/fiberbnn/kernel/nbrun"
	"github.com/fiberbnn/fiberbnn/kernel/project"
)

// writeNotebook writes an nbformat-4 notebook with the given code cells (and one markdown cell first, so that
// cell indices count markdown cells too) and expectations.
func writeNotebook(t *testing.T, dir, name string, expect []string, code ...string) string {
	t.Helper()
	cells := []map[string]any{{"cell_type": "markdown", "metadata": map[string]any{}, "source": "# test"}}
	for _, c := range code {
		cells = append(cells, map[string]any{"cell_type": "code", "metadata": map[string]any{}, "source": c,
			"outputs": []any{}, "execution_count": nil})
	}
	nb := map[string]any{
		"cells": cells, "nbformat": 4, "nbformat_minor": 5,
		"metadata": map[string]any{
			"kernelspec": map[string]any{"name": "fiberbnn", "display_name": "Go (fiberlib)", "language": "go"},
			"fiberbnn":   map[string]any{"expect": expect},
		},
	}
	data, _ := json.MarshalIndent(nb, "", " ")
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func executed(t *testing.T, outputs ...nbrun.Output) *nbrun.Notebook {
	t.Helper()
	return &nbrun.Notebook{Format: 4, Cells: []nbrun.Cell{
		{Type: "markdown", Source: "# x"},
		{Type: "code", Source: "%%\nfmt.Println(1)", Outputs: outputs},
	}}
}

func TestCheckExpectations(t *testing.T) {
	nb := executed(t,
		nbrun.Output{Type: "stream", Name: "stdout", Text: "step 10\nfinal loss: 0.01\n"},
		nbrun.Output{Type: "display_data", Data: map[string]nbrun.Text{"text/html": "<div><svg width='1'></svg></div>"}},
	)
	if got := nbrun.CheckExpectations(nb, []string{"text:final loss", "svg", "html:<div>", "mime:text/html"}); len(got) != 0 {
		t.Errorf("met expectations reported as unmet: %q", got)
	}
	got := nbrun.CheckExpectations(nb, []string{"png", "text:accuracy", "mime:image/png", "svg:x", "bogus", "text:"})
	want := []string{`"png" not found`, `"text:accuracy" not found`, `"mime:image/png" not found`, `"svg:x": svg takes no argument`, `unknown expectation "bogus"`, `"text:" has nothing`}
	if len(got) != len(want) {
		t.Fatalf("got %d messages %q, want %d", len(got), got, len(want))
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("message %d = %q, want it to contain %q", i, got[i], want[i])
		}
	}
}

func TestErrorsAndLint(t *testing.T) {
	nb := executed(t, nbrun.Output{Type: "error", EName: "ERROR", EValue: "exit status 2",
		Traceback: []string{"\x1b[31mpanic: boom\x1b[0m", "main.go:3"}})
	errs := nbrun.Errors(nb)
	if len(errs) != 1 || errs[0].Index != 1 || !strings.Contains(errs[0].Message, "panic: boom") ||
		strings.Contains(errs[0].Message, "\x1b") || errs[0].FirstLine != "%%" {
		t.Fatalf("Errors = %+v", errs)
	}
	if !strings.HasPrefix(errs[0].Error(), "cell [1] (%%) failed:") {
		t.Errorf("error text %q", errs[0].Error())
	}
	if probs := nbrun.Lint(nb); len(probs) != 1 || !strings.Contains(probs[0], "%noautoget") {
		t.Errorf("Lint without %%noautoget = %q", probs)
	}
	nb.Cells[1].Source = "%noautoget\n"
	if probs := nbrun.Lint(nb); len(probs) != 0 {
		t.Errorf("Lint with %%noautoget = %q", probs)
	}
}

func TestTextAcceptsStringOrList(t *testing.T) {
	var c nbrun.Cell
	if err := json.Unmarshal([]byte(`{"cell_type":"code","source":["a\n","b"],"outputs":[{"output_type":"display_data","data":{"application/json":{"k":1},"text/plain":["x","y"]}}]}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.Source != "a\nb" || c.Outputs[0].Data["text/plain"] != "xy" {
		t.Errorf("parsed %+v", c)
	}
}

// setUp returns the real checkout with the kernel installed into a temporary Jupyter data dir, or skips when
// the venv or gonb are not built.
func setUp(t *testing.T) project.Paths {
	t.Helper()
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
	t.Setenv(kernelspec.DataDirEnv, t.TempDir())
	t.Setenv("PATH", p.Bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	if _, err := kernelspec.Install(p, kernelspec.Options{}); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunReportsFailingCellAndChecksExpectations(t *testing.T) {
	p := setUp(t)
	dir, out := t.TempDir(), t.TempDir()
	good := writeNotebook(t, dir, "good.ipynb", []string{"text:hello 42", "html:<b>bold</b>"},
		"%noautoget",
		"func answer() int { return 42 }",
		"%%\ndefer gonbui.Sync() // flush displays before the cell's program exits\nfmt.Printf(\"hello %d\\n\", answer())\ngonbui.DisplayHTML(\"<b>bold</b>\")")
	bad := writeNotebook(t, dir, "bad.ipynb", nil,
		"%noautoget",
		"%%\nfmt.Println(\"fine\")",
		"%%\npanic(\"boom in cell two\")",
		"%%\nfmt.Println(\"never runs\")")
	noauto := writeNotebook(t, dir, "noauto.ipynb", nil, "%%\nfmt.Println(1)")

	var log bytes.Buffer
	results, err := nbrun.Run(p, []string{good, bad, noauto}, nbrun.Options{OutDir: out, Log: &log, TimeoutSeconds: 300})
	t.Logf("runner output:\n%s", log.String())
	if err == nil || !strings.Contains(err.Error(), "2 of 3 notebooks failed") {
		t.Fatalf("Run error = %v, want 2 of 3 failed", err)
	}
	if results[0].Err != nil {
		t.Errorf("good notebook failed: %v", results[0].Err)
	}
	for _, f := range []string{filepath.Join(out, "good.ipynb"), filepath.Join(out, "good.html")} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("output %s missing or empty", f)
		}
	}
	html, _ := os.ReadFile(filepath.Join(out, "good.html"))
	if !strings.Contains(string(html), "hello 42") {
		t.Error("good.html does not show the cell output")
	}
	// The markdown cell is [0], %noautoget [1], the fine cell [2], the panic [3].
	if e := results[1].Err; e == nil || !strings.Contains(e.Error(), "cell [3]") || !strings.Contains(e.Error(), "boom in cell two") {
		t.Errorf("bad notebook: error %v, want cell [3] and the panic message", e)
	}
	badOut, err := nbrun.ReadNotebook(filepath.Join(out, "bad.ipynb"))
	if err != nil {
		t.Fatalf("the failing notebook's executed copy was not written: %v", err)
	}
	if len(badOut.Cells[2].Outputs) == 0 || len(badOut.Cells[4].Outputs) != 0 {
		t.Errorf("executed copy: cell [2] should have output, cell [4] none (execution stops at the failure)")
	}
	good2, err := nbrun.ReadNotebook(filepath.Join(out, "good.ipynb"))
	if err != nil {
		t.Fatal(err)
	}
	if unmet := nbrun.CheckExpectations(good2, []string{"svg", "text:hello 42"}); len(unmet) != 1 || !strings.Contains(unmet[0], `"svg" not found`) {
		t.Errorf("expectations on the executed notebook: %q, want only the svg unmet", unmet)
	}
	if e := results[2].Err; e == nil || !strings.Contains(e.Error(), "%noautoget") {
		t.Errorf("notebook without %%noautoget: error %v", e)
	}
	if !strings.Contains(log.String(), "notebooks: 1 passed, 2 failed, 0 skipped") {
		t.Errorf("closing line missing from:\n%s", log.String())
	}
}
