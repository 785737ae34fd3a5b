package report

import (
	"time"

	"github.com/gdapflow/gdapflow/internal/sweep"
)

// Chart geometry (SVG user units).
const (
	chartBarWidth = 22
	chartGap      = 8
	chartHeight   = 200
	chartLeft     = 44
	chartTop      = 10
)

// Chart is the stacked bar chart of expiries by week.
type Chart struct {
	Width, Height int
	// BaseY is the y of the axis; Max the largest weekly total.
	BaseY, Max int
	Bars       []Bar
	Legend     []LegendEntry
	// Ticks label the y axis.
	Ticks []Tick
}

// Bar is one week.
type Bar struct {
	Week       int
	X, LabelX  int
	Label      string
	Total      int
	Segments   []Segment
	ShowLabel  bool
	StartsDate string
}

// Segment is one category's part of a bar.
type Segment struct {
	Category    int
	Class, Name string
	Count       int
	X, Y, H     int
}

// LegendEntry names a category's colour.
type LegendEntry struct {
	Class, Name string
	Total       int
}

// Tick is a y-axis label.
type Tick struct {
	Y     int
	Value int
}

// categoryClass is the CSS class of each category.
var categoryClass = [sweep.Categories]string{ //nolint:gochecknoglobals // constant table
	sweep.CategoryAutoExtends:       "c-ext",
	sweep.CategoryLapseNoAutoExtend: "c-off",
	sweep.CategoryLapseGlobalAdmin:  "c-ga",
	sweep.CategoryProtected:         "c-prot",
}

// WeekCounts buckets end dates into Weeks weeks from now: week i holds the
// ends in [now+7i days, now+7(i+1) days). Ends before now or after the
// last week are left out.
func WeekCounts(now time.Time, ends []sweep.EndMark) [Weeks][sweep.Categories]int {
	var out [Weeks][sweep.Categories]int
	for _, e := range ends {
		if !e.End.After(now) || e.Category < 0 || e.Category >= sweep.Categories {
			continue
		}
		w := int(e.End.Sub(now) / (7 * day))
		if w < Weeks {
			out[w][e.Category]++
		}
	}
	return out
}

// buildChart lays the bars out.
func buildChart(now time.Time, ends []sweep.EndMark) Chart {
	counts := WeekCounts(now, ends)
	c := Chart{Width: chartLeft + Weeks*(chartBarWidth+chartGap) + 10, Height: chartTop + chartHeight + 40, BaseY: chartTop + chartHeight}
	var totals [sweep.Categories]int
	for _, w := range counts {
		t := 0
		for cat, n := range w {
			t += n
			totals[cat] += n
		}
		c.Max = max(c.Max, t)
	}
	scale := func(n int) int {
		if c.Max == 0 {
			return 0
		}
		return n * chartHeight / c.Max
	}
	for w, row := range counts {
		b := Bar{Week: w + 1, X: chartLeft + w*(chartBarWidth+chartGap), ShowLabel: w%4 == 0,
			StartsDate: now.Add(time.Duration(w) * 7 * day).Format("Jan 2")}
		b.LabelX = b.X + chartBarWidth/2
		y := c.BaseY
		cum := 0
		for _, cat := range stackOrder {
			n := row[cat]
			if n == 0 {
				continue
			}
			// Heights from cumulative sums, so rounding never loses a pixel.
			top := c.BaseY - scale(cum+n)
			h := y - top
			cum += n
			b.Segments = append(b.Segments, Segment{Category: cat, Class: categoryClass[cat], Name: categoryNames[cat], Count: n, X: b.X, Y: top, H: h})
			y = top
		}
		b.Total = cum
		c.Bars = append(c.Bars, b)
	}
	for _, cat := range stackOrder {
		c.Legend = append(c.Legend, LegendEntry{Class: categoryClass[cat], Name: categoryNames[cat], Total: totals[cat]})
	}
	if c.Max > 0 {
		for _, f := range []int{0, 1, 2, 4} {
			v := c.Max * f / 4
			if f == 4 || v > 0 {
				c.Ticks = append(c.Ticks, Tick{Y: c.BaseY - scale(v), Value: v})
			}
		}
	}
	return c
}
