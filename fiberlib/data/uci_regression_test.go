package data

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestUCIRegressionShipped loads every split of every shipped set and checks the shapes against the
// documented ones and against line counts taken from the files independently of the parser; it also checks
// that each split row is the right row of data.txt.
func TestUCIRegressionShipped(t *testing.T) {
	dir := dataDir(t)
	documented := map[string][2]int{ // rows, features (UCI documentation / the protocol's papers)
		"bostonHousing": {506, 13}, "concrete": {1030, 8}, "energy": {768, 8}, "kin8nm": {8192, 8},
		"naval-propulsion-plant": {11934, 16}, "power-plant": {9568, 4}, "wine-quality-red": {1599, 11},
	}
	if len(documented) != len(UCIRegressionNames) {
		t.Fatalf("documented table has %d sets, UCIRegressionNames %d", len(documented), len(UCIRegressionNames))
	}
	for _, name := range UCIRegressionNames {
		t.Run(name, func(t *testing.T) {
			set, err := OpenUCIRegression(dir, name)
			if err != nil {
				t.Fatal(err)
			}
			p := set.Protocol
			setDir := filepath.Join(dir, "uci-regression", name)
			rows := countNonBlankLines(t, filepath.Join(setDir, "data.txt"))
			doc := documented[name]
			if set.All.N != rows || set.All.N != doc[0] {
				t.Fatalf("N=%d, file has %d rows, documented %d", set.All.N, rows, doc[0])
			}
			if set.All.D != countNonBlankLines(t, filepath.Join(setDir, "index_features.txt")) || set.All.D != doc[1] {
				t.Fatalf("D=%d, documented %d", set.All.D, doc[1])
			}
			if p.NSplits != 20 || p.NHidden != 50 || p.NEpochs != 40 || set.All.T != 1 {
				t.Fatalf("protocol %+v, want 20 splits, 50 hidden, 40 epochs, T=1", p)
			}
			raw, err := ReadTable(filepath.Join(setDir, "data.txt"), 0)
			if err != nil {
				t.Fatal(err)
			}
			for k := 0; k < p.NSplits; k++ {
				train, test, err := set.Split(k)
				if err != nil {
					t.Fatal(err)
				}
				nTr := countNonBlankLines(t, filepath.Join(setDir, fmt.Sprintf("index_train_%d.txt", k)))
				nTe := countNonBlankLines(t, filepath.Join(setDir, fmt.Sprintf("index_test_%d.txt", k)))
				if train.N != nTr || test.N != nTe {
					t.Fatalf("split %d: %d/%d rows, index files have %d/%d", k, train.N, test.N, nTr, nTe)
				}
				// The standard splits hold out 10 % (rounded) and use every row.
				if train.N+test.N != rows {
					t.Fatalf("split %d: %d+%d rows, want all %d", k, train.N, test.N, rows)
				}
				if err := train.Validate(); err != nil {
					t.Fatal(err)
				}
				// First test row = the data.txt row named on the first line of index_test_k.txt.
				first := firstInt(t, filepath.Join(setDir, fmt.Sprintf("index_test_%d.txt", k)))
				for j, f := range p.Features {
					if got, want := test.X[j], float32(raw.At(first, f)); got != want {
						t.Fatalf("split %d: test row 0 feature %d = %v, want data.txt row %d col %d = %v", k, j, got, first, f, want)
					}
				}
				if got, want := test.Y[0], float32(raw.At(first, p.Target)); got != want {
					t.Fatalf("split %d: test target %v, want %v", k, got, want)
				}
			}
		})
	}
	// A hand-checked row: Boston's first row (CRIM 0.00632, ..., LSTAT 4.98; MEDV 24.0).
	set, err := OpenUCIRegression(dir, "bostonHousing")
	if err != nil {
		t.Fatal(err)
	}
	if r := set.All.Row(0); r[0] != 0.00632 || r[1] != 18 || r[12] != 4.98 || set.All.Y[0] != 24 {
		t.Fatalf("boston row 0 = %v → %v", r, set.All.Y[0])
	}
	// Naval's data.txt has 18 columns; the protocol's target is column 16 (compressor decay), not 17.
	naval, err := OpenUCIRegression(dir, "naval-propulsion-plant")
	if err != nil {
		t.Fatal(err)
	}
	if naval.Protocol.Target != 16 {
		t.Fatalf("naval target column %d, want 16", naval.Protocol.Target)
	}
}

func firstInt(t *testing.T, path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.Atoi(strings.Fields(string(b))[0])
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fakeUCI returns the files of a small, valid UCI regression set named "toy" (5 rows, features 0 and 2,
// target 1, two splits), to be corrupted by the error tests.
func fakeUCI() map[string]string {
	return map[string]string{
		"uci-regression/toy/data.txt":           "1 10 100\n2 20 200\n3 30 300\n4 40 400\n5 50 500\n",
		"uci-regression/toy/index_features.txt": "0\n2\n",
		"uci-regression/toy/index_target.txt":   "1\n",
		"uci-regression/toy/n_splits.txt":       "2\n",
		"uci-regression/toy/n_hidden.txt":       "50\n",
		"uci-regression/toy/n_epochs.txt":       "40\n",
		"uci-regression/toy/index_train_0.txt":  "0\n1\n2\n",
		"uci-regression/toy/index_test_0.txt":   "3\n4\n",
		"uci-regression/toy/index_train_1.txt":  "4\n3\n2\n1\n",
		"uci-regression/toy/index_test_1.txt":   "0\n",
	}
}

func TestUCIRegressionFake(t *testing.T) {
	dir := writeFiles(t, fakeUCI())
	train, test, err := LoadUCIRegression(dir, "toy", 1)
	if err != nil {
		t.Fatal(err)
	}
	// Split 1: train rows 4,3,2,1 in that order; features are columns 0 and 2, target column 1.
	if train.N != 4 || train.D != 2 || train.X[0] != 5 || train.X[1] != 500 || train.Y[0] != 50 || train.Y[3] != 20 {
		t.Fatalf("train = %+v", train)
	}
	if test.N != 1 || test.X[0] != 1 || test.X[1] != 100 || test.Y[0] != 10 || test.Name != "toy/split1/test" {
		t.Fatalf("test = %+v", test)
	}
	// dir may also be the folder holding the set directly.
	if _, _, err := LoadUCIRegression(filepath.Join(dir, "uci-regression"), "toy", 0); err != nil {
		t.Fatal(err)
	}
}

func TestUCIRegressionErrors(t *testing.T) {
	p := "uci-regression/toy/"
	for _, c := range []struct {
		name   string
		change map[string]string // "" removes the file
		split  int
		want   []string
	}{
		{"unknown set", nil, 0, nil},
		{"missing data", map[string]string{p + "data.txt": ""}, 0, []string{"data.txt", "file not found", EnvDataDir}},
		{"empty data", map[string]string{p + "data.txt": "\n\n"}, 0, []string{"data.txt", "no data rows"}},
		{"ragged row", map[string]string{p + "data.txt": "1 10 100\n2 20\n"}, 0, []string{"data.txt:2:", "2 fields, want 3"}},
		{"nan", map[string]string{p + "data.txt": "1 10 100\n2 NaN 200\n3 30 300\n4 40 400\n5 50 500\n"}, 0,
			[]string{"data.txt:2:", "field 2", "not a finite number"}},
		{"wrong feature count", map[string]string{p + "index_features.txt": "0\n3\n"}, 0,
			[]string{"data.txt", "column 3", "rows have 3 columns", "wrong feature count"}},
		{"target is a feature", map[string]string{p + "index_target.txt": "2\n"}, 0, []string{"index_target.txt", "also a feature"}},
		{"duplicate feature", map[string]string{p + "index_features.txt": "0\n0\n"}, 0, []string{"index_features.txt:2:", "listed twice"}},
		{"split out of range", nil, 2, []string{"split 2 is out of range [0, 2)"}},
		{"negative split", nil, -1, []string{"split -1 is out of range"}},
		{"index out of range", map[string]string{p + "index_test_0.txt": "3\n5\n"}, 0,
			[]string{"index_test_0.txt:2:", "row index 5 is out of range [0, 5)"}},
		{"train/test overlap", map[string]string{p + "index_test_0.txt": "3\n2\n"}, 0,
			[]string{"index_test_0.txt:2:", "row index 2 already appears in index_train_0.txt line 3"}},
		{"missing split file", map[string]string{p + "index_test_0.txt": ""}, 0, []string{"index_test_0.txt", "file not found"}},
		{"bad settings", map[string]string{p + "n_splits.txt": "twenty\n"}, 0, []string{"n_splits.txt:1:", "not a non-negative integer"}},
		{"zero splits", map[string]string{p + "n_splits.txt": "0\n"}, 0, []string{"n_splits.txt", "want a positive integer"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := maps.Clone(fakeUCI())
			for k, v := range c.change {
				if v == "" {
					delete(files, k)
				} else {
					files[k] = v
				}
			}
			dir := writeFiles(t, files)
			name := "toy"
			if c.want == nil {
				name = "nosuch"
				c.want = []string{`set "nosuch" not found`, filepath.Join(dir, "uci-regression", "nosuch")}
			}
			_, _, err := LoadUCIRegression(dir, name, c.split)
			wantErr(t, err, c.want...)
		})
	}
}
