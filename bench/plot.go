package main

import (
	"fmt"
	"image/color"
	"os"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"netprog/clients"
)

// writePlot draws requests/s against connections, one line per model, one
// panel per echo message size, as an SVG.
func writePlot(path string, r *results) error {
	var sizes []int
	seen := map[int]bool{}
	for _, l := range r.Loads {
		if l.Workload == clients.WorkloadEcho && !seen[l.Size] {
			seen[l.Size] = true
			sizes = append(sizes, l.Size)
		}
	}
	if len(sizes) == 0 {
		return nil
	}
	panels := make([]*plot.Plot, len(sizes))
	for i, size := range sizes {
		p, err := sizePlot(r, size)
		if err != nil {
			return err
		}
		panels[i] = p
	}
	const panelW, panelH = 6 * vg.Inch, 4.5 * vg.Inch
	img := vgsvg.New(panelW*vg.Length(len(panels)), panelH)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2,
		PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{panels}, tiles, dc)
	for i, p := range panels {
		p.Draw(canvases[0][i])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := img.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// palette: distinguishable colours, one per model, in a stable order.
var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xd6, 0x27, 0x28, 0xff},
	{0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff},
	{0xbc, 0xbd, 0x22, 0xff}, {0x17, 0xbe, 0xcf, 0xff}, {0x00, 0x00, 0x00, 0xff}, {0x00, 0x5a, 0x32, 0xff},
	{0xff, 0xbb, 0x00, 0xff}, {0x5a, 0x00, 0x8c, 0xff},
}

// glyphs tell apart models whose colours are close.
var glyphs = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.SquareGlyph{}, draw.CrossGlyph{}}

func sizePlot(r *results, size int) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("echo, %s messages (median of %d x %ss; %d cores)", sizeName(size), r.Repeats,
		strconv.FormatFloat(r.WindowSeconds, 'g', 3, 64), r.Machine.Cores)
	if r.Partial != nil {
		p.Title.Text = fmt.Sprintf("PARTIAL (%d of %d runs): %s", r.Partial.RunsDone, r.Partial.RunsTotal, p.Title.Text)
	}
	p.X.Label.Text = "persistent connections"
	p.Y.Label.Text = "requests per second"
	p.X.Scale = plot.LogScale{}
	var ticks []plot.Tick
	for _, l := range r.Loads {
		if l.Workload == clients.WorkloadEcho && l.Size == size {
			ticks = append(ticks, plot.Tick{Value: float64(l.Conns), Label: strconv.Itoa(l.Conns)})
		}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	if len(ticks) > 0 {
		// Room on the right, past the last count, for the legend.
		p.X.Min = ticks[0].Value * 0.8
		p.X.Max = ticks[len(ticks)-1].Value * 8
	}
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.Left = false
	for i, model := range r.Models {
		var pts plotter.XYs
		for _, l := range r.Loads {
			if l.Workload != clients.WorkloadEcho || l.Size != size {
				continue
			}
			if c := r.cell(model, l); c != nil && c.Median != nil && c.Median.RequestsPerSec > 0 {
				pts = append(pts, plotter.XY{X: float64(l.Conns), Y: c.Median.RequestsPerSec})
			}
		}
		if len(pts) == 0 {
			continue
		}
		col := palette[i%len(palette)]
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		line.Color = col
		line.Width = vg.Points(1.5)
		label := model
		switch {
		case model == baselineName:
			line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		case isCRef(model):
			// A reference line: black, thin, dotted, no markers in
			// the models' colours.
			col = color.RGBA{0, 0, 0, 0xff}
			line.Color = col
			line.Width = vg.Points(1)
			line.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
			if model == crefFork {
				line.Dashes = []vg.Length{vg.Points(6), vg.Points(2), vg.Points(1), vg.Points(2)}
			}
			label = model + " (C reference)"
		}
		points.Color = col
		points.Shape = glyphs[i%len(glyphs)]
		points.Radius = vg.Points(2.5)
		p.Add(line, points)
		p.Legend.Add(label, line, points)
	}
	if ymax := p.Y.Max; ymax > 0 {
		p.Y.Max = ymax * 1.05
	}
	return p, nil
}
