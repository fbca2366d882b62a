package gate

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func berlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// days is a window's days, as a pipeline writes them.
func days(t testing.TB, specs ...string) Days {
	t.Helper()
	var d Days
	for _, s := range specs {
		if !d.Add(s) {
			t.Fatalf("%q is not a day", s)
		}
	}
	return d
}

func hours(t testing.TB, s string) (int, int) {
	t.Helper()
	start, end, err := ParseHours(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return start, end
}

func window(t testing.TB, h string, loc *time.Location, d ...string) *Window {
	start, end := hours(t, h)
	return &Window{Days: days(t, d...), Start: start, End: end, Location: loc}
}

func freeze(t testing.TB, from, to string, loc *time.Location, reason string) *Freeze {
	t.Helper()
	f, okFrom := ParseInstant(from, loc, false)
	u, okTo := ParseInstant(to, loc, true)
	if !okFrom || !okTo {
		t.Fatalf("freeze %s to %s", from, to)
	}
	return &Freeze{From: f, To: u, Reason: reason}
}

func TestWindowOpenAndNextOpen(t *testing.T) {
	loc := berlin(t)
	at := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, loc) } // 2026-11-30 is a Monday
	g := &Gate{Address: "stage.deploy", Windows: []*Window{
		window(t, "09:00-17:00", loc, "mon-fri"),
		window(t, "22:00-02:00", loc, "sat"),
	}, Freezes: []*Freeze{freeze(t, "2026-12-02", "2026-12-02", loc, "audit")}}
	cases := []struct {
		t    time.Time
		open bool
		next time.Time
	}{
		{at(30, 9, 0), true, at(30, 9, 0)},
		{at(30, 8, 59), false, at(30, 9, 0)},
		{at(30, 17, 0), false, time.Date(2026, 12, 1, 9, 0, 0, 0, loc)},
		{time.Date(2026, 12, 1, 20, 0, 0, 0, loc), false, time.Date(2026, 12, 3, 9, 0, 0, 0, loc)}, // Wednesday 2 is frozen
		{time.Date(2026, 12, 2, 12, 0, 0, 0, loc), false, time.Date(2026, 12, 3, 0, 0, 0, 0, loc).Add(9 * time.Hour)},
		{at(28, 23, 30), true, at(28, 23, 30)}, // Saturday night
		{at(29, 1, 59), true, at(29, 1, 59)},   // still Saturday's window, on Sunday
		{at(29, 2, 0), false, at(30, 9, 0)},
		{time.Date(2026, 11, 30, 8, 30, 0, 0, time.UTC), true, time.Date(2026, 11, 30, 8, 30, 0, 0, time.UTC)}, // 09:30 in Berlin
	}
	for _, c := range cases {
		open, why := g.WindowOpen(c.t)
		next, ok := g.NextOpen(c.t)
		if open != c.open || !ok || !next.Equal(c.next) {
			t.Errorf("%s: open %v (%s), next %s; want open %v, next %s", c.t, open, why, next, c.open, c.next)
		}
	}
	if _, why := g.WindowOpen(time.Date(2026, 12, 2, 12, 0, 0, 0, loc)); !strings.HasPrefix(why, "in the freeze 2026-12-02T00:00:00+01:00 to 2026-12-03T00:00:00+01:00 (audit)") {
		t.Errorf("frozen: %q", why)
	}
	if _, why := g.WindowOpen(at(30, 8, 0)); why != "outside the deploy windows (mon-fri 09:00-17:00 Europe/Berlin; sat 22:00-02:00 Europe/Berlin)" {
		t.Errorf("closed: %q", why)
	}
}

// A freeze over Christmas, then the weekend: a stage reached on the
// Wednesday evening before waits until Monday morning.
func TestFreezeThenWeekend(t *testing.T) {
	loc := berlin(t)
	g := &Gate{Windows: []*Window{window(t, "09:00-17:00", loc, "mon-fri")},
		Freezes: []*Freeze{freeze(t, "2026-12-24", "2026-12-26", loc, "Christmas")}}
	next, ok := g.NextOpen(time.Date(2026, 12, 23, 18, 30, 0, 0, loc))
	if want := time.Date(2026, 12, 28, 9, 0, 0, 0, loc); !ok || !next.Equal(want) {
		t.Fatalf("next opening %s, want %s", next, want)
	}
}

// stepClock is a clock a test moves by hand.
type stepClock struct{ now time.Time }

func (c *stepClock) Now() time.Time { return c.now }
func (c *stepClock) After(d time.Duration) <-chan time.Time {
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// Weeks walked five minutes at a time, over a change to summer time:
// wherever the clock stands, NextOpen is open, is now when now is open,
// and no moment the walk passes before it is open.
func TestWeeksOfWindowsWalked(t *testing.T) {
	loc := berlin(t)
	g := &Gate{Windows: []*Window{
		window(t, "09:00-17:00", loc, "mon-thu"),
		window(t, "22:00-01:30", loc, "fri"),
		window(t, "06:00-07:00", time.UTC, "sun"),
	}, Freezes: []*Freeze{freeze(t, "2027-03-30T12:00", "2027-04-01", loc, "quarter end")}}
	var clock Clock = &stepClock{now: time.Date(2027, 3, 15, 0, 2, 0, 0, loc)}
	end := clock.Now().AddDate(0, 0, 28) // 2027-03-28 is the change to summer time
	var pending time.Time                // the opening announced while closed
	open := 0
	for clock.Now().Before(end) {
		now := clock.Now()
		next, ok := g.NextOpen(now)
		if !ok {
			t.Fatalf("%s: no opening", now)
		}
		isOpen, why := g.WindowOpen(now)
		switch nextOpen, _ := g.WindowOpen(next); {
		case !nextOpen:
			t.Fatalf("%s: the next opening %s is closed", now, next)
		case isOpen != next.Equal(now):
			t.Fatalf("%s: open %v (%s), next opening %s", now, isOpen, why, next)
		case !pending.IsZero() && now.Before(pending) && !next.Equal(pending):
			t.Fatalf("%s: next opening %s, announced %s before", now, next, pending)
		case !pending.IsZero() && isOpen && pending.After(now):
			t.Fatalf("%s: open before the announced opening %s", now, pending)
		}
		pending = time.Time{}
		if isOpen {
			open++
		} else {
			pending = next
		}
		<-clock.After(5 * time.Minute)
	}
	// Monday to Thursday 8h (the freeze takes a day and a half), Friday
	// night 3.5h, Sunday morning 1h: about a fifth of the time is open.
	if total := 28 * 24 * 12; open < total/7 || open > total/4 {
		t.Errorf("open at %d of %d moments", open, total)
	}
}

func TestDaysString(t *testing.T) {
	for spec, want := range map[string]string{
		"mon-fri":     "mon-fri",
		"sat,sun":     "sat-sun",
		"fri-mon":     "mon,fri-sun",
		"monday,Wed":  "mon,wed",
		"sun,mon,tue": "mon-tue,sun",
		"mon-sun":     "every day",
	} {
		if got := days(t, strings.Split(spec, ",")...).String(); got != want {
			t.Errorf("%s: %q, want %q", spec, got, want)
		}
	}
	var d Days
	if d.Add("someday") || d.Add("mon-") || d != (Days{}) {
		t.Errorf("bad days taken: %v", d)
	}
	if EveryDay.String() != "every day" {
		t.Errorf("EveryDay is %s", EveryDay)
	}
}

func TestParseHours(t *testing.T) {
	for s, want := range map[string]string{
		"09:00-17:00": "540-1020",
		"22:00-02:00": "1320-120",
		"00:00-24:00": "0-1440",
		"9:00-17:00":  `has "9:00", which is not a time HH:MM`,
		"09:00":       "is not an hour range",
		"24:00-08:00": `has "24:00", which is not a time of day (00:00 to 23:59; 24:00 only as an end)`,
		"08:00-08:00": "is an empty window: it starts and ends at the same time",
	} {
		start, end, err := ParseHours(s)
		got := strconv.Itoa(start) + "-" + strconv.Itoa(end)
		if err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("%s: %s, want %s", s, got, want)
		}
	}
}

func TestParseInstant(t *testing.T) {
	loc := berlin(t)
	for _, c := range []struct {
		s    string
		end  bool
		want time.Time
	}{
		{"2026-12-24", false, time.Date(2026, 12, 24, 0, 0, 0, 0, loc)},
		{"2026-12-24", true, time.Date(2026, 12, 25, 0, 0, 0, 0, loc)}, // a day as the end: its end
		{"2026-12-24T18:00", true, time.Date(2026, 12, 24, 18, 0, 0, 0, loc)},
		{"2026-12-24 18:00", false, time.Date(2026, 12, 24, 18, 0, 0, 0, loc)},
		{"2026-12-24T18:00:00Z", false, time.Date(2026, 12, 24, 18, 0, 0, 0, time.UTC)},
	} {
		if got, ok := ParseInstant(c.s, loc, c.end); !ok || !got.Equal(c.want) {
			t.Errorf("%s (end %v): %s, %v; want %s", c.s, c.end, got, ok, c.want)
		}
	}
	if _, ok := ParseInstant("Christmas", loc, false); ok {
		t.Error("Christmas parsed")
	}
}

func TestLoadLocationRefusesTheMachinesZone(t *testing.T) {
	for _, name := range []string{"", "Local", "Mars/Olympus"} {
		if _, err := LoadLocation(name); err == nil {
			t.Errorf("%q loaded", name)
		}
	}
}

func TestFreezeForeverHasNoNextOpening(t *testing.T) {
	g := &Gate{Freezes: []*Freeze{freeze(t, "2000-01-01", "2999-01-01", time.UTC, "")}}
	if _, ok := g.NextOpen(time.Now()); ok {
		t.Fatal("a freeze of a thousand years opened")
	}
}

func TestEmptyAndHasWindows(t *testing.T) {
	var none *Gate
	unknown := &Gate{Address: "stage.deploy", ApprovalUnknown: true}
	windowed := &Gate{Windows: []*Window{{Days: EveryDay, End: 60}}}
	if !none.Empty() || none.HasWindows() || unknown.Empty() || windowed.Empty() || !windowed.HasWindows() || (&Gate{}).Asks() != nil {
		t.Fatal("Empty or HasWindows or Asks")
	}
	// An approval whose condition is unknown asks anyone, once.
	if a := unknown.Asks(); a == nil || a.Message != "Approve stage.deploy?" || a.MinApprovals != 1 || !a.AllowSelfApproval || len(a.Approvers) != 0 {
		t.Fatalf("unknown approval asks %+v", a)
	}
}

// NextOpen in the worst case: a freeze over the next weeks and one narrow
// window a week, searched from its closing.
func BenchmarkNextOpen(b *testing.B) {
	ny, err := LoadLocation("America/New_York")
	if err != nil {
		b.Fatal(err)
	}
	g := &Gate{Windows: []*Window{window(b, "22:00-23:00", ny, "wed")},
		Freezes: []*Freeze{freeze(b, "2026-11-01", "2026-12-31", time.UTC, "")}}
	from := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for b.Loop() {
		if _, ok := g.NextOpen(from); !ok {
			b.Fatal("no opening")
		}
	}
}
