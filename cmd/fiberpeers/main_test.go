package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCollectAndPlot feeds collect a small go test -bench output and checks the points, the CSV and that both
// SVG plots are written.
func TestCollectAndPlot(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "raw"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := `goos: linux
BenchmarkScalingWalk/P/H27/N16-2   1   3.8 GFLOP/s   1027 params   2568 particle-steps/s   219.0 peak-RSS-MiB   0.006231 s/step   0.188 state-MiB
BenchmarkScalingWalk/P/H95/N16-2   1   9.4 GFLOP/s   10071 params   624 particle-steps/s   251.8 peak-RSS-MiB   0.02563 s/step   1.8 state-MiB
BenchmarkScalingWalk/N/H95/N4-2    1   4.7 GFLOP/s   10071 params   311 particle-steps/s   253.3 peak-RSS-MiB   0.01284 s/step   0.46 state-MiB
BenchmarkScalingLaplace/all/kron/H27-2   1   1027 params   204.2 peak-RSS-MiB   0.006402 s/op
BenchmarkOther-2   1   5 s/op
`
	if err := os.WriteFile(filepath.Join(dir, "raw", "x.txt"), []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	pts, err := collect(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 4 {
		t.Fatalf("%d points, want 4: %+v", len(pts), pts)
	}
	byKey := map[string]point{}
	for _, p := range pts {
		byKey[p.Series+"@"+p.Axis] = p
	}
	if p := byKey["walk step, P=10071@N"]; p.X != 4 || p.Sec != 0.01284 {
		t.Errorf("N point %+v", p)
	}
	if p := byKey["laplace fit all/kron@P"]; p.X != 1027 || p.Sec != 0.006402 || p.RSSMiB != 204.2 {
		t.Errorf("laplace point %+v", p)
	}
	if err := writeCSV(filepath.Join(dir, "s.csv"), pts); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "s.csv"))
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(recs) != 5 || recs[1][0] != "laplace fit all/kron" || recs[2][0] != "walk step, N=16" || recs[4][0] != "walk step, P=10071" {
		t.Errorf("CSV (%v):\n%s", err, b)
	}
	for _, axis := range []string{"P", "N"} {
		path := filepath.Join(dir, axis+".svg")
		if err := plotAxis(path, axis, pts); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); !strings.Contains(string(b), "<svg") {
			t.Errorf("%s is not an SVG", path)
		}
	}
	if _, err := collect(t.TempDir()); err != nil {
		t.Errorf("empty folder: %v", err)
	}
}
