package main

import (
	"bytes"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// plotAxis draws seconds per operation against P or N (log-log), one line per series.
func plotAxis(path, axis string, pts []point) error {
	p := plot.New()
	if axis == "P" {
		p.Title.Text = "Cost as the number of parameters P grows (XLA CPU)"
		p.X.Label.Text = "parameters P"
	} else {
		p.Title.Text = "Cost of a walk step as the number of particles N grows (XLA CPU)"
		p.X.Label.Text = "particles N"
	}
	p.Y.Label.Text = "seconds per operation"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(6), -vg.Points(4)
	var order []string
	by := map[string]plotter.XYs{}
	for _, q := range pts {
		if q.Axis != axis {
			continue
		}
		if _, ok := by[q.Series]; !ok {
			order = append(order, q.Series)
		}
		by[q.Series] = append(by[q.Series], plotter.XY{X: q.X, Y: q.Sec})
	}
	if len(order) == 0 {
		return fmt.Errorf("no %s-scaling points", axis)
	}
	for i, s := range order {
		l, sc, err := plotter.NewLinePoints(by[s])
		if err != nil {
			return err
		}
		c := plotutil.Color(i)
		l.Color, sc.Color = c, c
		l.Width = vg.Points(1.5)
		sc.Shape = plotutil.Shape(i)
		p.Add(l, sc)
		p.Legend.Add(s, l, sc)
	}
	p.Add(plotter.NewGrid())
	// Room for the legend above the curves and for the last tick label.
	p.Y.Max *= 40
	p.X.Min /= 1.5
	p.X.Max *= 2
	p.BackgroundColor = color.White
	w, err := p.WriterTo(7*vg.Inch, 4.5*vg.Inch, "svg")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return err
	}
	return writeAtomic(path, buf.Bytes())
}
