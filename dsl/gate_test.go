package dsl

import (
	"testing"
	"time"

	"github.com/pipectl/pipectl/gate"
)

// The gate's arithmetic (windows, freezes, the approval rule) is tested
// in package gate; these tests check that the blocks decode into it.

func evalGate(t *testing.T, src string) *gate.Gate {
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

func TestWindowsAndFreezesDecode(t *testing.T) {
	g := evalGate(t, `
  window {
    days      = ["mon-fri", "sun"]
    hours     = "22:00-02:00"
    time_zone = "Europe/Berlin"
  }
  window {}
  freeze {
    from      = "2026-12-24"
    to        = "2026-12-26T12:00"
    time_zone = "America/New_York"
    reason    = "Christmas"
  }
  outside_window = "fail"`)
	ny, _ := time.LoadLocation("America/New_York")
	w, all := g.Windows[0], g.Windows[1]
	if len(g.Windows) != 2 || w.Days != (gate.Days{true, true, true, true, true, true, false}) || w.Start != 22*60 || w.End != 2*60 ||
		w.Location.String() != "Europe/Berlin" || w.String() != "mon-fri,sun 22:00-02:00 Europe/Berlin" {
		t.Errorf("window %+v", w)
	}
	if all.Days != gate.EveryDay || all.Start != 0 || all.End != 24*60 || all.Location != time.UTC {
		t.Errorf("a window without attributes: %+v", all)
	}
	f := g.Freezes[0]
	if len(g.Freezes) != 1 || !f.From.Equal(time.Date(2026, 12, 24, 0, 0, 0, 0, ny)) || !f.To.Equal(time.Date(2026, 12, 26, 12, 0, 0, 0, ny)) || f.Reason != "Christmas" {
		t.Errorf("freeze %+v", f)
	}
	if g.OutsideWindow != gate.Fail || !g.HasWindows() || g.Approval != nil {
		t.Errorf("gate %+v", g)
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
	g = evalGate(t, `approval {
  message             = "Ship it?"
  timeout             = "1h30m"
  approvers           = ["bob", " carol "]
  min_approvals       = 2
  allow_self_approval = false
}`)
	if a := g.Approval; a == nil || a.Message != "Ship it?" || a.Timeout != 90*time.Minute || len(a.Approvers) != 2 || a.Approvers[1] != "carol" ||
		a.MinApprovals != 2 || a.AllowSelfApproval || g.OutsideWindow != gate.Wait {
		t.Fatalf("%+v", a)
	}
}

// A group approver may stand for any number of people: min_approvals is
// not bounded by the number of entries then.
func TestApproversNameGroups(t *testing.T) {
	g := evalGate(t, `approval {
  approvers     = ["group:release-managers", "bob"]
  min_approvals = 3
}`)
	if a := g.Approval; a == nil || a.MinApprovals != 3 || a.Approvers[0] != "group:release-managers" {
		t.Fatalf("%+v", a)
	}
}
