package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTablesAndResume writes three splits of a fake run (one failed), checks the mean ± SE in the tables
// against hand values, the published numbers beside them, the failure row, and that -resume keeps the
// finished cells and not the failed one.
func TestTablesAndResume(t *testing.T) {
	dir := t.TempDir()
	st, err := openStore(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	for k, nll := range []float64{2.0, 2.5, 3.0} {
		st.put(cell{Study: "uci-reg", Set: "bostonHousing", Split: k, Method: "map", Metrics: map[string]float64{"nll": nll, "rmse": 3}, TotalSeconds: 2})
	}
	st.put(cell{Study: "uci-reg", Set: "bostonHousing", Split: 3, Method: "map", Error: "boom | bad"})
	st.put(cell{Study: "uci-reg", Set: "bostonHousing", Split: 0, Method: "fiber", Metrics: map[string]float64{"nll": 2.25}, TotalSeconds: 20})
	fl := flags{out: dir, mode: "full"}
	m := &meta{Mode: "full", Studies: map[string]studyMeta{"uci-reg": {Splits: 4}}}
	if err := writeAll(fl, st, m, time.Now()); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(md)
	// nll 2, 2.5, 3: mean 2.5, sample sd 0.5, SE 0.5/√3 = 0.289.
	for _, want := range []string{
		"| MAP | 2.500 ± 0.289 ⚠1 |",
		"| Fiber walk | 2.250 (n=1) |",
		"| *PBP (published)* | *2.57 ± 0.09* |",
		"| *Deep Ensembles (published)* | *3.28* |",
		"| bostonHousing | 3 | MAP | boom \\| bad |",
		"Lakshminarayanan et al. 2017",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("results.md lacks %q:\n%s", want, s)
		}
	}
	for _, f := range []string{"cells.json", "cells.csv", "summary.csv", "meta.json", "plots/uci-reg_bostonHousing_nll_vs_cost.svg"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	sum, _ := os.ReadFile(filepath.Join(dir, "summary.csv"))
	if !strings.Contains(string(sum), "uci-reg,bostonHousing,map,nll,2.5,0.288675,3,1,ours") {
		t.Errorf("summary.csv lacks the MAP NLL row:\n%s", sum)
	}
	re, err := openStore(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if !re.done("uci-reg", "bostonHousing", 2, "map") || !re.done("uci-reg", "bostonHousing", 0, "fiber") {
		t.Error("resume lost finished cells")
	}
	if re.done("uci-reg", "bostonHousing", 3, "map") || re.done("uci-reg", "bostonHousing", 1, "fiber") {
		t.Error("resume marks a failed or missing cell as done")
	}
	if len(re.cells) != 5 {
		t.Errorf("resume read %d cells, want 5", len(re.cells))
	}
}

// TestFlagErrors checks that bad flags are refused with a message naming the value.
func TestFlagErrors(t *testing.T) {
	for _, fl := range []flags{{mode: "fast"}, {mode: "quick", study: "cifar"}, {mode: "quick", methods: "hmc2"}} {
		err := run(fl)
		if err == nil {
			t.Errorf("%+v: no error", fl)
			continue
		}
		if !strings.Contains(err.Error(), "fast") && !strings.Contains(err.Error(), "cifar") && !strings.Contains(err.Error(), "hmc2") {
			t.Errorf("%+v: error %q does not name the bad value", fl, err)
		}
	}
}
