package nbrun

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Notebook is the part of an nbformat-4 notebook that the runner reads.
type Notebook struct {
	Cells    []Cell       `json:"cells"`
	Metadata NotebookMeta `json:"metadata"`
	Format   int          `json:"nbformat"`
}

// NotebookMeta is the notebook-level metadata the runner reads.
type NotebookMeta struct {
	KernelSpec struct {
		Name        string `json:"name"`
		DisplayName string `json:"display_name"`
	} `json:"kernelspec"`
	// FiberBNN is the project's own metadata block, "fiberbnn" (see notebooks/README.md).
	FiberBNN Expectations `json:"fiberbnn"`
}

// Expectations is the "fiberbnn" block of a notebook's metadata.
type Expectations struct {
	// Expect lists outputs that must appear somewhere in the executed notebook; see CheckExpectations.
	Expect []string `json:"expect"`
	// TimeoutSeconds, when positive, overrides the runner's per-cell timeout for this notebook.
	TimeoutSeconds int `json:"timeout_s"`
	// Skip, when true, makes `fiberkernel run` skip the notebook (reported as skipped, with the reason).
	Skip string `json:"skip"`
}

// Cell is one notebook cell.
type Cell struct {
	Type    string   `json:"cell_type"`
	Source  Text     `json:"source"`
	Outputs []Output `json:"outputs"`
}

// Output is one cell output.
type Output struct {
	Type      string          `json:"output_type"`
	Name      string          `json:"name"` // stream name
	Text      Text            `json:"text"` // stream text
	Data      map[string]Text `json:"data"` // display_data / execute_result
	EName     string          `json:"ename"`
	EValue    string          `json:"evalue"`
	Traceback []string        `json:"traceback"`
}

// Text is a notebook string, stored either as one string or as a list of lines.
type Text string

// UnmarshalJSON accepts a string or a list of strings (joined), and ignores other JSON values (such as the
// objects of application/json outputs).
func (t *Text) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = Text(s)
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err == nil {
		*t = Text(strings.Join(l, ""))
		return nil
	}
	*t = ""
	return nil
}

// ReadNotebook parses the notebook at path.
func ReadNotebook(path string) (*Notebook, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseNotebook(data, path)
}

// ParseNotebook parses the bytes of a notebook file; path names it in errors.
func ParseNotebook(data []byte, path string) (*Notebook, error) {
	var nb Notebook
	if err := json.Unmarshal(data, &nb); err != nil {
		return nil, fmt.Errorf("notebook %q is not valid JSON: %w", path, err)
	}
	if nb.Format != 4 {
		return nil, fmt.Errorf("notebook %q has nbformat %d, want 4", path, nb.Format)
	}
	return &nb, nil
}

// FirstLine returns the first non-empty line of the cell's source, for messages.
func (c Cell) FirstLine() string {
	for _, l := range strings.Split(string(c.Source), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// Lint returns problems that would make the notebook fail under the fiberbnn kernel before any cell runs:
// a first code cell without %noautoget (GoNB would run `go get` per cell, which fails for modules whose
// version list the proxy refuses, and could change requirements behind the project's back).
func Lint(nb *Notebook) []string {
	var out []string
	for _, c := range nb.Cells {
		if c.Type != "code" {
			continue
		}
		if !strings.Contains(string(c.Source), "%noautoget") {
			out = append(out, "the first code cell must contain %noautoget (notebooks use only packages the root go.mod requires; see notebooks/README.md)")
		}
		break
	}
	return out
}
