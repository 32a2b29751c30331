// Command fiberbench runs the project's benchmarks: every method (MAP, Laplace, deep ensembles, SWAG, the fiber
// walk and the walk + flow) on UCI regression (the 20 standard splits), UCI classification (seeded splits) and
// Fashion-MNIST (OOD against MNIST), and writes Markdown and CSV tables with mean ± standard error over splits,
// cost columns, published numbers beside ours, and SVG plots of test NLL against fitting cost.
//
//	go run ./cmd/fiberbench -mode quick                 # minutes: one small set, one split, short schedules
//	go run ./cmd/fiberbench -mode full -study uci-reg   # the protocol (hours on 2 cores)
//
// Results go to -out (default bench/results/<date>-<mode>): cells.json (every method × split, written after
// each split, so an interrupted run keeps what it computed; -resume skips finished cells), results.md,
// summary.csv, cells.csv, meta.json and plots/*.svg. A method that fails on a split is reported in the tables
// with its error, and the run goes on.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/fiberbnn/fiberbnn/fiberlib/backend"
	"github.com/fiberbnn/fiberbnn/fiberlib/data"
)

var logw io.Writer = os.Stderr

type flags struct {
	mode, study, methods, sets, out, dataDir, act string
	splits, fmnistTrain, fmnistTest               int
	seed                                          uint64
	resume, noPlots, strict                       bool
	// Budget overrides (0: the mode's default); skip lists set:method cells not run in this invocation.
	walkSteps, particles, walkBatch, flowSteps, members, mapSteps, swagEpochs, samples int
	swagLRFraction                                                                     float64
	skip, redo                                                                         string
}

func main() {
	var fl flags
	flag.StringVar(&fl.mode, "mode", "quick", "quick (minutes; what make test runs) or full (the protocol)")
	flag.StringVar(&fl.study, "study", "", "uci-reg, uci-class, fmnist or all (default: uci-reg in quick mode, all in full mode)")
	flag.StringVar(&fl.methods, "methods", "", "comma-separated method IDs (default all): "+strings.Join(allMethods, ","))
	flag.StringVar(&fl.sets, "sets", "", "comma-separated data sets (default: quick bostonHousing / australian / fmnist-mlp; full: all)")
	flag.IntVar(&fl.splits, "splits", 0, "number of splits per set (default: quick 1; full 20 for regression, 5 for classification, 1 for fmnist)")
	flag.StringVar(&fl.out, "out", "", "output folder (default bench/results/<date>-<mode>)")
	flag.StringVar(&fl.dataDir, "data", "", "reference data folder (default data.Dir(): $FIBERBNN_DATA or ../shared/data)")
	flag.Uint64Var(&fl.seed, "seed", 1, "base seed (split k of a set uses seed·1000+k)")
	flag.BoolVar(&fl.resume, "resume", false, "keep the cells of -out/cells.json that finished without error and skip them")
	flag.IntVar(&fl.fmnistTrain, "fmnist-train", 0, "Fashion-MNIST training rows used (default: quick 1000, full 10000; 60000 = all)")
	flag.IntVar(&fl.fmnistTest, "fmnist-test", 0, "Fashion-MNIST and MNIST test rows used (default: quick 1000, full 10000)")
	flag.StringVar(&fl.act, "act", "tanh", "hidden activation of the UCI MLPs (tanh or relu)")
	flag.BoolVar(&fl.noPlots, "no-plots", false, "skip the SVG plots")
	flag.BoolVar(&fl.strict, "strict", false, "exit with status 1 when any cell failed (make test uses it)")
	flag.IntVar(&fl.walkSteps, "walk-steps", 0, "fiber walk steps T (default: quick 400, full 4000; a multiple of 40)")
	flag.IntVar(&fl.particles, "particles", 0, "fiber walk particles (default: quick 32, full 64)")
	flag.IntVar(&fl.walkBatch, "walk-batch", 0, "fiber walk minibatch size (default 0: full batch)")
	flag.IntVar(&fl.flowSteps, "flow-steps", 0, "largest number of flow training steps (default: quick 200, full 3000)")
	flag.IntVar(&fl.members, "members", 0, "deep-ensemble members (default 5)")
	flag.IntVar(&fl.mapSteps, "map-steps", 0, "target number of MAP optimiser steps (default: quick 600, full 4000)")
	flag.IntVar(&fl.swagEpochs, "swag-epochs", 0, "SWAG epochs (default: quick 5, full 20)")
	flag.Float64Var(&fl.swagLRFraction, "swag-lr-fraction", 0, "SWAG's learning rate as a fraction of the stability limit, in (0, 1) (default: swag.DefaultLRFraction)")
	flag.IntVar(&fl.samples, "samples", 0, "parameter draws of the sampling predictives (default: quick 32, full 64)")
	flag.StringVar(&fl.skip, "skip", "", "comma-separated set:method cells not to run (recorded as skipped in the tables; rerun without -skip and with -resume to fill them in)")
	flag.StringVar(&fl.redo, "redo", "", "comma-separated method IDs whose finished cells -resume runs again, replacing them (after a change to a method)")
	flag.Parse()
	if err := run(fl); err != nil {
		fmt.Fprintln(os.Stderr, "fiberbench:", err)
		os.Exit(1)
	}
}

func run(fl flags) error {
	start := time.Now()
	if fl.mode != "quick" && fl.mode != "full" {
		return fmt.Errorf("-mode %q: use quick or full", fl.mode)
	}
	quick := fl.mode == "quick"
	studies, err := parseStudies(fl.study, quick)
	if err != nil {
		return err
	}
	methods := allMethods
	if fl.methods != "" {
		methods = strings.Split(fl.methods, ",")
		for _, m := range methods {
			if methodRank(m) == len(allMethods) {
				return fmt.Errorf("-methods: unknown method %q (known: %s)", m, strings.Join(allMethods, ","))
			}
		}
	}
	if fl.act != "tanh" && fl.act != "relu" {
		return fmt.Errorf("-act %q: use tanh or relu", fl.act)
	}
	if fl.splits < 0 || fl.fmnistTrain < 0 || fl.fmnistTest < 0 {
		return fmt.Errorf("-splits, -fmnist-train and -fmnist-test must be >= 0")
	}
	if fl.walkSteps < 0 || fl.particles < 0 || fl.walkBatch < 0 || fl.flowSteps < 0 || fl.members < 0 || fl.mapSteps < 0 || fl.swagEpochs < 0 || fl.samples < 0 || fl.swagLRFraction < 0 || fl.swagLRFraction >= 1 {
		return fmt.Errorf("-walk-steps, -particles, -walk-batch, -flow-steps, -members, -map-steps, -swag-epochs and -samples must be >= 0, -swag-lr-fraction in [0, 1)")
	}
	if fl.walkSteps%40 != 0 {
		return fmt.Errorf("-walk-steps %d: use a multiple of 40 (the walk records every T/40 steps and keeps every T/8)", fl.walkSteps)
	}
	redo := map[string]bool{}
	for _, m := range strings.Split(fl.redo, ",") {
		if m = strings.TrimSpace(m); m == "" {
			continue
		}
		if !slices.Contains(allMethods, m) {
			return fmt.Errorf("-redo %s: unknown method (known: %s)", m, strings.Join(allMethods, ","))
		}
		redo[m] = true
	}
	skips, err := parseSkip(fl.skip, methods)
	if err != nil {
		return err
	}
	if fl.dataDir == "" {
		if fl.dataDir, err = data.Dir(); err != nil {
			return fmt.Errorf("no data folder (give -data or set FIBERBNN_DATA): %w", err)
		}
	}
	if fl.out == "" {
		fl.out = filepath.Join("bench", "results", time.Now().Format("2006-01-02")+"-"+fl.mode)
	}
	if err := os.MkdirAll(fl.out, 0o755); err != nil {
		return err
	}
	if _, err := backend.New(); err != nil {
		return fmt.Errorf("backend: %w", err)
	}
	st, err := openStore(fl.out, fl.resume)
	if err != nil {
		return err
	}
	meta := newMeta(fl, quick, studies, methods)
	if fl.resume {
		meta.mergePrevious(fl.out)
	}
	// Ctrl-C: the cells of finished splits are already on disk; write the tables and stop.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		fmt.Fprintln(logw, "fiberbench: interrupted; tables hold the finished splits (rerun with -resume)")
		meta.Interrupted = true
		_ = writeAll(fl, st, meta, start)
		os.Exit(130)
	}()
	for _, study := range studies {
		cfg := settingsFor(study, quick).override(fl)
		sets, splits := setsFor(study, fl, quick)
		meta.addStudy(study, sets, splits, cfg)
		for _, set := range sets {
			for k := 0; k < splits; k++ {
				todo := []string{}
				for _, m := range methods {
					if !runsOn(study, m) || st.done(study, set, k, m) && !redo[m] {
						continue
					}
					if skips[set+":"+m] || skips["*:"+m] {
						if !st.has(study, set, k, m) {
							st.put(cell{Study: study, Set: set, Split: k, Method: m, GradEvals: -1, Budget: cfg.budget(m),
								Skipped: "not run in this session for lack of time (-skip); rerun without -skip and with -resume"})
						}
						continue
					}
					todo = append(todo, m)
				}
				if len(todo) == 0 {
					continue
				}
				fmt.Fprintf(logw, "== %s %s split %d: %s\n", study, set, k, strings.Join(todo, " "))
				p, err := loadProblem(study, set, k, fl)
				for _, m := range todo {
					var c cell
					if err != nil {
						c = cell{Study: study, Set: set, Split: k, Method: m, GradEvals: -1, Error: "load: " + err.Error()}
					} else {
						f := shared(p, cfg)
						c = f.run(m)
					}
					c.Budget = cfg.budget(m)
					st.put(c)
					logCell(c)
				}
				if err := writeAll(fl, st, meta, start); err != nil {
					return err
				}
			}
		}
		dropShared()
	}
	if err := writeAll(fl, st, meta, start); err != nil {
		return err
	}
	fmt.Fprintf(logw, "fiberbench: wrote %s (%s)\n", fl.out, time.Since(start).Round(time.Second))
	if fl.strict {
		var failed []string
		for _, c := range st.cells {
			if c.Error != "" {
				failed = append(failed, fmt.Sprintf("%s/%s/%d/%s: %s", c.Study, c.Set, c.Split, c.Method, c.Error))
			}
		}
		if len(failed) > 0 {
			return fmt.Errorf("-strict: %d cells failed:\n  %s", len(failed), strings.Join(failed, "\n  "))
		}
	}
	return nil
}

// cur holds the fits of the split being run, so that methods share the MAP and the walk.
var cur *fits

func shared(p *problem, cfg settings) *fits {
	if cur == nil || cur.p != p {
		cur = &fits{p: p, cfg: cfg}
	}
	return cur
}

func dropShared() { cur = nil }

// runsOn tells which methods a study runs. Fashion-MNIST leaves out the all-weights diagonal Laplace (its
// per-example Jacobians over every weight are the costly part on 2 cores); the last-layer K-FAC Laplace runs
// on Fashion-MNIST only, where the full last-layer GGN is too large (the CNN's 7850² entries), while the UCI
// networks' last layers (a few hundred weights) take the full GGN.
func runsOn(study, m string) bool {
	switch m {
	case "la-diag-glm", "la-diag-nn":
		return study != "fmnist"
	case "la-kron-glm", "la-kron-nn":
		return study == "fmnist"
	}
	return true
}

func logCell(c cell) {
	if c.Error != "" {
		fmt.Fprintf(logw, "   %-12s ERROR %s\n", c.Method, c.Error)
		return
	}
	var parts []string
	for _, k := range metricOrder {
		if v, ok := c.Metrics[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%.4g", k, v))
		}
	}
	fmt.Fprintf(logw, "   %-12s %s fit=%.1fs predict=%.2fs %s\n", c.Method, strings.Join(parts, " "), c.FitSeconds,
		c.PredictSeconds, c.Notes)
}

// parseSkip reads -skip: comma-separated set:method pairs (set may be *).
func parseSkip(s string, methods []string) (map[string]bool, error) {
	out := map[string]bool{}
	if s == "" {
		return out, nil
	}
	for _, x := range strings.Split(s, ",") {
		set, m, ok := strings.Cut(strings.TrimSpace(x), ":")
		if !ok || set == "" || methodRank(m) == len(allMethods) {
			return nil, fmt.Errorf("-skip %q: use set:method pairs (set may be *), methods among %s", x, strings.Join(allMethods, ","))
		}
		out[set+":"+m] = true
	}
	return out, nil
}

func parseStudies(s string, quick bool) ([]string, error) {
	if s == "" {
		if quick {
			return []string{"uci-reg"}, nil
		}
		s = "all"
	}
	if s == "all" {
		return []string{"uci-reg", "uci-class", "fmnist"}, nil
	}
	var out []string
	for _, x := range strings.Split(s, ",") {
		switch x {
		case "uci-reg", "uci-class", "fmnist":
			out = append(out, x)
		default:
			return nil, fmt.Errorf("-study %q: use uci-reg, uci-class, fmnist or all", x)
		}
	}
	return out, nil
}
