package gate

import (
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/pipectl/pipectl/api/v1"
)

// Approval is an approval a gate waits for.
type Approval struct {
	Message string
	// Timeout bounds the wait for approval; 0: no bound.
	Timeout time.Duration
	Rule
}

// Rule decides which answers to an approval count, and how many must.
type Rule struct {
	// Approvers who may approve; empty: anyone. An entry is a user name,
	// or group:NAME for any member of the group (Answer.Groups).
	Approvers    []string
	MinApprovals int
	// AllowSelfApproval: the user who started the run may approve it
	// (false is the four-eyes rule).
	AllowSelfApproval bool
}

// Answer is someone's answer to a gate: an approval, or a rejection.
// Runs record them as given (record.Answer).
type Answer struct {
	Gate    string `json:"gate"` // stage.NAME or step.NAME
	Approve bool   `json:"approve"`
	User    string `json:"user"`
	// Groups are the user's groups, as the backend authenticated them
	// (the kubernetes backend's votes); none on the local backend.
	Groups []string  `json:"groups,omitempty"`
	Reason string    `json:"reason,omitempty"`
	Time   time.Time `json:"time"`
	// RefusedBefore is why the answer was refused when it was recorded
	// (record.Answer.Refused): it stays refused, whoever reads it later
	// (the run that resumes a parked one).
	RefusedBefore string `json:"-"`
}

// RefusalReason is why an answer does not count.
type RefusalReason string

const (
	RefusedAnonymous    RefusalReason = "anonymous"     // no user name
	RefusedNotApprover  RefusalReason = "not_approver"  // not one of the approvers
	RefusedSelfApproval RefusalReason = "self_approval" // the user who started the run, with allow_self_approval = false
	RefusedDuplicate    RefusalReason = "duplicate"     // a second approval by the same person
	RefusedAfterPass    RefusalReason = "after_pass"    // read after the approvals the gate needed
	RefusedRecorded     RefusalReason = "recorded"      // refused when it was recorded (Answer.RefusedBefore)
)

// Refusal is an answer that does not count: why, and a sentence saying it.
type Refusal struct {
	Reason  RefusalReason
	Message string
}

// Refuse says why ans does not count, or nil. Anyone allowed to approve
// may reject; the user who started the run (startedBy) may always reject
// (stop) it. approvedBy holds who approved already (nil: nobody yet).
func (r Rule) Refuse(ans Answer, startedBy string, approvedBy map[string]bool) *Refusal {
	self := ans.User == startedBy && startedBy != ""
	switch {
	case ans.User == "":
		return &Refusal{RefusedAnonymous, "an answer without a user name does not count"}
	case !ans.Approve && self:
		return nil
	case !r.IsApprover(ans.User, ans.Groups):
		return &Refusal{RefusedNotApprover, fmt.Sprintf("%s is not one of the approvers (%s)", ans.User, strings.Join(r.Approvers, ", "))}
	case ans.Approve && self && !r.AllowSelfApproval:
		return &Refusal{RefusedSelfApproval, fmt.Sprintf("%s started this run and cannot approve it: the gate needs someone else (allow_self_approval = false)", ans.User)}
	case ans.Approve && approvedBy[ans.User]:
		return &Refusal{RefusedDuplicate, fmt.Sprintf("%s already approved: min_approvals counts different people", ans.User)}
	}
	return nil
}

// GroupPrefix marks an approvers entry that names a group.
const GroupPrefix = "group:"

// IsApprover tells whether user, a member of groups, is one of the
// approvers (anyone, when there are none).
func (r Rule) IsApprover(user string, groups []string) bool {
	if len(r.Approvers) == 0 {
		return true
	}
	for _, a := range r.Approvers {
		g, isGroup := strings.CutPrefix(a, GroupPrefix)
		if isGroup && slices.Contains(groups, g) || !isGroup && a == user {
			return true
		}
	}
	return false
}

// AfterPass refuses an answer read with those that passed gate, but after
// them (given at the same moment, a duplicate approval most often).
func AfterPass(gate string) *Refusal {
	return &Refusal{RefusedAfterPass, gate + " had already passed: this answer came after the approvals it needed"}
}

// Tally counts the answers to one approval in the order they were given.
type Tally struct {
	Rule      Rule
	StartedBy string // who started the run
	// Actor is who the CI job that started the run says triggered it
	// (GITHUB_ACTOR...): unverified, but under four eyes that person may
	// not approve either.
	Actor string
	by    map[string]bool
}

// Take counts one answer: approved, rejected, or refused (and why). It
// takes rejections, like refusals, without changing the count.
func (t *Tally) Take(ans Answer) (v1.AnswerDecision, *Refusal) {
	if r := t.Check(ans); r != nil {
		return v1.AnswerRefused, r
	}
	if !ans.Approve {
		return v1.AnswerRejected, nil
	}
	if t.by == nil {
		t.by = map[string]bool{}
	}
	t.by[ans.User] = true
	return v1.AnswerApproved, nil
}

// Check says why ans would not count after the answers taken, or nil;
// it takes nothing.
func (t *Tally) Check(ans Answer) *Refusal {
	if ans.RefusedBefore != "" {
		return &Refusal{RefusedRecorded, ans.RefusedBefore}
	}
	if r := t.Rule.Refuse(ans, t.StartedBy, t.by); r != nil {
		return r
	}
	if ans.Approve && !t.Rule.AllowSelfApproval && t.Actor != "" && ans.User == t.Actor && t.Actor != t.StartedBy {
		return &Refusal{RefusedSelfApproval, fmt.Sprintf("%s started this run (the CI job that started it as %s names %s as its actor) and cannot approve it: "+
			"the gate needs someone else (allow_self_approval = false)", ans.User, t.StartedBy, t.Actor)}
	}
	return nil
}

// Approvals is how many different people approved.
func (t *Tally) Approvals() int { return len(t.by) }

// Passed reports whether enough people approved.
func (t *Tally) Passed() bool { return len(t.by) >= t.Rule.MinApprovals }
