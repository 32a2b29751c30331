package data

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// maxLineBytes bounds one line of a text table; longer lines are reported as an error rather than read.
const maxLineBytes = 1 << 20

// Table is a rectangular numeric text file: Rows rows of Cols values, row-major, all finite.
type Table struct {
	// Source names where the table came from (a path), for messages.
	Source     string
	Rows, Cols int
	// Values holds the numbers, [Rows, Cols] row-major.
	Values []float64
	// Lines holds the 1-based line number of each row in the source, for messages.
	Lines []int
}

// At returns the value at row i, column j.
func (t *Table) At(i, j int) float64 { return t.Values[i*t.Cols+j] }

// record is one non-blank line of a text table split into fields.
type record struct {
	line   int
	fields []string
}

// ReadTable reads a numeric text table from path. comma is the field separator; 0 means runs of spaces and
// tabs (as numpy.loadtxt's default). See ParseTable for the rules.
func ReadTable(path string, comma rune) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	defer f.Close()
	return ParseTable(f, path, comma)
}

// ParseTable reads a numeric text table from r; source names it in messages (e.g. its path). Blank lines and
// lines starting with '#' are skipped; "\r\n" line ends are accepted. Every row must have the same number of
// fields, every field must be a finite number that fits in float32. Errors name the source, the line and the
// field, and say what to fix.
func ParseTable(r io.Reader, source string, comma rune) (*Table, error) {
	recs, err := readRecords(r, source, comma)
	if err != nil {
		return nil, err
	}
	t := &Table{Source: source, Rows: len(recs), Cols: len(recs[0].fields)}
	t.Values = make([]float64, 0, t.Rows*t.Cols)
	t.Lines = make([]int, t.Rows)
	for i, rec := range recs {
		t.Lines[i] = rec.line
		for j, s := range rec.fields {
			v, err := parseNumber(source, rec.line, j, s)
			if err != nil {
				return nil, err
			}
			t.Values = append(t.Values, v)
		}
	}
	return t, nil
}

// readRecords splits r into non-blank, non-comment lines and those into fields, checking that every row has
// the same number of fields and that no field is empty.
func readRecords(r io.Reader, source string, comma rune) ([]record, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var recs []record
	for line := 1; ; line++ {
		raw, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			if errors.Is(err, errLineTooLong) {
				return nil, fmt.Errorf("%s:%d: line longer than %d bytes: this does not look like a text table; check the file", source, line, maxLineBytes)
			}
			return nil, fmt.Errorf("%s:%d: read error: %w", source, line, err)
		}
		if len(raw) == 0 && errors.Is(err, io.EOF) {
			break
		}
		text := strings.TrimRight(string(raw), "\r\n")
		trimmed := strings.TrimSpace(text)
		if trimmed != "" && !strings.HasPrefix(trimmed, "#") {
			fields, ferr := splitFields(trimmed, comma)
			if ferr != "" {
				return nil, fmt.Errorf("%s:%d: %s", source, line, ferr)
			}
			if len(recs) > 0 && len(fields) != len(recs[0].fields) {
				return nil, fmt.Errorf("%s:%d: %d fields, want %d as on line %d: every row needs the same number of columns (a ragged row; fix or remove it)",
					source, line, len(fields), len(recs[0].fields), recs[0].line)
			}
			recs = append(recs, record{line: line, fields: fields})
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: no data rows (the file is empty or blank): check the path, or copy the file again", source)
	}
	return recs, nil
}

var errLineTooLong = errors.New("line too long")

// readLine returns the next line including its '\n' (absent on the last line), or io.EOF with what was left.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxLineBytes {
			return nil, errLineTooLong
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return buf, err
	}
}

// splitFields splits one trimmed line; it returns a problem description instead of the fields if a field is
// empty (two commas in a row, or a trailing comma).
func splitFields(line string, comma rune) ([]string, string) {
	if comma == 0 {
		return strings.Fields(line), ""
	}
	parts := strings.Split(line, string(comma))
	for j := range parts {
		parts[j] = strings.TrimSpace(parts[j])
		if parts[j] == "" {
			return nil, fmt.Sprintf("field %d is empty (separator %q): fill in the value or remove the row", j+1, comma)
		}
	}
	return parts, ""
}

// parseNumber parses field j (0-based) of a line, insisting on a finite number within float32's range.
func parseNumber(source string, line, j int, s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("%s:%d: field %d (%q) is not a number: fix or remove the row", source, line, j+1, clip(s))
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%s:%d: field %d is %q, not a finite number: remove or impute the row (missing values are not supported)",
			source, line, j+1, clip(s))
	}
	if math.Abs(v) > math.MaxFloat32 {
		return 0, fmt.Errorf("%s:%d: field %d (%q) is beyond float32's range (±3.4e38): rescale the column", source, line, j+1, clip(s))
	}
	return v, nil
}

// clip shortens a field for messages.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// fileError turns an os error into a message that says what to do.
func fileError(path string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: file not found: check the data directory (set $%s or pass -data), or copy the data set there: %w",
			path, EnvDataDir, err)
	}
	return fmt.Errorf("%s: %w", path, err)
}

// readFileBytes reads a whole file with fileError's messages.
func readFileBytes(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	return b, nil
}

// parseInts reads one non-negative integer per line (the format of the UCI split and settings files).
// Blank lines are skipped; any other content is an error naming the line.
func parseInts(r io.Reader, source string) ([]int, []int, error) {
	recs, err := readRecords(r, source, 0)
	if err != nil {
		return nil, nil, err
	}
	vals := make([]int, len(recs))
	lines := make([]int, len(recs))
	for i, rec := range recs {
		if len(rec.fields) != 1 {
			return nil, nil, fmt.Errorf("%s:%d: %d fields, want one integer per line", source, rec.line, len(rec.fields))
		}
		v, err := strconv.Atoi(rec.fields[0])
		if err != nil || v < 0 {
			return nil, nil, fmt.Errorf("%s:%d: %q is not a non-negative integer: fix the line", source, rec.line, clip(rec.fields[0]))
		}
		vals[i], lines[i] = v, rec.line
	}
	return vals, lines, nil
}

// readInts is parseInts on a file.
func readInts(path string) ([]int, []int, error) {
	b, err := readFileBytes(path)
	if err != nil {
		return nil, nil, err
	}
	return parseInts(bytes.NewReader(b), path)
}

// readOneInt reads a file holding a single non-negative integer (n_splits.txt and the like).
func readOneInt(path string) (int, error) {
	vals, _, err := readInts(path)
	if err != nil {
		return 0, err
	}
	if len(vals) != 1 {
		return 0, fmt.Errorf("%s: %d values, want exactly one integer", path, len(vals))
	}
	return vals[0], nil
}
