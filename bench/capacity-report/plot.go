package main

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// plotLatency draws the p99 (solid, with points) and p50 (dashed) latency against N for each
// model on a logarithmic time axis, with the bound as a red line, into a PNG at path.
func plotLatency(r *run, path string) error {
	names, by := r.models()
	p := plot.New()
	p.Title.Text = "End of utterance → result latency against concurrent real-time calls"
	p.X.Label.Text = "concurrent calls (N)"
	p.Y.Label.Text = "latency (s, log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())

	lo, hi, maxN := r.bound/1000, r.bound/1000, 1.0
	entries := 1 // the legend's lines: the bound's, then two per model
	for i, m := range names {
		var p99, p50 plotter.XYs
		for _, s := range by[m] {
			if s.p99 <= 0 || s.p50 <= 0 {
				continue // no result at all: nothing to draw on a log axis
			}
			p99 = append(p99, plotter.XY{X: float64(s.n), Y: s.p99 / 1000})
			p50 = append(p50, plotter.XY{X: float64(s.n), Y: s.p50 / 1000})
			lo, hi = math.Min(lo, s.p50/1000), math.Max(hi, s.p99/1000)
			maxN = math.Max(maxN, float64(s.n))
		}
		if len(p99) == 0 {
			continue
		}
		c := plotutil.Color(i)
		l, pts, err := plotter.NewLinePoints(p99)
		if err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
		l.Color, l.Width = c, vg.Points(1.5)
		pts.Color, pts.Shape = c, plotutil.Shape(i)
		l50, err := plotter.NewLine(p50)
		if err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
		l50.Color, l50.Dashes = c, []vg.Length{vg.Points(4), vg.Points(3)}
		pts50, err := plotter.NewScatter(p50)
		if err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
		pts50.Color, pts50.Shape, pts50.Radius = c, plotutil.Shape(i), vg.Points(1.5)
		p.Add(l, pts, l50, pts50)
		p.Legend.Add(m+" p99", l, pts)
		p.Legend.Add(m+" p50", l50, pts50)
		entries += 2
	}
	bound := plotter.NewFunction(func(float64) float64 { return r.bound / 1000 })
	bound.XMin, bound.XMax = 1, maxN
	bound.Color, bound.Width = color.RGBA{R: 200, A: 255}, vg.Points(1)
	bound.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
	p.Add(bound)
	p.Legend.Add(fmt.Sprintf("bound (p99 %g s)", r.bound/1000), bound)
	p.X.Min, p.X.Max = 0.5, maxN+0.5
	// The legend sits in the top left corner, above the data: the axis goes up far enough that
	// the data keep below the share of the height the legend takes.
	share := math.Min(0.6, 0.05+0.055*float64(entries))
	p.Y.Min = lo / 1.5
	p.Y.Max = math.Exp(math.Log(p.Y.Min) + math.Log(hi*1.3/p.Y.Min)/(1-share))
	var ticks []plot.Tick
	for n := 1; n <= int(maxN); n++ {
		if maxN <= 16 || n%2 == 0 || n == 1 {
			ticks = append(ticks, plot.Tick{Value: float64(n), Label: fmt.Sprint(n)})
		}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}
