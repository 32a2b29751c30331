package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/metrics"
)

// metricOrder lists the metrics in print order; metricTitles names them.
var metricOrder = []string{"nll", "rmse", "acc", "ece", "brier", "auroc_entropy", "auroc_maxprob"}

var metricTitles = map[string]string{
	"nll":           "Test NLL per point (lower is better)",
	"rmse":          "Test RMSE (lower is better)",
	"acc":           "Test accuracy, % (higher is better)",
	"ece":           "ECE, 15 bins, % (lower is better)",
	"brier":         "Brier score (lower is better)",
	"auroc_entropy": "OOD AUROC vs MNIST, predictive entropy (higher is better)",
	"auroc_maxprob": "OOD AUROC vs MNIST, max probability (higher is better)",
}

var studyTitles = map[string]string{
	"uci-reg":   "UCI regression (standard splits; original units)",
	"uci-class": "UCI classification (seeded 70/15/15 splits)",
	"fmnist":    "Fashion-MNIST (OOD: MNIST test set)",
}

// group is the cells of one (study, set, method).
type group struct {
	study, set, method string
	ok, failed         []cell
	skipped            []cell
}

func groups(cells []cell) []*group {
	var out []*group
	idx := map[string]*group{}
	for _, c := range cells {
		k := c.Study + "|" + c.Set + "|" + c.Method
		g := idx[k]
		if g == nil {
			g = &group{study: c.Study, set: c.Set, method: c.Method}
			idx[k] = g
			out = append(out, g)
		}
		if c.Skipped != "" {
			g.skipped = append(g.skipped, c)
		} else if c.Error != "" {
			g.failed = append(g.failed, c)
		} else {
			g.ok = append(g.ok, c)
		}
	}
	return out
}

func (g *group) summary(metric string) (metrics.Summary, bool) {
	var v []float64
	for _, c := range g.ok {
		if x, ok := c.Metrics[metric]; ok && !math.IsNaN(x) && !math.IsInf(x, 0) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return metrics.Summary{}, false
	}
	s, err := metrics.Summarize(v)
	return s, err == nil
}

func (g *group) meanOf(field func(c cell) float64) float64 {
	var v []float64
	for _, c := range g.ok {
		v = append(v, field(c))
	}
	return mean(v)
}

func fmtSummary(s metrics.Summary, dec int) string {
	if s.N == 1 || math.IsNaN(s.SE) {
		return fmt.Sprintf("%.*f (n=1)", dec, s.Mean)
	}
	return fmt.Sprintf("%.*f ± %.*f", dec, s.Mean, dec, s.SE)
}

func decimals(metric string) int {
	switch metric {
	case "ece", "acc":
		return 2
	}
	return 3
}

// writeAll writes meta.json, cells.json, the CSV files, results.md and the plots, each atomically.
func writeAll(fl flags, st *store, m *meta, start time.Time) error {
	m.Finished = time.Now().UTC().Format(time.RFC3339)
	m.WallSeconds = time.Since(start).Seconds()
	if err := st.save(); err != nil {
		return err
	}
	mb, err := m.json()
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(fl.out, "meta.json"), mb); err != nil {
		return err
	}
	cells := sanitize(st.sorted())
	gs := groups(cells)
	if err := writeAtomic(filepath.Join(fl.out, "cells.csv"), cellsCSV(cells)); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(fl.out, "summary.csv"), summaryCSV(gs)); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(fl.out, "results.md"), markdown(m, gs)); err != nil {
		return err
	}
	if !fl.noPlots {
		if err := writePlots(fl.out, gs); err != nil {
			return fmt.Errorf("plots: %w", err)
		}
	}
	return nil
}

func cellsCSV(cells []cell) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	head := []string{"study", "set", "split", "method"}
	head = append(head, metricOrder...)
	head = append(head, "fit_s", "total_s", "samples", "sample_ms", "predict_s", "grad_evals", "peak_rss_mib", "heap_mib", "error", "notes")
	_ = w.Write(head)
	for _, c := range cells {
		row := []string{c.Study, c.Set, strconv.Itoa(c.Split), c.Method}
		for _, k := range metricOrder {
			if v, ok := c.Metrics[k]; ok {
				row = append(row, strconv.FormatFloat(v, 'g', 6, 64))
			} else {
				row = append(row, "")
			}
		}
		row = append(row, f3(c.FitSeconds), f3(c.TotalSeconds), strconv.Itoa(c.Samples), f3(c.SampleMillis),
			f3(c.PredictSeconds), strconv.FormatInt(c.GradEvals, 10), f3(c.PeakRSSMiB), f3(c.HeapMiB), c.Error, strings.TrimSpace(c.Notes))
		_ = w.Write(row)
	}
	w.Flush()
	return b.Bytes()
}

func f3(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }

func summaryCSV(gs []*group) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"study", "set", "method", "metric", "mean", "se", "n", "failed_splits", "source"})
	for _, g := range gs {
		for _, k := range metricOrder {
			if s, ok := g.summary(k); ok {
				_ = w.Write([]string{g.study, g.set, g.method, k, strconv.FormatFloat(s.Mean, 'g', 6, 64),
					strconv.FormatFloat(s.SE, 'g', 6, 64), strconv.Itoa(s.N), strconv.Itoa(len(g.failed)), "ours"})
			}
		}
	}
	sets := map[string]bool{}
	for _, g := range gs {
		if g.study == "uci-reg" {
			sets[g.set] = true
		}
	}
	for _, metric := range []string{"nll", "rmse"} {
		for _, set := range sortedKeys(sets) {
			for _, pm := range publishedMethods {
				if r, ok := publishedUCI[metric][set][pm]; ok {
					_ = w.Write([]string{"uci-reg", set, pm, metric, strconv.FormatFloat(r.Mean, 'g', 6, 64),
						strconv.FormatFloat(r.SE, 'g', 6, 64), "20", "0", "published"})
				}
			}
		}
	}
	w.Flush()
	return b.Bytes()
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// markdown renders the tables of every study.
func markdown(m *meta, gs []*group) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# fiberbench results (%s mode)\n\n", m.Mode)
	fmt.Fprintf(&b, "- command: `%s`\n- started %s, last written %s (%.0f s)%s\n", m.Command, m.Started, m.Finished,
		m.WallSeconds, map[bool]string{true: ", **interrupted**", false: ""}[m.Interrupted])
	for _, r := range m.Runs {
		fmt.Fprintf(&b, "- earlier invocation whose cells this run kept (-resume): `%s` (started %s, last written %s, backend %s, commit %s)\n",
			r.Command, r.Started, r.Finished, r.Backend, r.GitCommit)
	}
	fmt.Fprintf(&b, "- machine: %d CPUs, %s, %s, %s\n", m.Machine.NumCPU, m.Machine.CPUModel, m.Machine.OS, m.Machine.MemTotal)
	fmt.Fprintf(&b, "- backend: %s; %s, GoMLX %s, compute %s; commit %s\n", m.Backend, m.GoVersion, m.GoMLX, m.Compute, m.GitCommit)
	fmt.Fprintf(&b, "- %s\n\n", m.Note)
	fmt.Fprintf(&b, "Entries are mean ± standard error over splits (n=1: a single split, no error bar). ")
	fmt.Fprintf(&b, "⚠k marks k failed splits (see Failures).\n\n")
	for _, study := range []string{"uci-reg", "uci-class", "fmnist"} {
		var sg []*group
		sets := map[string]bool{}
		for _, g := range gs {
			if g.study == study {
				sg = append(sg, g)
				sets[g.set] = true
			}
		}
		if len(sg) == 0 {
			continue
		}
		setList := orderedSets(study, sets)
		sm := m.Studies[study]
		var runs []string
		for _, s := range setList {
			runs = append(runs, fmt.Sprintf("%s (%d)", s, splitsRun(sg, s)))
		}
		fmt.Fprintf(&b, "## %s\n\nSets (splits with a result): %s; splits asked per set: %d.\n\n", studyTitles[study], strings.Join(runs, ", "), sm.Splits)
		for _, metric := range metricOrder {
			if !hasMetric(sg, metric) {
				continue
			}
			fmt.Fprintf(&b, "### %s\n\n| method |", metricTitles[metric])
			for _, s := range setList {
				fmt.Fprintf(&b, " %s |", s)
			}
			b.WriteString("\n|---|")
			for range setList {
				b.WriteString("---|")
			}
			b.WriteString("\n")
			for _, meth := range methodsIn(sg) {
				fmt.Fprintf(&b, "| %s |", displayName(meth))
				for _, s := range setList {
					b.WriteString(" " + entry(find(sg, s, meth), metric, splitsRun(sg, s)) + " |")
				}
				b.WriteString("\n")
			}
			pub := study == "uci-reg" && (metric == "nll" || metric == "rmse")
			if pub {
				for _, pm := range publishedMethods {
					fmt.Fprintf(&b, "| *%s* |", pm)
					for _, s := range setList {
						if r, ok := publishedUCI[metric][s][pm]; ok {
							if math.IsNaN(r.SE) {
								fmt.Fprintf(&b, " *%.2f* |", r.Mean)
							} else {
								fmt.Fprintf(&b, " *%.2f ± %.2f* |", r.Mean, r.SE)
							}
						} else {
							b.WriteString(" — |")
						}
					}
					b.WriteString("\n")
				}
				fmt.Fprintf(&b, "\nPublished (italics): %s.\n", publishedSource)
			}
			b.WriteString("\n")
		}
		// Costs.
		fmt.Fprintf(&b, "### Costs (means over finished splits)\n\n")
		b.WriteString("fit s: the method's own fitting (compilation included); total s: with the MAP/walk it builds on; " +
			"ms/sample: time per parameter draw (walk: walk time per particle; ensemble: per member); " +
			"predict s: the whole test set (and OOD set); grad evals: minibatch/full-batch loss gradients × members/particles, MAP included; " +
			"RSS: process peak so far.\n\n")
		b.WriteString("| set | method | budget | fit s | total s | samples | ms/sample | predict s | grad evals | peak RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|\n")
		for _, s := range setList {
			for _, meth := range methodsIn(sg) {
				g := find(sg, s, meth)
				if g == nil || len(g.ok) == 0 {
					continue
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %.2f | %.2f | %.0f | %.2f | %.3f | %.0f | %.0f |\n", s, displayName(meth), budgetOf(g),
					g.meanOf(func(c cell) float64 { return c.FitSeconds }), g.meanOf(func(c cell) float64 { return c.TotalSeconds }),
					g.meanOf(func(c cell) float64 { return float64(c.Samples) }), g.meanOf(func(c cell) float64 { return c.SampleMillis }),
					g.meanOf(func(c cell) float64 { return c.PredictSeconds }), g.meanOf(func(c cell) float64 { return float64(c.GradEvals) }),
					g.meanOf(func(c cell) float64 { return c.PeakRSSMiB }))
			}
		}
		b.WriteString("\n")
		var fails []cell
		for _, g := range sg {
			fails = append(fails, g.failed...)
		}
		if len(fails) > 0 {
			b.WriteString("### Failures\n\n| set | split | method | error |\n|---|---|---|---|\n")
			for _, c := range fails {
				fmt.Fprintf(&b, "| %s | %d | %s | %s |\n", c.Set, c.Split, displayName(c.Method), mdEscape(c.Error))
			}
			b.WriteString("\n")
		}
		var skips []string
		for _, g := range sg {
			if len(g.skipped) > 0 {
				skips = append(skips, fmt.Sprintf("%s on %s (%d splits)", displayName(g.method), g.set, len(g.skipped)))
			}
		}
		if len(skips) > 0 {
			fmt.Fprintf(&b, "### Skipped (not run in this session for lack of time; shown as \"skipped\")\n\n%s.\n\n", strings.Join(skips, "; "))
		}
		fmt.Fprintf(&b, "Plots: %s\n\n", strings.Join(plotLinks(study, setList), " "))
	}
	return b.Bytes()
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func orderedSets(study string, sets map[string]bool) []string {
	var out []string
	for _, s := range allSets(study) {
		if sets[s] {
			out = append(out, s)
			delete(sets, s)
		}
	}
	return append(out, sortedKeys(sets)...)
}

func hasMetric(gs []*group, metric string) bool {
	for _, g := range gs {
		if _, ok := g.summary(metric); ok {
			return true
		}
	}
	return false
}

func methodsIn(gs []*group) []string {
	seen := map[string]bool{}
	var out []string
	for _, g := range gs {
		if !seen[g.method] {
			seen[g.method] = true
			out = append(out, g.method)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return methodRank(out[i]) < methodRank(out[j]) })
	return out
}

func find(gs []*group, set, method string) *group {
	for _, g := range gs {
		if g.set == set && g.method == method {
			return g
		}
	}
	return nil
}

func entry(g *group, metric string, splits int) string {
	if g == nil {
		return "—"
	}
	s, ok := g.summary(metric)
	out := "—"
	if ok {
		out = fmtSummary(s, decimals(metric))
		if s.N > 1 && s.N != splits { // fewer splits than the set's other methods: say so
			out += fmt.Sprintf(" (n=%d)", s.N)
		}
	}
	if !ok && len(g.skipped) > 0 && len(g.failed) == 0 {
		return "skipped"
	}
	if len(g.failed) > 0 {
		out += fmt.Sprintf(" ⚠%d", len(g.failed))
	}
	return out
}

// splitsRun counts the distinct splits of a set with at least one finished cell.
func splitsRun(gs []*group, set string) int {
	seen := map[int]bool{}
	for _, g := range gs {
		if g.set == set {
			for _, c := range g.ok {
				seen[c.Split] = true
			}
		}
	}
	return len(seen)
}

// budgetOf returns the budget of a group's finished cells ("mixed: a; b" when resumed runs used several).
func budgetOf(g *group) string {
	var seen []string
	for _, c := range g.ok {
		if c.Budget != "" && !slices.Contains(seen, c.Budget) {
			seen = append(seen, c.Budget)
		}
	}
	if len(seen) > 1 {
		return "mixed: " + strings.Join(seen, "; ")
	}
	return strings.Join(seen, "")
}
