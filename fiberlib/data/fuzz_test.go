package data

import (
	"bytes"
	"math"
	"slices"
	"testing"
)

// The fuzz targets below run their seed corpora (testdata/fuzz/<Target>/ plus the f.Add seeds) as ordinary
// tests; `go test -fuzz=FuzzParseIDX ./fiberlib/data/` explores further. Each checks that the parser never
// panics and that whatever it accepts satisfies the invariants its callers rely on.

func FuzzParseIDX(f *testing.F) {
	f.Add(idxBytes([]int{2, 2}, []byte{0, 1, 2, 255}))
	f.Add([]byte{0, 0, 8, 1, 0, 0, 0, 3, 7, 8})
	f.Fuzz(func(t *testing.T, in []byte) {
		idx, err := ParseIDX(bytes.NewReader(in), "fuzz")
		if err != nil {
			return
		}
		if len(idx.Dims) == 0 {
			t.Fatal("accepted an array without dimensions")
		}
		n := 1
		for _, d := range idx.Dims {
			if d <= 0 {
				t.Fatalf("accepted dimension %d", d)
			}
			n *= d
		}
		if n != len(idx.Data) {
			t.Fatalf("dims %v but %d bytes", idx.Dims, len(idx.Data))
		}
	})
}

func checkTable(t *testing.T, tab *Table) {
	if tab.Rows < 1 || tab.Cols < 1 || len(tab.Values) != tab.Rows*tab.Cols || len(tab.Lines) != tab.Rows {
		t.Fatalf("inconsistent table %d×%d with %d values, %d lines", tab.Rows, tab.Cols, len(tab.Values), len(tab.Lines))
	}
	for _, v := range tab.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > math.MaxFloat32 {
			t.Fatalf("accepted value %v", v)
		}
	}
	if !slices.IsSorted(tab.Lines) || tab.Lines[0] < 1 {
		t.Fatalf("line numbers %v", tab.Lines)
	}
}

// FuzzParseTable covers the UCI text format (white space) and CSV (comma).
func FuzzParseTable(f *testing.F) {
	f.Add([]byte(" 0.00632  18.00   2.310  0\n 0.02731   0.00   7.070  0\n"), false)
	f.Add([]byte("1.14,-0.114,1\n-1.52,-1.15,2\n"), true)
	f.Fuzz(func(t *testing.T, in []byte, csv bool) {
		comma := rune(0)
		if csv {
			comma = ','
		}
		tab, err := ParseTable(bytes.NewReader(in), "fuzz", comma)
		if err != nil {
			return
		}
		checkTable(t, tab)
	})
}

// FuzzParseInts covers the UCI index and settings files.
func FuzzParseInts(f *testing.F) {
	f.Add([]byte("307\n343\n47\n"))
	f.Add([]byte("20\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		vals, lines, err := parseInts(bytes.NewReader(in), "fuzz")
		if err != nil {
			return
		}
		if len(vals) == 0 || len(vals) != len(lines) {
			t.Fatalf("%d values, %d lines", len(vals), len(lines))
		}
		for _, v := range vals {
			if v < 0 {
				t.Fatalf("accepted %d", v)
			}
		}
	})
}

func checkClassification(t *testing.T, ds *Dataset) {
	if err := ds.Validate(); err != nil {
		t.Fatalf("accepted an invalid set: %v", err)
	}
	if ds.Classes < 2 || len(ds.ClassNames) != ds.Classes {
		t.Fatalf("%d classes, names %q", ds.Classes, ds.ClassNames)
	}
	for k, c := range ds.ClassCounts() {
		if c == 0 {
			t.Fatalf("class %d (%q) has no example", k, ds.ClassNames[k])
		}
	}
	seen := map[string]bool{}
	for _, n := range ds.ClassNames {
		if seen[n] {
			t.Fatalf("class name %q twice", n)
		}
		seen[n] = true
	}
}

// FuzzParseClassificationTable covers CSV or white-space tables with the class in the last column
// (ionosphere.data, banana.csv).
func FuzzParseClassificationTable(f *testing.F) {
	f.Add([]byte("1,0,0.99539,-0.05889,1\n1,0,1,-0.18829,0\n"), true)
	f.Add([]byte("1 2 g\n3 4 b\n"), false)
	f.Fuzz(func(t *testing.T, in []byte, csv bool) {
		comma := rune(0)
		if csv {
			comma = ','
		}
		ds, err := ParseClassificationTable(bytes.NewReader(in), "fuzz", comma, "fuzz")
		if err != nil {
			return
		}
		checkClassification(t, ds)
	})
}

// FuzzParseXY covers the X.txt / Y.txt pairs (glass, vehicle, waveform) and the pre-split CSV pairs.
func FuzzParseXY(f *testing.F) {
	f.Add([]byte("1.52101 13.64 4.49\n1.51761 13.89 3.6\n"), []byte("0\n5\n"))
	f.Add([]byte("1 2\n3 4\n5 6\n"), []byte("1.000000000000000000e+00\n0.000000000000000000e+00\n1\n"))
	f.Fuzz(func(t *testing.T, x, y []byte) {
		ds, err := parseXY(bytes.NewReader(x), "X.txt", bytes.NewReader(y), "Y.txt", "fuzz")
		if err != nil {
			return
		}
		checkClassification(t, ds)
	})
}
