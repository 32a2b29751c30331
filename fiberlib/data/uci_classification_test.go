package data

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// classCountsFromFile counts the label column of a file independently of the parser: labels as written
// (the last field of each non-blank line, split on sep or white space), counted per distinct text.
func classCountsFromFile(t *testing.T, path string, sep string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var fields []string
		if sep == "" {
			fields = strings.Fields(line)
		} else {
			fields = strings.Split(line, sep)
		}
		counts[fields[len(fields)-1]]++
	}
	return counts
}

func TestUCIClassificationShipped(t *testing.T) {
	dir := dataDir(t)
	base := filepath.Join(dir, "uci-classification")
	for _, c := range []struct {
		name      string
		n, d, k   int
		labelFile []string // files holding the labels, to count classes independently
		sep       string
		counts    []int // per class, hand-counted with `sort | uniq -c`
	}{
		{"australian", 690, 14, 2, []string{"australian_presplit/australian_scale_y_tr.csv", "australian_presplit/australian_scale_y_te.csv"}, "", []int{383, 307}},
		{"breast_cancer", 683, 10, 2, []string{"breast_cancer_scale_presplit/breast_cancer_scale_y_tr.csv", "breast_cancer_scale_presplit/breast_cancer_scale_y_te.csv"}, "", []int{444, 239}},
		{"glass", 214, 9, 6, []string{"glass/Y.txt"}, "", []int{70, 76, 17, 13, 9, 29}},
		{"ionosphere", 351, 34, 2, []string{"ionosphere/ionosphere.data"}, ",", []int{126, 225}},
		{"vehicle", 846, 18, 4, []string{"vehicle/Y.txt"}, "", []int{218, 212, 217, 199}},
		{"waveform", 1000, 21, 3, []string{"waveform/Y.txt"}, "", []int{311, 350, 339}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ds, err := LoadUCIClassification(dir, c.name)
			if err != nil {
				t.Fatal(err)
			}
			if ds.N != c.n || ds.D != c.d || ds.Classes != c.k {
				t.Fatalf("N=%d D=%d K=%d, want %d %d %d", ds.N, ds.D, ds.Classes, c.n, c.d, c.k)
			}
			fileCounts := map[string]int{}
			rows := 0
			for _, f := range c.labelFile {
				for k, v := range classCountsFromFile(t, filepath.Join(base, f), c.sep) {
					fileCounts[k] += v
					rows += v
				}
			}
			if rows != ds.N || len(fileCounts) != ds.Classes {
				t.Fatalf("label files: %d rows, %d classes; loaded %d, %d", rows, len(fileCounts), ds.N, ds.Classes)
			}
			got := ds.ClassCounts()
			if !slices.Equal(got, c.counts) {
				t.Fatalf("class counts %v, want %v", got, c.counts)
			}
			// Class k is the k-th smallest label as written, and has the file's count.
			for k, name := range ds.ClassNames {
				found := false
				for text, n := range fileCounts {
					if relabelKey(text) == name {
						found = true
						if n != got[k] {
							t.Fatalf("class %d (%q): %d examples, the file has %d", k, name, got[k], n)
						}
					}
				}
				if !found {
					t.Fatalf("class name %q not among the file's labels %v", name, slices.Collect(maps.Keys(fileCounts)))
				}
			}
			if err := ds.Validate(); err != nil {
				t.Fatal(err)
			}
			// The Immer et al. split: 70 / 15 / 15, stratified.
			tr, va, te, err := SplitUCIClassification(ds, 3)
			if err != nil {
				t.Fatal(err)
			}
			if tr.N+va.N+te.N != ds.N || tr.N != ds.N-ceilFrac(0.3, ds.N) || va.N != ceilFrac(0.5, ds.N-tr.N) {
				t.Fatalf("split sizes %d/%d/%d of %d", tr.N, va.N, te.N, ds.N)
			}
			for k, n := range ds.ClassCounts() {
				for _, part := range []struct {
					ds   *Dataset
					frac float64
				}{{tr, 0.7}, {va, 0.15}, {te, 0.15}} {
					// Each part holds its share of each class to within 1 (two roundings for valid/test).
					if got := float64(part.ds.ClassCounts()[k]); !approx(got, part.frac*float64(n), 1.5) {
						t.Fatalf("%s: class %d has %v of %d, want ≈ %v", part.ds.Name, k, got, n, part.frac*float64(n))
					}
				}
			}
		})
	}
	// The pre-split sets as shipped.
	for _, c := range []struct {
		name       string
		ntr, nte   int
		trY0, teY0 int32
	}{{"australian", 345, 345, 0, 1}, {"breast_cancer", 341, 342, 0, 0}} {
		tr, te, err := LoadUCIClassificationPresplit(dir, c.name)
		if err != nil {
			t.Fatal(err)
		}
		if tr.N != c.ntr || te.N != c.nte || tr.Labels[0] != c.trY0 || te.Labels[0] != c.teY0 || !slices.Equal(tr.ClassNames, []string{"0", "1"}) {
			t.Fatalf("%s presplit: %d/%d rows, first labels %d/%d, names %v", c.name, tr.N, te.N, tr.Labels[0], te.Labels[0], tr.ClassNames)
		}
	}
	_, _, err := LoadUCIClassificationPresplit(dir, "glass")
	wantErr(t, err, "not shipped pre-split")
	_, err = LoadUCIClassification(dir, "iris")
	wantErr(t, err, `unknown UCI classification set "iris"`, "glass")
}

// relabelKey writes a label as relabel names it.
func relabelKey(text string) string {
	_, names, err := relabel([]rawLabel{{text: text}})
	if err != nil {
		return text
	}
	return names[0]
}

func ceilFrac(f float64, n int) int {
	m := int(f * float64(n))
	if float64(m) < f*float64(n)-fracTol {
		m++
	}
	return m
}

func TestBanana(t *testing.T) {
	dir := dataDir(t)
	ds, err := LoadBanana(dir)
	if err != nil {
		t.Fatal(err)
	}
	rows := countNonBlankLines(t, filepath.Join(dir, "toy", "banana", "banana.csv"))
	if ds.N != 5300 || rows != 5300 || ds.D != 2 || ds.Classes != 2 || !slices.Equal(ds.ClassNames, []string{"1", "2"}) {
		t.Fatalf("banana: N=%d (file %d) D=%d K=%d names %v", ds.N, rows, ds.D, ds.Classes, ds.ClassNames)
	}
	if c := ds.ClassCounts(); c[0] != 2924 || c[1] != 2376 {
		t.Fatalf("class counts %v, want [2924 2376]", c)
	}
	// First rows of the file: "1.14,-0.114,1" and "-1.52,-1.15,2".
	if ds.X[0] != 1.14 || ds.X[1] != -0.114 || ds.Labels[0] != 0 || ds.X[2] != -1.52 || ds.Labels[1] != 1 {
		t.Fatalf("first rows %v labels %v", ds.X[:4], ds.Labels[:2])
	}
}

func TestClassificationErrors(t *testing.T) {
	good := map[string]string{
		"uci-classification/glass/X.txt": strings.Repeat("1 2 3 4 5 6 7 8 9\n", 6),
		"uci-classification/glass/Y.txt": "0\n1\n2\n3\n4\n5\n",
		"toy/banana/banana.csv":          "1,2,1\n3,4,2\n",
	}
	if ds, err := LoadUCIClassification(writeFiles(t, good), "glass"); err != nil || ds.N != 6 || ds.Classes != 6 {
		t.Fatalf("good fake glass: %v %v", ds, err)
	}
	for _, c := range []struct {
		name, file, content string
		load                func(dir string) error
		want                []string
	}{
		{"label count mismatch", "uci-classification/glass/Y.txt", "0\n1\n2\n3\n4\n", nil,
			[]string{"X.txt has 6 rows but", "Y.txt has 5 labels"}},
		{"non-integer label", "uci-classification/glass/Y.txt", "0\n1\n2\n3\n4\n5.5\n", nil,
			[]string{"Y.txt:6:", `"5.5" is not an integer`}},
		{"two labels on a line", "uci-classification/glass/Y.txt", "0\n1\n2\n3\n4\n5 5\n", nil,
			[]string{"Y.txt:6:", "2 fields, want 1"}},
		{"wrong feature count", "uci-classification/glass/X.txt", strings.Repeat("1 2 3 4 5 6 7 8\n", 6), nil,
			[]string{"X.txt", "8 features per row, want 9 for glass", "wrong feature count"}},
		{"wrong class count", "uci-classification/glass/Y.txt", "0\n1\n2\n3\n4\n4\n", nil,
			[]string{"5 classes", "want 6 for glass"}},
		{"inf feature", "uci-classification/glass/X.txt", strings.Repeat("1 2 3 4 5 6 7 8 9\n", 5) + "1 2 3 inf 5 6 7 8 9\n", nil,
			[]string{"X.txt:6:", "field 4", "not a finite number"}},
		{"missing X", "uci-classification/glass/X.txt", "", nil, []string{"X.txt", "file not found"}},
		{"banana one class", "toy/banana/banana.csv", "1,2,1\n3,4,1\n", func(d string) error { _, err := LoadBanana(d); return err },
			[]string{"banana.csv", `every example has class "1"`, "at least 2 classes"}},
		{"banana three labels", "toy/banana/banana.csv", "1,2,1\n3,4,2\n5,6,3\n", func(d string) error { _, err := LoadBanana(d); return err },
			[]string{"banana.csv", "3 classes (1, 2, 3), want 2"}},
		{"banana ragged", "toy/banana/banana.csv", "1,2,1\n3,2\n", func(d string) error { _, err := LoadBanana(d); return err },
			[]string{"banana.csv:2:", "2 fields, want 3"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := maps.Clone(good)
			if c.content == "" {
				delete(files, c.file)
			} else {
				files[c.file] = c.content
			}
			dir := writeFiles(t, files)
			load := c.load
			if load == nil {
				load = func(d string) error { _, err := LoadUCIClassification(d, "glass"); return err }
			}
			wantErr(t, load(dir), c.want...)
		})
	}
}
