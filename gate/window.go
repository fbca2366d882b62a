package gate

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // time zones must resolve on machines without /usr/share/zoneinfo (CI images)
)

// Window is a deploy window: the days and the hours, in its time zone,
// when a gated stage may start.
type Window struct {
	Days       Days
	Start, End int            // minutes since midnight; End <= Start spans midnight
	Location   *time.Location // nil: UTC
}

// Freeze is a freeze period: nothing gated starts from From until To.
type Freeze struct {
	From, To time.Time
	Reason   string
}

// Days are the days of a week a window is open, by time.Weekday.
type Days [7]bool

// EveryDay is a window's days when it names none.
var EveryDay = Days{true, true, true, true, true, true, true}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Add adds "mon", "monday" or a range "mon-fri" (which may wrap:
// "fri-mon"); false when spec is not a day.
func (d *Days) Add(spec string) bool {
	from, to, isRange := strings.Cut(strings.ToLower(strings.TrimSpace(spec)), "-")
	a, b := dayIndex(from), dayIndex(to)
	if !isRange {
		b = a
	}
	if a < 0 || b < 0 {
		return false
	}
	for i := a; ; i = (i + 1) % 7 {
		d[i] = true
		if i == b {
			return true
		}
	}
}

func dayIndex(s string) int {
	s = strings.TrimSpace(s)
	for i, d := range dayNames {
		if s == d || s == strings.ToLower(time.Weekday(i).String()) {
			return i
		}
	}
	return -1
}

// String is the days from monday, in ranges: "mon-fri", "mon,fri-sun",
// "every day".
func (d Days) String() string {
	var parts []string
	for i := 1; i <= 7; i++ { // from monday
		day := i % 7
		if !d[day] || (d[(day+6)%7] && i > 1) {
			continue
		}
		j := i
		for j+1 <= 7 && d[(j+1)%7] {
			j++
		}
		if j == i {
			parts = append(parts, dayNames[day])
		} else {
			parts = append(parts, dayNames[day]+"-"+dayNames[j%7])
		}
	}
	if len(parts) == 1 && parts[0] == "mon-sun" {
		return "every day"
	}
	return strings.Join(parts, ",")
}

// LoadLocation is an IANA time zone. The machine's own ("Local", or no
// name) is refused: it would make a pipeline mean different things on
// different machines.
func LoadLocation(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("not a fixed zone")
	}
	return time.LoadLocation(name)
}

// ParseHours parses "09:00-17:00" into minutes since midnight; the error
// completes a sentence that starts with the text.
func ParseHours(s string) (start, end int, err error) {
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return 0, 0, fmt.Errorf("is not an hour range")
	}
	start, err1 := parseClock(from, false)
	end, err2 := parseClock(to, true)
	switch {
	case err1 != nil:
		return 0, 0, err1
	case err2 != nil:
		return 0, 0, err2
	case start == end:
		return 0, 0, fmt.Errorf("is an empty window: it starts and ends at the same time")
	}
	return start, end, nil
}

func parseClock(s string, allow24 bool) (int, error) {
	s = strings.TrimSpace(s)
	var h, m int
	if n, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || n != 2 || len(s) != 5 {
		return 0, fmt.Errorf("has %q, which is not a time HH:MM", s)
	}
	if h == 24 && m == 0 && allow24 {
		return 24 * 60, nil
	}
	if h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, fmt.Errorf("has %q, which is not a time of day (00:00 to 23:59; 24:00 only as an end)", s)
	}
	return h*60 + m, nil
}

// ParseInstant parses a freeze bound: RFC 3339, or a date or a date and
// time in loc. A date alone as the end means the end of that day.
func ParseInstant(s string, loc *time.Location, end bool) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, true
	}
	return time.Time{}, false
}

func (w *Window) location() *time.Location {
	if w.Location == nil {
		return time.UTC
	}
	return w.Location
}

// String describes the window: "mon-fri 09:00-17:00 Europe/Berlin".
func (w *Window) String() string {
	return fmt.Sprintf("%s %s-%s %s", w.Days, clockText(w.Start), clockText(w.End), w.location())
}

func clockText(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// String describes the freeze period.
func (f *Freeze) String() string {
	s := "freeze " + f.From.Format(time.RFC3339) + " to " + f.To.Format(time.RFC3339)
	if f.Reason != "" {
		s += " (" + f.Reason + ")"
	}
	return s
}

// open reports whether t falls in the window.
func (w *Window) open(t time.Time) bool {
	t = t.In(w.location())
	m := t.Hour()*60 + t.Minute()
	d := int(t.Weekday())
	if w.Start < w.End {
		return w.Days[d] && m >= w.Start && m < w.End
	}
	return (w.Days[d] && m >= w.Start) || (w.Days[(d+6)%7] && m < w.End) // spans midnight: the day it starts counts
}

// WindowOpen reports whether a gated stage may start at t: inside one of
// its windows (any, when it has none) and in no freeze; when not, why.
func (g *Gate) WindowOpen(t time.Time) (bool, string) {
	for _, f := range g.Freezes {
		if !t.Before(f.From) && t.Before(f.To) {
			return false, "in the " + f.String()
		}
	}
	if len(g.Windows) == 0 {
		return true, ""
	}
	var names []string
	for _, w := range g.Windows {
		if w.open(t) {
			return true, ""
		}
		names = append(names, w.String())
	}
	return false, "outside the deploy windows (" + strings.Join(names, "; ") + ")"
}

// NextOpen is the first moment at or after t when the gate's windows are
// open; false when there is none within a year (a freeze that never ends).
func (g *Gate) NextOpen(t time.Time) (time.Time, bool) {
	if open, _ := g.WindowOpen(t); open {
		return t, true
	}
	// Openness changes only where a window starts or a freeze ends: try
	// those in order.
	var best time.Time
	horizon := t.AddDate(1, 0, 0)
	consider := func(c time.Time) {
		if c.After(t) && c.Before(horizon) && (best.IsZero() || c.Before(best)) {
			if open, _ := g.WindowOpen(c); open {
				best = c
			}
		}
	}
	for _, f := range g.Freezes {
		consider(f.To)
	}
	for _, w := range g.Windows {
		loc := w.location()
		local := t.In(loc)
		for day := -1; day <= 370; day++ {
			y, m, d := local.Date()
			consider(time.Date(y, m, d+day, w.Start/60, w.Start%60, 0, 0, loc))
		}
	}
	return best, !best.IsZero()
}
