package nbrun

import (
	"fmt"
	"regexp"
	"strings"
)

// CellError is a failed cell found in an executed notebook.
type CellError struct {
	// Index is the cell's 0-based index among all the notebook's cells (markdown included).
	Index int
	// FirstLine is the first non-empty source line of the cell.
	FirstLine string
	// Message is the error name, value and traceback as plain text.
	Message string
}

// Error implements error.
func (e CellError) Error() string {
	return fmt.Sprintf("cell [%d] (%s) failed:\n%s", e.Index, e.FirstLine, e.Message)
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]|\x1b\[?[0-9;?]*$`) // the second form: an escape cut off at the end of a stream

// StripANSI removes terminal colour escapes.
func StripANSI(s string) string { return ansi.ReplaceAllString(s, "") }

// stderrLines is how many trailing lines of a failed cell's standard error go into its CellError.
const stderrLines = 40

// Errors returns the error outputs of an executed notebook, in cell order. Each message holds the error
// and the last lines the cell wrote to standard error (where a Go program's panic and stack trace go).
func Errors(nb *Notebook) []CellError {
	var out []CellError
	for i, c := range nb.Cells {
		var stderr strings.Builder
		for _, o := range c.Outputs {
			if o.Type == "stream" && o.Name == "stderr" {
				stderr.WriteString(string(o.Text))
			}
		}
		for _, o := range c.Outputs {
			if o.Type != "error" {
				continue
			}
			msg := o.EName
			if o.EValue != "" {
				msg += ": " + o.EValue
			}
			if len(o.Traceback) > 0 {
				msg += "\n" + strings.Join(o.Traceback, "\n")
			}
			if s := strings.TrimSpace(stderr.String()); s != "" {
				lines := strings.Split(s, "\n")
				if len(lines) > stderrLines {
					lines = append([]string{"..."}, lines[len(lines)-stderrLines:]...)
				}
				msg += "\nstandard error of the cell:\n" + strings.Join(lines, "\n")
			}
			out = append(out, CellError{Index: i, FirstLine: c.FirstLine(), Message: strings.TrimSpace(StripANSI(msg))})
		}
	}
	return out
}

// CheckExpectations checks each entry of expect against the outputs of the executed notebook and returns one
// message per unmet or malformed entry. Entries (see notebooks/README.md):
//
//	"text:S"  a stream output (stdout/stderr) or a text/plain or text/markdown output contains S
//	"html:S"  a text/html output contains S
//	"svg"     an SVG picture: an image/svg+xml output, or a text/html output holding an <svg> element
//	"png"     an image/png output
//	"mime:T"  an output carries MIME type T
func CheckExpectations(nb *Notebook, expect []string) []string {
	var out []string
	for _, e := range expect {
		kind, arg, _ := strings.Cut(e, ":")
		var pred func(Output) bool
		switch kind {
		case "text":
			pred = func(o Output) bool {
				return (o.Type == "stream" && strings.Contains(string(o.Text), arg)) ||
					strings.Contains(string(o.Data["text/plain"]), arg) ||
					strings.Contains(string(o.Data["text/markdown"]), arg)
			}
		case "html":
			pred = func(o Output) bool { return strings.Contains(string(o.Data["text/html"]), arg) }
		case "svg":
			pred = func(o Output) bool {
				_, ok := o.Data["image/svg+xml"]
				return ok || strings.Contains(string(o.Data["text/html"]), "<svg")
			}
		case "png":
			pred = func(o Output) bool { _, ok := o.Data["image/png"]; return ok }
		case "mime":
			pred = func(o Output) bool { _, ok := o.Data[arg]; return ok }
		default:
			out = append(out, fmt.Sprintf("unknown expectation %q: use text:S, html:S, svg, png or mime:T", e))
			continue
		}
		if (kind == "text" || kind == "html" || kind == "mime") && arg == "" {
			out = append(out, fmt.Sprintf("expectation %q has nothing after the colon", e))
			continue
		}
		if (kind == "svg" || kind == "png") && strings.Contains(e, ":") {
			out = append(out, fmt.Sprintf("expectation %q: %s takes no argument", e, kind))
			continue
		}
		if !anyOutput(nb, pred) {
			out = append(out, fmt.Sprintf("expected output %q not found", e))
		}
	}
	return out
}

func anyOutput(nb *Notebook, pred func(Output) bool) bool {
	for _, c := range nb.Cells {
		for _, o := range c.Outputs {
			if pred(o) {
				return true
			}
		}
	}
	return false
}
