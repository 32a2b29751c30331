package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
)

var nan = math.NaN()

// cell is the outcome of one method on one split of one data set.
type cell struct {
	Study  string `json:"study"`
	Set    string `json:"set"`
	Split  int    `json:"split"`
	Method string `json:"method"`
	// Metrics holds the test metrics (names as in metricOrder), in original units for regression.
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// FitSeconds is the method's own fitting time; TotalSeconds adds what it builds on (the MAP, the walk).
	FitSeconds   float64 `json:"fit_s"`
	TotalSeconds float64 `json:"total_s"`
	// Samples is the number of parameter vectors (or members) averaged; SampleMillis the time to draw one,
	// in ms (0 where the samples come out of the fit itself).
	Samples      int     `json:"samples"`
	SampleMillis float64 `json:"sample_ms"`
	// PredictSeconds is the time to predict the whole test set (BMA included).
	PredictSeconds float64 `json:"predict_s"`
	// GradEvals counts gradient evaluations of the network's loss (minibatch or full batch, per member or
	// particle), of the method and what it builds on; -1 where not counted.
	GradEvals int64 `json:"grad_evals"`
	// PeakRSSMiB is the process's peak resident set size after the cell (getrusage; monotone over the run),
	// HeapMiB the Go heap in use after the cell.
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	HeapMiB    float64 `json:"heap_mib"`
	// Error is set when the method failed on this split.
	Error string `json:"error,omitempty"`
	// Notes carries method diagnostics (σ, α, stopped particles, flow rank...).
	Notes string `json:"notes,omitempty"`
	// Budget states the schedule the method ran with (walk particles × steps, flow steps, members...).
	Budget string `json:"budget,omitempty"`
	// Skipped, when set, says why the cell was deliberately not run (no metrics, not an error).
	Skipped string `json:"skipped,omitempty"`
	// OOD holds histograms of the per-example scores in and out of distribution (Fashion-MNIST study).
	OOD *oodHist `json:"ood_hist,omitempty"`
}

func (c *cell) key() string { return fmt.Sprintf("%s|%s|%d|%s", c.Study, c.Set, c.Split, c.Method) }

// store holds every cell of a run and persists them in out/cells.json.
type store struct {
	path  string
	cells []cell
	index map[string]int
}

func openStore(dir string, resume bool) (*store, error) {
	s := &store{path: filepath.Join(dir, "cells.json"), index: map[string]int{}}
	if !resume {
		return s, nil
	}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	var cells []cell
	if err := json.Unmarshal(b, &cells); err != nil {
		return nil, fmt.Errorf("resume: %s is not a cells file (%v); remove it or run without -resume", s.path, err)
	}
	for _, c := range cells {
		s.put(c)
	}
	return s, nil
}

// done tells whether a cell finished without error (a skipped cell is not done).
func (s *store) done(study, set string, split int, method string) bool {
	i, ok := s.index[fmt.Sprintf("%s|%s|%d|%s", study, set, split, method)]
	return ok && s.cells[i].Error == "" && s.cells[i].Skipped == ""
}

// has tells whether the store holds a cell (finished, failed or skipped).
func (s *store) has(study, set string, split int, method string) bool {
	_, ok := s.index[fmt.Sprintf("%s|%s|%d|%s", study, set, split, method)]
	return ok
}

func (s *store) put(c cell) {
	if i, ok := s.index[c.key()]; ok {
		s.cells[i] = c
		return
	}
	s.index[c.key()] = len(s.cells)
	s.cells = append(s.cells, c)
}

// sorted returns the cells ordered by study, set, method and split.
func (s *store) sorted() []cell {
	out := append([]cell(nil), s.cells...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Study != b.Study {
			return a.Study < b.Study
		}
		if a.Set != b.Set {
			return a.Set < b.Set
		}
		if a.Method != b.Method {
			return methodRank(a.Method) < methodRank(b.Method)
		}
		return a.Split < b.Split
	})
	return out
}

func (s *store) save() error {
	b, err := json.MarshalIndent(sanitize(s.sorted()), "", " ")
	if err != nil {
		return err
	}
	return writeAtomic(s.path, b)
}

// sanitize replaces non-finite metrics (JSON cannot hold them) by dropping them and noting it.
func sanitize(cells []cell) []cell {
	for i := range cells {
		m := map[string]float64{}
		for k, v := range cells[i].Metrics {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				cells[i].Notes += fmt.Sprintf(" %s=%v", k, v)
				continue
			}
			m[k] = v
		}
		cells[i].Metrics = m
		for _, p := range []*float64{&cells[i].FitSeconds, &cells[i].TotalSeconds, &cells[i].SampleMillis, &cells[i].PredictSeconds} {
			if math.IsNaN(*p) || math.IsInf(*p, 0) {
				*p = 0
			}
		}
	}
	return cells
}

// writeAtomic writes b to path through a temporary file in the same folder and a rename.
func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
