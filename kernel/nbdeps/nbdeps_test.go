package nbdeps_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var (
	importBlock  = regexp.MustCompile(`(?s)(?:^|\n)\s*import\s*\((.*?)\)`)
	importSingle = regexp.MustCompile(`(?m)^\s*import\s+(?:[\w.]+\s+)?"([^"]+)"`)
	quoted       = regexp.MustCompile(`"([^"]+)"`)
)

// codeCells returns the source of each code cell of the notebooks in dir, by notebook file name.
func codeCells(t *testing.T, dir string) map[string][]string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "*.ipynb"))
	if len(paths) == 0 {
		t.Fatalf("no notebooks in %s", dir)
	}
	cells := map[string][]string{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var nb struct {
			Cells []struct {
				Type   string          `json:"cell_type"`
				Source json.RawMessage `json:"source"`
			} `json:"cells"`
		}
		if err := json.Unmarshal(data, &nb); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, c := range nb.Cells {
			if c.Type != "code" {
				continue
			}
			var src string
			if json.Unmarshal(c.Source, &src) != nil {
				var lines []string
				_ = json.Unmarshal(c.Source, &lines)
				src = strings.Join(lines, "")
			}
			cells[filepath.Base(p)] = append(cells[filepath.Base(p)], src)
		}
	}
	return cells
}

// notebookImports returns the import paths used by the code cells of the notebooks in dir.
func notebookImports(t *testing.T, dir string) map[string][]string {
	t.Helper()
	imports := map[string][]string{}
	for name, srcs := range codeCells(t, dir) {
		for _, src := range srcs {
			for _, m := range importBlock.FindAllStringSubmatch(src, -1) {
				for _, q := range quoted.FindAllStringSubmatch(m[1], -1) {
					imports[q[1]] = append(imports[q[1]], name)
				}
			}
			for _, m := range importSingle.FindAllStringSubmatch(src, -1) {
				imports[m[1]] = append(imports[m[1]], name)
			}
		}
	}
	return imports
}

// Every cell program (a "%%" cell) of a notebook that displays rich output through gonbui starts with
// `defer gonbui.Sync()`. GoNB closes its end of the display pipe when the cell's program exits, so output
// still in the pipe is dropped: the last table or plot of a cell then vanishes at random (it did in CI,
// for notebook 04's last table after a large SVG). Sync waits until GoNB has taken everything.
func TestNotebookMainCellsFlushDisplays(t *testing.T) {
	checked := 0
	for name, srcs := range codeCells(t, filepath.Join("..", "..", "notebooks")) {
		uses := false
		for _, src := range srcs {
			uses = uses || strings.Contains(src, `"github.com/janpfeifer/gonb/gonbui"`)
		}
		if !uses {
			continue
		}
		for i, src := range srcs {
			lines := strings.SplitN(src, "\n", 3)
			if !strings.HasPrefix(lines[0], "%%") {
				continue
			}
			checked++
			if len(lines) < 2 || strings.TrimSpace(lines[1]) != "defer gonbui.Sync() // flush displays before the cell's program exits" {
				t.Errorf("%s, code cell %d: a %%%% cell of a notebook that uses gonbui must start with\n\tdefer gonbui.Sync() // flush displays before the cell's program exits\n(its last outputs may be lost otherwise)", name, i)
			}
		}
	}
	if checked == 0 {
		t.Fatal("found no %% cells in the notebooks: the parser is broken")
	}
	t.Logf("%d cell programs checked", checked)
}

// Every package a notebook imports is provided by the root module's build list: notebooks run with
// %noautoget, so anything else fails in the notebook with "no required module provides package".
func TestNotebookImportsAreRequiredByGoMod(t *testing.T) {
	imports := notebookImports(t, filepath.Join("..", "..", "notebooks"))
	var pkgs []string
	for p := range imports {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	if len(pkgs) == 0 {
		t.Fatal("found no imports in the notebooks: the parser is broken")
	}
	for _, pkg := range pkgs {
		cmd := exec.Command("go", "list", "-e", "-mod=readonly", "-f", "{{if .Error}}{{.Error.Err}}{{end}}", pkg)
		cmd.Dir = filepath.Join("..", "..")
		out, err := cmd.CombinedOutput()
		if msg := strings.TrimSpace(string(out)); err != nil || msg != "" {
			t.Errorf("%s (imported by %s) is not available to notebooks: %s\n\tfix: add a blank import of it to kernel/nbdeps/nbdeps.go, then `go get` its module and `go mod tidy`",
				pkg, strings.Join(imports[pkg], ", "), msg)
		}
	}
	t.Logf("%d notebook imports checked: %s", len(pkgs), strings.Join(pkgs, " "))
}
