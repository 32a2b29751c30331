package main

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

func plotName(study, set string) string {
	return fmt.Sprintf("plots/%s_%s_nll_vs_cost.svg", study, set)
}

func plotLinks(study string, sets []string) []string {
	var out []string
	for _, s := range sets {
		out = append(out, fmt.Sprintf("[%s](%s)", s, plotName(study, s)))
	}
	return out
}

// writePlots draws, per (study, set), every method's mean test NLL (± SE) against its mean total fitting time.
func writePlots(dir string, gs []*group) error {
	type key struct{ study, set string }
	by := map[key][]*group{}
	var order []key
	for _, g := range gs {
		k := key{g.study, g.set}
		if _, ok := by[k]; !ok {
			order = append(order, k)
		}
		by[k] = append(by[k], g)
	}
	for _, k := range order {
		var pts plotter.XYs
		var errs plotter.YErrors
		var labels []string
		for _, g := range by[k] {
			s, ok := g.summary("nll")
			t := g.meanOf(func(c cell) float64 { return c.TotalSeconds })
			if !ok || !(t > 0) {
				continue
			}
			se := s.SE
			if math.IsNaN(se) {
				se = 0
			}
			pts = append(pts, plotter.XY{X: t, Y: s.Mean})
			errs = append(errs, struct{ Low, High float64 }{se, se})
			labels = append(labels, displayName(g.method))
		}
		if len(pts) == 0 {
			continue
		}
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s %s: test NLL vs fit cost", k.study, k.set)
		p.X.Label.Text = "total fit time, s (log scale; includes compilation)"
		p.Y.Label.Text = "test NLL per point"
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		sc.GlyphStyle.Color = color.RGBA{B: 180, A: 255}
		sc.GlyphStyle.Radius = vg.Points(3)
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYer
			plotter.YErrorer
		}{pts, errs})
		if err != nil {
			return err
		}
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: pts, Labels: labels})
		if err != nil {
			return err
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Font.Size = vg.Points(7)
		}
		p.Add(plotter.NewGrid(), sc, eb, lb)
		// Leave room for the labels on the right.
		p.X.Max *= 3
		w, err := p.WriterTo(7*vg.Inch, 4.5*vg.Inch, "svg")
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			return err
		}
		if err := writeAtomic(filepath.Join(dir, plotName(k.study, k.set)), buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}
