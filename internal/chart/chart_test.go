package chart

import (
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestBarsGolden: a day's hourly series drawn as the golden file has it.
func TestBarsGolden(t *testing.T) {
	from := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	var series []payment.StatsBucket
	for h := range 24 {
		series = append(series, payment.StatsBucket{Start: from.Add(time.Duration(h) * time.Hour), Payments: (h * 7) % 11})
	}
	got := string(Bars("today", "Payments per hour", SeriesPoints(series, time.Hour)))
	path := filepath.Join("testdata", "today.svg")
	if *update {
		if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got+"\n" != string(want) {
		t.Errorf("Bars differs from %s (run with -update after checking):\n%s", path, got)
	}
}

type svgDoc struct {
	XMLName xml.Name `xml:"svg"`
	Role    string   `xml:"role,attr"`
	Labels  string   `xml:"aria-labelledby,attr"`
	Title   struct {
		ID   string `xml:"id,attr"`
		Text string `xml:",chardata"`
	} `xml:"title"`
	Desc struct {
		ID   string `xml:"id,attr"`
		Text string `xml:",chardata"`
	} `xml:"desc"`
	Rects []struct {
		Height string `xml:"height,attr"`
		Title  string `xml:"title"`
	} `xml:"rect"`
	Texts []string `xml:"text"`
}

func parse(t *testing.T, svg string) svgDoc {
	t.Helper()
	var d svgDoc
	if err := xml.Unmarshal([]byte(svg), &d); err != nil {
		t.Fatalf("not well-formed SVG: %v\n%s", err, svg)
	}
	return d
}

// TestBarsAccessible: the chart is an image labelled by its title and a
// description that tells the total and the peak; every bar has its value
// as its title, and heights follow the values.
func TestBarsAccessible(t *testing.T) {
	d := parse(t, string(Bars("c1", "Payments per day", []Point{{"Mon", 10}, {"Tue", 40}, {"Wed", 0}, {"Thu", 20}})))
	if d.Role != "img" || d.Labels != "c1-title c1-desc" || d.Title.ID != "c1-title" || d.Desc.ID != "c1-desc" {
		t.Errorf("labelling: role %q, aria-labelledby %q, ids %q %q", d.Role, d.Labels, d.Title.ID, d.Desc.ID)
	}
	if d.Title.Text != "Payments per day" || d.Desc.Text != "70 in all over 4 bars; highest 40 at Tue" {
		t.Errorf("title %q, desc %q", d.Title.Text, d.Desc.Text)
	}
	if len(d.Rects) != 4 {
		t.Fatalf("%d bars; want 4", len(d.Rects))
	}
	var heights []float64
	for i, want := range []string{"Mon: 10", "Tue: 40", "Wed: 0", "Thu: 20"} {
		if d.Rects[i].Title != want {
			t.Errorf("bar %d titled %q; want %q", i, d.Rects[i].Title, want)
		}
		h, err := strconv.ParseFloat(d.Rects[i].Height, 64)
		if err != nil {
			t.Fatal(err)
		}
		heights = append(heights, h)
	}
	if heights[2] != 0 || heights[1] != 4*heights[0] || heights[1] != 2*heights[3] {
		t.Errorf("heights %v not proportional to 10, 40, 0, 20", heights)
	}
}

// TestBarsEscapes: labels, titles and ids are text, never markup.
func TestBarsEscapes(t *testing.T) {
	evil := `"><script>alert(1)</script><x y="`
	svg := string(Bars(evil, evil, []Point{{evil, 3}}))
	if strings.Contains(svg, "<script") || strings.Contains(svg, "<x ") {
		t.Fatalf("markup leaked into the chart:\n%s", svg)
	}
	d := parse(t, svg)
	if d.Title.Text != evil || d.Rects[0].Title != evil+": 3" {
		t.Errorf("escaped text does not read back: %q, %q", d.Title.Text, d.Rects[0].Title)
	}
}

// TestBarsEdges: no points, all zero, and a tiny bar beside a huge one
// (still visible), and at most a handful of axis labels for many bars.
func TestBarsEdges(t *testing.T) {
	if d := parse(t, string(Bars("e", "Empty", nil))); len(d.Rects) != 0 || d.Desc.Text != "No data." {
		t.Errorf("empty chart: %d bars, desc %q", len(d.Rects), d.Desc.Text)
	}
	if d := parse(t, string(Bars("z", "Zeros", []Point{{"a", 0}, {"b", 0}}))); d.Rects[0].Height != "0.0" || d.Rects[1].Height != "0.0" {
		t.Errorf("zero bars have heights %q, %q", d.Rects[0].Height, d.Rects[1].Height)
	}
	if d := parse(t, string(Bars("t", "Tiny", []Point{{"a", 1}, {"b", 100000}}))); d.Rects[0].Height != "1.0" {
		t.Errorf("a bar of 1 beside 100000 has height %q; want 1.0", d.Rects[0].Height)
	}
	many := make([]Point, 30)
	for i := range many {
		many[i] = Point{Label: strconv.Itoa(i), Value: i}
	}
	if d := parse(t, string(Bars("m", "Month", many))); len(d.Rects) != 30 || len(d.Texts) > maxLabels {
		t.Errorf("30 bars: %d drawn, %d labels (at most %d)", len(d.Rects), len(d.Texts), maxLabels)
	}
	if regexp.MustCompile(`style=`).MatchString(string(Bars("s", "S", many))) {
		t.Error("inline style in the chart: a strict CSP would drop it")
	}
}

// TestSeriesPoints: hours for buckets under a day, dates otherwise, and
// each bucket's payments as the value.
func TestSeriesPoints(t *testing.T) {
	at := time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC)
	s := []payment.StatsBucket{{Start: at, Payments: 3, Authorized: 1}}
	if got := SeriesPoints(s, time.Hour); got[0] != (Point{"14:00", 3}) {
		t.Errorf("hourly: %+v", got)
	}
	if got := SeriesPoints(s, 24*time.Hour); got[0] != (Point{"2026-11-22", 3}) {
		t.Errorf("daily: %+v", got)
	}
}
