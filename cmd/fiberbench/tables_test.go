package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTablesAndResume writes three splits of a fake run (one failed), checks the mean ± SE in the tables
// against hand values (and n where a method has fewer splits than the set), the published numbers beside them, the failure row, and that -resume keeps the
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
	for k, nll := range []float64{1, 2} { // two of the set's three splits: the entry says n=2
		st.put(cell{Study: "uci-reg", Set: "bostonHousing", Split: k, Method: "swag", Metrics: map[string]float64{"nll": nll}, TotalSeconds: 2})
	}
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
		"| SWAG (low-rank) | 1.500 ± 0.500 (n=2) |",
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
	if len(re.cells) != 7 {
		t.Errorf("resume read %d cells, want 7 (the failed one dropped)", len(re.cells))
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

// TestSkipBudgetAndOOD checks the -skip parsing, the budget flags, that a skipped cell shows as "skipped" and is
// not done (so -resume runs it), the budget column, and the OOD histograms against hand counts.
func TestSkipBudgetAndOOD(t *testing.T) {
	sk, err := parseSkip("naval:flow,*:fiber", allMethods)
	if err != nil || !sk["naval:flow"] || !sk["*:fiber"] || len(sk) != 2 {
		t.Fatalf("parseSkip: %v %v", sk, err)
	}
	if _, err := parseSkip("naval-flow", allMethods); err == nil || !strings.Contains(err.Error(), "naval-flow") {
		t.Errorf("bad -skip accepted or not named: %v", err)
	}
	cfg := settingsFor("uci-reg", false).override(flags{walkSteps: 800, particles: 32, flowSteps: 500})
	if cfg.WalkSteps != 800 || cfg.Particles != 32 || cfg.FlowSteps != 500 || cfg.Members != 5 || cfg.MAPSteps != 4000 {
		t.Errorf("override: %+v", cfg)
	}
	if got := settingsFor("fmnist", false).override(flags{swagEpochs: 3, samples: 32, swagLRFraction: 0.05}).budget("swag"); got != "3 epochs, 32 draws, lr fraction 0.05" {
		t.Errorf("budget(swag) with -swag-lr-fraction = %q", got)
	}
	if got := cfg.budget("flow"); got != "walk 32×800, flow ≤500 steps, 64 draws" {
		t.Errorf("budget(flow) = %q", got)
	}
	dir := t.TempDir()
	st, _ := openStore(dir, false)
	st.put(cell{Study: "uci-reg", Set: "naval", Split: 0, Method: "flow", Skipped: "time"})
	st.put(cell{Study: "uci-reg", Set: "naval", Split: 0, Method: "fiber", Metrics: map[string]float64{"nll": 1}, Budget: "walk 32×800"})
	st.put(cell{Study: "uci-reg", Set: "naval", Split: 1, Method: "fiber", Metrics: map[string]float64{"nll": 2}, Budget: "walk 64×4000"})
	if st.done("uci-reg", "naval", 0, "flow") || !st.has("uci-reg", "naval", 0, "flow") {
		t.Error("a skipped cell must be held but not done")
	}
	m := &meta{Mode: "full", Studies: map[string]studyMeta{"uci-reg": {Splits: 2}}}
	if err := writeAll(flags{out: dir, mode: "full", noPlots: true}, st, m, time.Now()); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "results.md"))
	for _, want := range []string{"| Fiber walk + flow | skipped |", "| Fiber walk | 1.500 ± 0.500 |", "mixed: walk 32×800; walk 64×4000", "naval (2)", "Fiber walk + flow on naval (1 splits)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
	// 3 classes, ln 3 = 1.0986: a one-hot row has entropy 0 and max prob 1 (last bin); a uniform row entropy
	// ln 3 (last bin) and max prob 1/3 (bin ⌊40/3⌋ = 13).
	h, err := newOODHist([]float64{1, 0, 0, 0, 1, 0}, []float64{1. / 3, 1. / 3, 1. / 3}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if h.EntropyIn[0] != 2 || h.MaxProbIn[oodBins-1] != 2 || h.EntropyOut[oodBins-1] != 1 || h.MaxProbOut[13] != 1 {
		t.Errorf("histograms: %+v", h)
	}
	if h.MeanEntropyIn != 0 || h.MeanEntropyOut < 1.0985 || h.MeanEntropyOut > 1.0987 {
		t.Errorf("mean entropies %v %v, want 0 and ln 3", h.MeanEntropyIn, h.MeanEntropyOut)
	}
	if _, err := newOODHist([]float64{1, 0}, []float64{1, 0, 0}, 3); err == nil {
		t.Error("ragged probabilities accepted")
	}
}

// TestMethodsPerStudy: every method has a display name and a budget; the K-FAC last-layer Laplace runs on
// Fashion-MNIST only and the all-weights diagonal Laplace everywhere but there.
func TestMethodsPerStudy(t *testing.T) {
	cfg := settingsFor("fmnist", false)
	for _, m := range allMethods {
		if displayName(m) == m || cfg.budget(m) == "" {
			t.Errorf("method %q has no display name or no budget", m)
		}
		if strings.HasPrefix(m, "la-") {
			for _, study := range []string{"uci-reg", "uci-class", "fmnist"} {
				want := study == "fmnist"
				if strings.HasPrefix(m, "la-diag") {
					want = study != "fmnist"
				} else if strings.HasPrefix(m, "la-ll") {
					want = true
				}
				if runsOn(study, m) != want {
					t.Errorf("runsOn(%s, %s) = %v, want %v", study, m, !want, want)
				}
			}
		} else if !runsOn("uci-reg", m) || !runsOn("fmnist", m) {
			t.Errorf("%s should run on every study", m)
		}
	}
}
