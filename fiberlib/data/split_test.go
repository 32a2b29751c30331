package data

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// labelled returns a classification set with the given class sizes; feature 0 of example i is i, so rows can
// be traced through splits.
func labelled(sizes ...int) *Dataset {
	ds := &Dataset{Name: "lab", Task: Classification, D: 1, Classes: len(sizes)}
	for c, n := range sizes {
		for range n {
			ds.X = append(ds.X, float32(ds.N))
			ds.Labels = append(ds.Labels, int32(c))
			ds.N++
		}
	}
	return ds
}

func ids(ds *Dataset) []int {
	out := make([]int, ds.N)
	for i := range out {
		out[i] = int(ds.X[i])
	}
	return out
}

func TestStratifiedSplit(t *testing.T) {
	ds := labelled(50, 31, 7, 2, 110)
	for _, frac := range []float64{0.1, 0.3, 0.5, 0.77} {
		tr, te, err := StratifiedSplit(ds, frac, 42)
		if err != nil {
			t.Fatal(err)
		}
		if want := int(math.Ceil(frac*float64(ds.N) - 1e-9)); te.N != want || tr.N+te.N != ds.N {
			t.Fatalf("frac %v: %d test of %d, want %d", frac, te.N, ds.N, want)
		}
		// Every class is divided in proportion: floor or ceil of frac·N_c.
		for c, n := range ds.ClassCounts() {
			got := te.ClassCounts()[c]
			exact := frac * float64(n)
			if float64(got) < math.Floor(exact+1e-9) || float64(got) > math.Ceil(exact-1e-9) {
				t.Fatalf("frac %v class %d: %d of %d in test, want floor/ceil of %v", frac, c, got, n, exact)
			}
		}
		// Disjoint, complete, and in original order.
		all := append(ids(tr), ids(te)...)
		slices.Sort(all)
		for i, v := range all {
			if v != i {
				t.Fatalf("frac %v: union of the parts is not every row once", frac)
			}
		}
		if !slices.IsSorted(ids(tr)) || !slices.IsSorted(ids(te)) {
			t.Fatal("parts are not in original order")
		}
		// Labels travel with their rows.
		for i, id := range ids(te) {
			if te.Labels[i] != ds.Labels[id] {
				t.Fatal("label does not follow its row")
			}
		}
	}
	// Deterministic per seed, different across seeds.
	_, a, _ := StratifiedSplit(ds, 0.3, 7)
	_, b, _ := StratifiedSplit(ds, 0.3, 7)
	_, c, _ := StratifiedSplit(ds, 0.3, 8)
	if !slices.Equal(ids(a), ids(b)) {
		t.Fatal("same seed, different split")
	}
	if slices.Equal(ids(a), ids(c)) {
		t.Fatal("different seeds, same split")
	}
	// 0.3 of 10 is 3 (not 4 from 3.0000000000000004).
	_, te, err := StratifiedSplit(labelled(5, 5), 0.3, 1)
	if err != nil || te.N != 3 {
		t.Fatalf("0.3 of 10: %d, %v", te.N, err)
	}
}

func TestSplitErrors(t *testing.T) {
	ds := labelled(3, 3)
	for _, f := range []float64{0, 1, -0.1, math.NaN()} {
		_, _, err := StratifiedSplit(ds, f, 1)
		wantErr(t, err, "fraction", "not in (0, 1)")
	}
	_, _, err := StratifiedSplit(labelled(1, 1), 0.99, 1)
	wantErr(t, err, "leaves an empty part")
	reg := &Dataset{Name: "r", Task: Regression, N: 3, D: 1, T: 1, X: []float32{1, 2, 3}, Y: []float32{1, 2, 3}}
	_, _, err = StratifiedSplit(reg, 0.5, 1)
	wantErr(t, err, "needs a classification set", "RandomSplit")
	bad := labelled(3, 3)
	bad.Labels[0] = 5
	_, _, err = StratifiedSplit(bad, 0.5, 1)
	wantErr(t, err, "label 5 of example 0 is out of range [0, 2)")
}

func TestRandomAndValidationSplit(t *testing.T) {
	reg := &Dataset{Name: "r", Task: Regression, N: 100, D: 1, T: 1}
	for i := range 100 {
		reg.X = append(reg.X, float32(i))
		reg.Y = append(reg.Y, float32(2*i))
	}
	fit, val, err := ValidationSplit(reg, 0.2, 5)
	if err != nil {
		t.Fatal(err)
	}
	if fit.N != 80 || val.N != 20 || fit.Name != "r/fit" || val.Name != "r/valid" {
		t.Fatalf("sizes %d/%d names %s %s", fit.N, val.N, fit.Name, val.Name)
	}
	for i, id := range ids(val) {
		if val.Y[i] != float32(2*id) {
			t.Fatal("target does not follow its row")
		}
	}
	_, val2, _ := ValidationSplit(reg, 0.2, 5)
	if !slices.Equal(ids(val), ids(val2)) {
		t.Fatal("same seed, different split")
	}
	// Classification validation splits are stratified.
	_, cv, err := ValidationSplit(labelled(40, 60), 0.1, 1)
	if err != nil || !slices.Equal(cv.ClassCounts(), []int{4, 6}) {
		t.Fatalf("stratified validation: %v %v", cv.ClassCounts(), err)
	}
}

func TestSubsetAndConcat(t *testing.T) {
	ds := labelled(2, 3)
	_, err := ds.Subset("x", []int{0, 5})
	wantErr(t, err, "subset index 5 (position 1) is out of range [0, 5)")
	a, _ := ds.Subset("a", []int{4, 0})
	b, _ := ds.Subset("b", []int{2})
	ab, err := Concat("ab", a, b)
	if err != nil || !slices.Equal(ids(ab), []int{4, 0, 2}) || !slices.Equal(ab.Labels, []int32{1, 0, 1}) {
		t.Fatalf("concat: %v %v %v", ids(ab), ab.Labels, err)
	}
	reg := &Dataset{Name: "r", Task: Regression, N: 1, D: 1, T: 1, X: []float32{1}, Y: []float32{1}}
	_, err = Concat("x", a, reg)
	wantErr(t, err, "shapes differ")
}

// Every function taking a *Dataset refuses nil with an error that says so, instead of panicking.
func TestNilDatasetIsAnError(t *testing.T) {
	ds, err := GapRegression(GapOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	std, err := FitStandardizer(ds, StandardizeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var nilDS *Dataset
	calls := map[string]func() error{
		"Validate":        func() error { return nilDS.Validate() },
		"Subset":          func() error { _, err := nilDS.Subset("x", []int{0}); return err },
		"Concat":          func() error { _, err := Concat("x", ds, nil); return err },
		"RandomSplit":     func() error { _, _, err := RandomSplit(nil, 0.3, 1); return err },
		"StratifiedSplit": func() error { _, _, err := StratifiedSplit(nil, 0.3, 1); return err },
		"ValidationSplit": func() error { _, _, err := ValidationSplit(nil, 0.3, 1); return err },
		"FitStandardizer": func() error { _, err := FitStandardizer(nil, StandardizeOptions{}); return err },
		"Standardize":     func() error { _, _, err := Standardize(ds, nil); return err },
		"Transform":       func() error { _, err := std.Transform(nil); return err },
		"Inverse":         func() error { _, err := std.Inverse(nil); return err },
	}
	for name, call := range calls {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s(nil) panicked: %v", name, r)
				}
			}()
			if err := call(); err == nil || !strings.Contains(err.Error(), "nil data set") {
				t.Errorf("%s(nil): err = %v, want one saying nil data set", name, err)
			}
		}()
	}
}
