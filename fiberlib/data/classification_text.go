package data

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
)

// LoadClassificationTable reads a text table whose last column is the class label and whose other columns
// are numeric features (e.g. ionosphere.data, banana.csv). comma is the separator, 0 for whitespace. Labels
// may be integers or words; they are relabelled to 0..K-1 in sorted order (numerically for numbers) and the
// original labels kept in ClassNames.
func LoadClassificationTable(path string, comma rune, name string) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	defer f.Close()
	return ParseClassificationTable(f, path, comma, name)
}

// ParseClassificationTable is LoadClassificationTable on a reader; source names it in messages.
func ParseClassificationTable(r io.Reader, source string, comma rune, name string) (*Dataset, error) {
	recs, err := readRecords(r, source, comma)
	if err != nil {
		return nil, err
	}
	cols := len(recs[0].fields)
	if cols < 2 {
		return nil, fmt.Errorf("%s:%d: %d column, want features then a class label in the last column", source, recs[0].line, cols)
	}
	ds := &Dataset{Name: name, Task: Classification, N: len(recs), D: cols - 1}
	ds.X = make([]float32, 0, ds.N*ds.D)
	raw := make([]rawLabel, ds.N)
	for i, rec := range recs {
		for j, s := range rec.fields[:ds.D] {
			v, err := parseNumber(source, rec.line, j, s)
			if err != nil {
				return nil, err
			}
			ds.X = append(ds.X, float32(v))
		}
		raw[i] = rawLabel{text: rec.fields[ds.D], source: source, line: rec.line}
	}
	if err := setLabels(ds, raw, source); err != nil {
		return nil, err
	}
	return ds, nil
}

// LoadXYClassification reads features from xPath (a whitespace-separated numeric table, one example per
// row) and one class label per row from yPath. Labels are relabelled as in LoadClassificationTable.
func LoadXYClassification(xPath, yPath, name string) (*Dataset, error) {
	xb, err := readFileBytes(xPath)
	if err != nil {
		return nil, err
	}
	yb, err := readFileBytes(yPath)
	if err != nil {
		return nil, err
	}
	return parseXY(bytes.NewReader(xb), xPath, bytes.NewReader(yb), yPath, name)
}

// parseXY builds a classification set from a feature table and a label file.
func parseXY(xr io.Reader, xSource string, yr io.Reader, ySource, name string) (*Dataset, error) {
	t, err := ParseTable(xr, xSource, 0)
	if err != nil {
		return nil, err
	}
	raw, err := parseLabelFile(yr, ySource)
	if err != nil {
		return nil, err
	}
	if len(raw) != t.Rows {
		return nil, fmt.Errorf("%s has %d rows but %s has %d labels: each row of features needs exactly one label",
			xSource, t.Rows, ySource, len(raw))
	}
	ds := &Dataset{Name: name, Task: Classification, N: t.Rows, D: t.Cols, X: make([]float32, len(t.Values))}
	for i, v := range t.Values {
		ds.X[i] = float32(v)
	}
	if err := setLabels(ds, raw, ySource); err != nil {
		return nil, err
	}
	return ds, nil
}

// parseLabelFile reads one label per non-blank line.
func parseLabelFile(r io.Reader, source string) ([]rawLabel, error) {
	recs, err := readRecords(r, source, 0)
	if err != nil {
		return nil, err
	}
	raw := make([]rawLabel, len(recs))
	for i, rec := range recs {
		if len(rec.fields) != 1 {
			return nil, fmt.Errorf("%s:%d: %d fields, want one class label per line", source, rec.line, len(rec.fields))
		}
		raw[i] = rawLabel{text: rec.fields[0], source: source, line: rec.line}
	}
	return raw, nil
}

// setLabels relabels raw labels into ds.Labels, ds.Classes and ds.ClassNames, and validates ds.
func setLabels(ds *Dataset, raw []rawLabel, source string) error {
	labels, names, err := relabel(raw)
	if err != nil {
		return err
	}
	if len(names) < 2 {
		return fmt.Errorf("%s: every example has class %q: a classification set needs at least 2 classes", source, names[0])
	}
	ds.Labels, ds.Classes, ds.ClassNames = labels, len(names), names
	if err := ds.Validate(); err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	return nil
}

// checkShape insists on the documented number of features and classes of a known set.
func checkShape(ds *Dataset, source string, d, classes int) error {
	if ds.D != d {
		return fmt.Errorf("%s: %d features per row, want %d for %s: wrong feature count; this is not the expected file",
			source, ds.D, d, ds.Name)
	}
	if ds.Classes != classes {
		return fmt.Errorf("%s: %d classes (%s), want %d for %s: the labels are not the expected ones",
			source, ds.Classes, strings.Join(ds.ClassNames, ", "), classes, ds.Name)
	}
	return nil
}
