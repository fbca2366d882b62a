package dsl

import (
	"testing"
	"time"
)

func evalGate(t *testing.T, src string) *Gate {
	t.Helper()
	cfg := mustLoad(t, `pipeline "p" {}
stage "deploy" {
`+src+`
  step "a" { action = std.noop }
}`)
	g, diags := cfg.Stage("deploy").Gate.Eval("stage.deploy", nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return g
}

func TestWindowOpenAndNextOpen(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, berlin) } // 2026-11-30 is a Monday
	g := evalGate(t, `
  window {
    days      = ["mon-fri"]
    hours     = "09:00-17:00"
    time_zone = "Europe/Berlin"
  }
  window {
    days      = ["sat"]
    hours     = "22:00-02:00"
    time_zone = "Europe/Berlin"
  }
  freeze {
    from      = "2026-12-02"
    to        = "2026-12-02"
    time_zone = "Europe/Berlin"
    reason    = "audit"
  }`)
	cases := []struct {
		t    time.Time
		open bool
		next time.Time
	}{
		{at(30, 9, 0), true, at(30, 9, 0)},
		{at(30, 8, 59), false, at(30, 9, 0)},
		{at(30, 17, 0), false, time.Date(2026, 12, 1, 9, 0, 0, 0, berlin)},
		{time.Date(2026, 12, 1, 20, 0, 0, 0, berlin), false, time.Date(2026, 12, 3, 9, 0, 0, 0, berlin)}, // Wednesday 2 is frozen
		{time.Date(2026, 12, 2, 12, 0, 0, 0, berlin), false, time.Date(2026, 12, 3, 0, 0, 0, 0, berlin).Add(9 * time.Hour)},
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
	if _, why := g.WindowOpen(time.Date(2026, 12, 2, 12, 0, 0, 0, berlin)); why == "" || why[:9] != "in the fr" {
		t.Errorf("frozen: %q", why)
	}
	if got := g.Windows[1].String(); got != "sat 22:00-02:00 Europe/Berlin" {
		t.Errorf("window text %q", got)
	}
}

func TestDaysText(t *testing.T) {
	for spec, want := range map[string]string{
		`["mon-fri"]`:           "mon-fri",
		`["sat", "sun"]`:        "sat-sun",
		`["fri-mon"]`:           "mon,fri-sun",
		`["monday", "Wed"]`:     "mon,wed",
		`["sun", "mon", "tue"]`: "mon-tue,sun",
		`["mon-sun"]`:           "every day",
	} {
		g := evalGate(t, "window {\n days = "+spec+"\n}")
		if got := daysText(g.Windows[0].Days); got != want {
			t.Errorf("%s: %q, want %q", spec, got, want)
		}
	}
}

func TestFreezeForeverHasNoNextOpening(t *testing.T) {
	g := evalGate(t, `
  freeze {
    from = "2000-01-01"
    to   = "2999-01-01"
  }`)
	if _, ok := g.NextOpen(time.Now()); ok {
		t.Fatal("a freeze of a thousand years opened")
	}
}

func TestApprovalDefaults(t *testing.T) {
	g := evalGate(t, "approval {}")
	a := g.Approval
	if a == nil || a.Message != "Approve stage deploy?" || a.MinApprovals != 1 || !a.AllowSelfApproval || a.Timeout != 0 || g.HasWindows() {
		t.Fatalf("%+v", a)
	}
	if g := evalGate(t, "approval {\n when = false\n}"); !g.Empty() {
		t.Fatalf("approval with when = false: %+v", g)
	}
}

// NextOpen in the worst case: a freeze over the next weeks and one narrow
// window a week, searched from its closing.
func BenchmarkNextOpen(b *testing.B) {
	cfg, diags := LoadSource("p.hcl", []byte(`pipeline "p" {}
stage "deploy" {
  window {
    days      = ["wed"]
    hours     = "22:00-23:00"
    time_zone = "America/New_York"
  }
  freeze {
    from = "2026-11-01"
    to   = "2026-12-31"
  }
  step "a" { action = std.noop }
}`))
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	g, _ := cfg.Stage("deploy").Gate.Eval("stage.deploy", nil)
	from := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for b.Loop() {
		if _, ok := g.NextOpen(from); !ok {
			b.Fatal("no opening")
		}
	}
}
