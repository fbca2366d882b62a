package gate

import (
	"strings"
	"testing"

	v1 "github.com/pipectl/pipectl/api/v1"
)

func TestRuleRefuses(t *testing.T) {
	approvers := Rule{Approvers: []string{"bob", "carol"}, MinApprovals: 1, AllowSelfApproval: true}
	fourEyes := Rule{MinApprovals: 1}
	for _, c := range []struct {
		name       string
		rule       Rule
		ans        Answer
		approvedBy map[string]bool
		want       RefusalReason
		message    string
	}{
		{"no user", fourEyes, Answer{Approve: true}, nil, RefusedAnonymous, "an answer without a user name does not count"},
		{"no user rejects", fourEyes, Answer{}, nil, RefusedAnonymous, "an answer without a user name does not count"},
		{"anyone approves", fourEyes, Answer{Approve: true, User: "bob"}, nil, "", ""},
		{"an approver approves", approvers, Answer{Approve: true, User: "carol"}, nil, "", ""},
		{"not an approver", approvers, Answer{Approve: true, User: "dev"}, nil, RefusedNotApprover, "dev is not one of the approvers (bob, carol)"},
		{"not an approver rejects", approvers, Answer{User: "dev"}, nil, RefusedNotApprover, "dev is not one of the approvers (bob, carol)"},
		{"an approver rejects", approvers, Answer{User: "bob"}, nil, "", ""},
		{"four eyes", fourEyes, Answer{Approve: true, User: "alice"}, nil, RefusedSelfApproval,
			"alice started this run and cannot approve it: the gate needs someone else (allow_self_approval = false)"},
		{"self-approval allowed", approvers, Answer{Approve: true, User: "bob"}, nil, "", ""},
		{"who started it may always stop it", Rule{Approvers: []string{"bob"}}, Answer{User: "alice"}, nil, "", ""},
		{"twice", fourEyes, Answer{Approve: true, User: "bob"}, map[string]bool{"bob": true}, RefusedDuplicate,
			"bob already approved: min_approvals counts different people"},
		{"a rejection after one's approval", fourEyes, Answer{User: "bob"}, map[string]bool{"bob": true}, "", ""},
		{"someone else", fourEyes, Answer{Approve: true, User: "carol"}, map[string]bool{"bob": true}, "", ""},
	} {
		startedBy := "alice"
		if c.name == "self-approval allowed" {
			startedBy = "bob"
		}
		r := c.rule.Refuse(c.ans, startedBy, c.approvedBy)
		switch {
		case c.want == "" && r != nil:
			t.Errorf("%s: refused: %+v", c.name, r)
		case c.want != "" && (r == nil || r.Reason != c.want || r.Message != c.message):
			t.Errorf("%s: %+v, want %s: %s", c.name, r, c.want, c.message)
		}
	}
	// Nobody started the run (an unknown user): nobody is its starter.
	if r := fourEyes.Refuse(Answer{Approve: true, User: "bob"}, "", nil); r != nil {
		t.Errorf("no starter: %+v", r)
	}
}

// Answers in order, as a run reads them: the starter's approval under
// four eyes and a second one by the same person do not count; the gate
// passes at the second person.
func TestTallyCountsDifferentPeople(t *testing.T) {
	tally := &Tally{Rule: Rule{MinApprovals: 2}, StartedBy: "alice"}
	for _, c := range []struct {
		user     string
		approve  bool
		decision v1.AnswerDecision
		refusal  RefusalReason
		count    int
		passed   bool
	}{
		{"alice", true, v1.AnswerRefused, RefusedSelfApproval, 0, false},
		{"bob", true, v1.AnswerApproved, "", 1, false},
		{"bob", true, v1.AnswerRefused, RefusedDuplicate, 1, false},
		{"dave", false, v1.AnswerRejected, "", 1, false},
		{"carol", true, v1.AnswerApproved, "", 2, true},
	} {
		ans := Answer{Gate: "stage.deploy", User: c.user, Approve: c.approve}
		if r := tally.Check(ans); (r == nil) != (c.refusal == "") {
			t.Errorf("%s: checked %+v", c.user, r)
		}
		decision, r := tally.Take(ans)
		if decision != c.decision || (r == nil) != (c.refusal == "") || (r != nil && r.Reason != c.refusal) ||
			tally.Approvals() != c.count || tally.Passed() != c.passed {
			t.Errorf("%s: %s %+v, %d approvals, passed %v; want %s %s, %d, %v",
				c.user, decision, r, tally.Approvals(), tally.Passed(), c.decision, c.refusal, c.count, c.passed)
		}
	}
	if r := AfterPass("stage.deploy"); r.Reason != RefusedAfterPass || r.Message != "stage.deploy had already passed: this answer came after the approvals it needed" {
		t.Errorf("after the pass: %+v", r)
	}
}

// Approvers name users and groups (group:NAME); the CI job's actor is,
// under four eyes, refused as the starter is.
func TestApproversGroupsAndActor(t *testing.T) {
	rule := Rule{Approvers: []string{"bob", "group:release-managers"}, MinApprovals: 1}
	for _, c := range []struct {
		user   string
		groups []string
		want   bool
	}{
		{"bob", nil, true},
		{"carol", []string{"system:authenticated", "release-managers"}, true},
		{"carol", []string{"developers"}, false},
		{"group:release-managers", nil, false},
		{"release-managers", nil, false},
	} {
		if got := rule.IsApprover(c.user, c.groups); got != c.want {
			t.Errorf("%s in %v: approver %v, want %v", c.user, c.groups, got, c.want)
		}
	}
	tally := &Tally{Rule: Rule{MinApprovals: 1}, StartedBy: "system:serviceaccount:ci:deployer", Actor: "alice"}
	if r := tally.Check(Answer{Approve: true, User: "alice"}); r == nil || r.Reason != RefusedSelfApproval ||
		!strings.Contains(r.Message, "names alice as its actor") {
		t.Errorf("the actor's approval: %+v", r)
	}
	if r := tally.Check(Answer{User: "alice"}); r != nil {
		t.Errorf("the actor's rejection: %+v", r)
	}
	if r := tally.Check(Answer{Approve: true, User: "bob"}); r != nil {
		t.Errorf("bob's approval: %+v", r)
	}
	tally.Rule.AllowSelfApproval = true
	if r := tally.Check(Answer{Approve: true, User: "alice"}); r != nil {
		t.Errorf("the actor's approval, self-approval allowed: %+v", r)
	}
}
