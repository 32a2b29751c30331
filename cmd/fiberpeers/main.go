// Command fiberpeers turns the output of the scaling benchmarks (scripts/bench-peers.sh scaling) into a
// CSV table and SVG plots: the cost of each method as the number of parameters P grows (walk step, Laplace
// fit, flow sampling) and as the number of particles N grows (walk step).
//
//	go run ./cmd/fiberpeers -dir bench/results/<date>-peers-scaling
//
// It reads raw/*.txt (go test -bench output) in that folder and writes scaling.csv, scaling_P.svg and
// scaling_N.svg there (each atomically).
package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// point is one benchmark result.
type point struct {
	Series string  // e.g. "walk step (N=16)", "laplace fit all/kron"
	Axis   string  // "P" or "N"
	X      float64 // P or N
	Params float64
	Sec    float64 // seconds per operation
	RSSMiB float64 // process peak RSS after the case
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// parse reads go test -bench lines into name → metrics.
func parse(path string) (map[string]map[string]float64, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	out := map[string]map[string]float64{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		fields := strings.Fields(m[2])
		metrics := map[string]float64{}
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err == nil {
				metrics[fields[i+1]] = v
			}
		}
		if _, ok := out[m[1]]; !ok {
			order = append(order, m[1])
		}
		out[m[1]] = metrics // the last run of a name wins
	}
	return out, order, sc.Err()
}

// collect turns the three benchmark outputs into points.
func collect(dir string) ([]point, error) {
	var pts []point
	files, err := filepath.Glob(filepath.Join(dir, "raw", "*.txt"))
	if err != nil {
		return nil, err
	}
	for _, file := range files {
		res, order, err := parse(file)
		if err != nil {
			return nil, err
		}
		for _, name := range order {
			m := res[name]
			parts := strings.Split(name, "/")
			p := point{Params: m["params"], RSSMiB: m["peak-RSS-MiB"]}
			switch {
			case strings.HasPrefix(name, "BenchmarkScalingWalk/P/"):
				p.Series, p.Axis, p.X, p.Sec = "walk step, N=16", "P", m["params"], m["s/step"]
			case strings.HasPrefix(name, "BenchmarkScalingWalk/N/"):
				n, _ := strconv.Atoi(strings.TrimPrefix(parts[len(parts)-1], "N"))
				p.Series, p.Axis, p.X, p.Sec = fmt.Sprintf("walk step, P=%.0f", m["params"]), "N", float64(n), m["s/step"]
			case strings.HasPrefix(name, "BenchmarkScalingLaplace/"):
				p.Series, p.Axis, p.X, p.Sec = "laplace fit "+parts[1]+"/"+parts[2], "P", m["params"], m["s/op"]
			case strings.HasPrefix(name, "BenchmarkScalingFlowSample/"):
				p.Series, p.Axis, p.X, p.Sec = "flow: 100 samples", "P", m["params"], m["s/op"]
			default:
				continue
			}
			if p.Sec > 0 && p.X > 0 {
				pts = append(pts, p)
			}
		}
	}
	sort.SliceStable(pts, func(i, j int) bool {
		if pts[i].Series != pts[j].Series {
			return pts[i].Series < pts[j].Series
		}
		return pts[i].X < pts[j].X
	})
	return pts, nil
}

// writeAtomic writes data to path through a temporary file and a rename.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func writeCSV(path string, pts []point) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"series", "axis", "x", "params", "seconds", "peak_rss_mib"})
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, p := range pts {
		_ = w.Write([]string{p.Series, p.Axis, g(p.X), g(p.Params), g(p.Sec), g(p.RSSMiB)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return writeAtomic(path, b.Bytes())
}

func main() {
	dir := flag.String("dir", "", "results folder with raw/*.txt from the scaling benchmarks")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "fiberpeers: -dir is required (e.g. bench/results/<date>-peers-scaling)")
		os.Exit(2)
	}
	pts, err := collect(*dir)
	if err == nil && len(pts) == 0 {
		err = fmt.Errorf("no scaling benchmark results in %s/raw/*.txt: run scripts/bench-peers.sh scaling", *dir)
	}
	if err == nil {
		err = writeCSV(filepath.Join(*dir, "scaling.csv"), pts)
	}
	for _, axis := range []string{"P", "N"} {
		if err == nil {
			err = plotAxis(filepath.Join(*dir, "scaling_"+axis+".svg"), axis, pts)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fiberpeers:", err)
		os.Exit(1)
	}
	fmt.Printf("fiberpeers: %d points -> %s/{scaling.csv,scaling_P.svg,scaling_N.svg}\n", len(pts), *dir)
}
