package nbrun_test

import (
	"strings"
	"testing"

	"github.com/fiberbnn/fiberbnn/internal/fuzzcorpus"
	"github.com/fiberbnn/fiberbnn/kernel/nbrun"
)

// notebookSeeds are the committed seed corpus of FuzzNotebook: executed notebooks with stream, display,
// error and list-of-lines outputs and a "fiberbnn" metadata block, plus malformed ones.
func notebookSeeds() map[string]string {
	return map[string]string{
		"executed": `{"nbformat":4,"nbformat_minor":5,"metadata":{"kernelspec":{"name":"fiberbnn","display_name":"Go (fiberlib)"},
"fiberbnn":{"expect":["text:loss","svg","html:<b>","png","mime:image/png","bogus","text:"],"timeout_s":60}},
"cells":[{"cell_type":"markdown","source":["# t\n"]},{"cell_type":"code","source":"%noautoget\n","outputs":[]},
{"cell_type":"code","source":["%%\n","fmt.Println(1)"],"outputs":[{"output_type":"stream","name":"stdout","text":["loss 1\n"]},
{"output_type":"stream","name":"stderr","text":"panic: x\n\u001b[31mgoroutine 1\u001b[0m\n"},
{"output_type":"display_data","data":{"text/html":"<b><svg/></b>","application/json":{"a":[1]},"image/png":"iVBOR"}},
{"output_type":"error","ename":"ERROR","evalue":"exit status 2","traceback":["\u001b[1mpanic\u001b[0m","main.go:3"]}]}]}`,
		"skip":      `{"nbformat":4,"cells":[],"metadata":{"fiberbnn":{"skip":"needs a GPU"}}}`,
		"noautoget": `{"nbformat":4,"cells":[{"cell_type":"code","source":"%%\nx := 1","outputs":null}],"metadata":{}}`,
		"format3":   `{"nbformat":3,"worksheets":[]}`,
		"badtypes":  `{"nbformat":4,"cells":[{"cell_type":7,"source":{"a":1},"outputs":[{"output_type":"error","traceback":"x"}]}],"metadata":{"fiberbnn":{"expect":"text:a"}}}`,
		"truncated": `{"nbformat":4,"cells":[{"cell_type":"code","source":"%%\n`,
		"empty":     ``,
	}
}

// TestNotebookSeedCorpus writes the seed corpus with -regen-corpus, and otherwise checks that the committed
// files exist and hold the current seeds.
func TestNotebookSeedCorpus(t *testing.T) {
	fuzzcorpus.Check(t, "FuzzNotebook", notebookSeeds())
}

// FuzzNotebook checks that parsing a notebook and everything the runner does with a parsed one (lint, cell
// errors, expectations from its own metadata) never panics, that parse errors name the file, that cell
// errors point at existing cells and carry no terminal escapes, and that each expectation gives at most one
// message.
func FuzzNotebook(f *testing.F) {
	for _, s := range notebookSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		nb, err := nbrun.ParseNotebook(data, "fuzz.ipynb")
		if err != nil {
			if !strings.Contains(err.Error(), `"fuzz.ipynb"`) {
				t.Fatalf("error %q does not name the notebook", err)
			}
			return
		}
		if nb.Format != 4 {
			t.Fatalf("accepted nbformat %d", nb.Format)
		}
		_ = nbrun.Lint(nb)
		for _, e := range nbrun.Errors(nb) {
			if e.Index < 0 || e.Index >= len(nb.Cells) || nb.Cells[e.Index].FirstLine() != e.FirstLine {
				t.Fatalf("cell error %+v points at no cell of %d", e, len(nb.Cells))
			}
			if strings.Contains(e.Error(), "\x1b[") && !strings.Contains(e.FirstLine, "\x1b[") {
				t.Fatalf("cell error keeps a terminal escape: %q", e.Error())
			}
		}
		expect := nb.Metadata.FiberBNN.Expect
		if got := nbrun.CheckExpectations(nb, expect); len(got) > len(expect) {
			t.Fatalf("%d messages for %d expectations", len(got), len(expect))
		}
	})
}
