package data

import (
	"strings"
	"testing"
)

func TestParseTableGood(t *testing.T) {
	// Tabs, runs of spaces, CRLF, a comment, blank lines (also trailing, as concrete/energy data.txt have).
	in := "# header\n 1.5\t2  -3e-1 \r\n\n4 5.0 6\n\n\n"
	tab, err := ParseTable(strings.NewReader(in), "mem", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1.5, 2, -0.3, 4, 5, 6}
	if tab.Rows != 2 || tab.Cols != 3 {
		t.Fatalf("shape %d×%d, want 2×3", tab.Rows, tab.Cols)
	}
	for i, v := range want {
		if tab.Values[i] != v {
			t.Fatalf("value %d = %v, want %v", i, tab.Values[i], v)
		}
	}
	if tab.Lines[0] != 2 || tab.Lines[1] != 4 {
		t.Fatalf("lines %v, want [2 4]", tab.Lines)
	}
	csv, err := ParseTable(strings.NewReader("1, 2,3\n4,5 ,6"), "mem.csv", ',')
	if err != nil {
		t.Fatal(err)
	}
	if csv.Rows != 2 || csv.Cols != 3 || csv.At(1, 1) != 5 {
		t.Fatalf("csv parse: %+v", csv)
	}
}

func TestParseTableErrors(t *testing.T) {
	for _, c := range []struct {
		name, in string
		comma    rune
		want     []string
	}{
		{"empty", "", 0, []string{"f.txt:", "no data rows", "empty"}},
		{"blank", "\n  \n\t\n", 0, []string{"no data rows"}},
		{"ragged", "1 2 3\n4 5 6\n7 8\n", 0, []string{"f.txt:3:", "2 fields, want 3 as on line 1", "ragged"}},
		{"nan", "1 2\n3 nan\n", 0, []string{"f.txt:2:", "field 2", "not a finite number", "impute"}},
		{"inf", "1 2\n-Inf 3\n", 0, []string{"f.txt:2:", "field 1", "not a finite number"}},
		{"word", "1 2\n3 abc\n", 0, []string{"f.txt:2:", `field 2 ("abc") is not a number`}},
		{"overflow64", "1e400 2\n", 0, []string{"f.txt:1:", "not a finite number"}},
		{"overflow32", "1e39 2\n", 0, []string{"f.txt:1:", "float32"}},
		{"csv empty field", "1,,3\n", ',', []string{"f.txt:1:", "field 2 is empty"}},
		{"csv trailing comma", "1,2,\n", ',', []string{"f.txt:1:", "field 3 is empty"}},
		{"csv ragged", "1,2\n3,4,5\n", ',', []string{"f.txt:2:", "3 fields, want 2"}},
		{"long line", strings.Repeat("1 ", maxLineBytes), 0, []string{"f.txt:1:", "line longer than"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseTable(strings.NewReader(c.in), "f.txt", c.comma)
			wantErr(t, err, c.want...)
		})
	}
}

func TestParseIntsErrors(t *testing.T) {
	vals, lines, err := parseInts(strings.NewReader("3\n\n0\n17\n"), "idx.txt")
	if err != nil || len(vals) != 3 || vals[2] != 17 || lines[2] != 4 {
		t.Fatalf("parseInts = %v %v %v", vals, lines, err)
	}
	for _, c := range []struct{ in, want string }{
		{"1\n-2\n", "idx.txt:2: \"-2\" is not a non-negative integer"},
		{"1\n2.5\n", "idx.txt:2: \"2.5\" is not a non-negative integer"},
		{"1 2\n", "idx.txt:1: 2 fields, want one integer per line"},
		{"", "idx.txt: no data rows"},
	} {
		_, _, err := parseInts(strings.NewReader(c.in), "idx.txt")
		wantErr(t, err, c.want)
	}
}

func TestRelabel(t *testing.T) {
	mk := func(texts ...string) []rawLabel {
		out := make([]rawLabel, len(texts))
		for i, s := range texts {
			out[i] = rawLabel{text: s, source: "y.txt", line: i + 1}
		}
		return out
	}
	// Numbers sort numerically (10 after 2) and equal values in other spellings share a class.
	labels, names, err := relabel(mk("2", "10", "1.000e+00", "2.0", "-0", "0"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(names, ","), "0,1,2,10"; got != want {
		t.Fatalf("names %s, want %s", got, want)
	}
	wantLabels := []int32{2, 3, 1, 2, 0, 0}
	for i := range wantLabels {
		if labels[i] != wantLabels[i] {
			t.Fatalf("labels %v, want %v", labels, wantLabels)
		}
	}
	// Words sort as text.
	labels, names, err = relabel(mk("g", "b", "g"))
	if err != nil || strings.Join(names, ",") != "b,g" || labels[0] != 1 || labels[1] != 0 {
		t.Fatalf("word labels: %v %v %v", labels, names, err)
	}
	_, _, err = relabel(mk("1", "1.5"))
	wantErr(t, err, "y.txt:2:", `"1.5" is not an integer`)
}
