// Package chart draws small charts as inline SVG for server-rendered
// pages: no script, no external library, no inline style (so a strict
// Content-Security-Policy holds), and readable by a screen reader.
package chart

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// Point is one bar of a chart.
type Point struct {
	// Label names the bar on the axis and to a screen reader ("14:00").
	Label string
	Value int
}

// Geometry of the drawing, in SVG user units; the SVG scales to its box.
const (
	width      = 600
	height     = 160
	axisHeight = 20 // room for labels under the bars
	gap        = 2  // between bars
	maxLabels  = 8  // axis labels drawn at most; every bar has its own title
)

// Bars draws points as a bar chart, as an <svg> element to put in a page
// as it is. id must be unique in the page (it names the title and the
// description the chart is labelled by); title says what is counted. The
// description tells the total and the highest bar, and every bar carries
// its label and value as its own title, so the chart reads without being
// seen. Bars are drawn in currentColor with classes (chart-bar,
// chart-axis, chart-label) for the page's stylesheet to restyle.
func Bars(id, title string, points []Point) template.HTML {
	esc := template.HTMLEscapeString
	total, peak, peakAt := 0, 0, -1
	for i, p := range points {
		total += p.Value
		if p.Value > peak {
			peak, peakAt = p.Value, i
		}
	}
	noun := "bars"
	if len(points) == 1 {
		noun = "bar"
	}
	desc := fmt.Sprintf("%d in all over %d %s", total, len(points), noun)
	if peakAt >= 0 {
		desc += fmt.Sprintf("; highest %d at %s", peak, points[peakAt].Label)
	}
	if len(points) == 0 {
		desc = "No data."
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 %d %d" aria-labelledby="%s-title %s-desc">`,
		width, height, esc(id), esc(id))
	fmt.Fprintf(&b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, esc(id), esc(title), esc(id), esc(desc))
	plot := height - axisHeight
	fmt.Fprintf(&b, `<line class="chart-axis" x1="0" y1="%d" x2="%d" y2="%d" stroke="currentColor" stroke-width="1"/>`, plot, width, plot)
	if n := len(points); n > 0 {
		slot := float64(width) / float64(n)
		every := (n + maxLabels - 1) / maxLabels
		for i, p := range points {
			h := 0.0
			if peak > 0 && p.Value > 0 {
				h = float64(p.Value) / float64(peak) * float64(plot-4)
				h = max(h, 1) // a bar of one among thousands still shows
			}
			x := float64(i)*slot + gap/2
			fmt.Fprintf(&b, `<rect class="chart-bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="currentColor"><title>%s: %d</title></rect>`,
				x, float64(plot)-h, max(slot-gap, 0.5), h, esc(p.Label), p.Value)
			if i%every == 0 {
				fmt.Fprintf(&b, `<text class="chart-label" x="%.1f" y="%d" font-size="10" fill="currentColor" aria-hidden="true">%s</text>`,
					x, height-6, esc(p.Label))
			}
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// SeriesPoints are the bars of a stats series, one per bucket: the
// payments of each, labelled by the hour ("14:00") when the buckets are
// shorter than a day and by the day ("2026-11-22") otherwise.
func SeriesPoints(series []payment.StatsBucket, bucket time.Duration) []Point {
	layout := "2006-01-02"
	if bucket < 24*time.Hour {
		layout = "15:04"
	}
	out := make([]Point, len(series))
	for i, s := range series {
		out[i] = Point{Label: s.Start.UTC().Format(layout), Value: s.Payments}
	}
	return out
}
