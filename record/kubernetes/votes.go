package kubernetes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/record"
)

// Votes: each answer to a gate is a ConfigMap of its own, a vote,
// written with the credentials of who answers. The API server admits it
// through the ValidatingAdmissionPolicy `pipectl backend setup` installs
// (votePolicy): its approver must be who writes it, who must hold the
// verb approve on approvals.pipectl.dev for the run's environment in the
// namespace (approvalName); votes are never updated; only who may delete
// votes.pipectl.dev (retention, the pipectl-runner Role) deletes them.
// The runner trusts no vote before it has seen that policy and its Deny
// binding in place.
const (
	kindVote = "vote"
	// VoteFormat is the version of a vote's data.
	VoteFormat = 1
	// PolicyName names the policy and its binding (cluster-wide: they
	// cover votes in every namespace).
	PolicyName = "pipectl.dev-votes"
	// policySettle is how long after the policy or its binding changed a
	// vote is still not trusted: the API server enforces a policy a moment
	// after it is written, and times are kept to the second.
	policySettle = 3 * time.Second
)

// Keys of a vote's data the policy reads.
const (
	voteApprover    = "approver"
	voteEnvironment = "environment"
	voteGroups      = "groups"
	voteAnswer      = "answer.json" // the record.Answer, for what the policy does not read
	voteFormatKey   = "format"
	voteRun         = "run"
)

// ErrNotSetUp: the votes' policy or its Deny binding is missing.
var ErrNotSetUp = errors.New("backend not set up: run pipectl backend setup")

// votePolicy is what the API server checks of every vote.
func votePolicy() *admissionv1.ValidatingAdmissionPolicy {
	fail := admissionv1.Fail
	is := func(op string) string { return "request.operation != '" + op + "' || " }
	data := "has(object.data) && "
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: PolicyName, Labels: map[string]string{labelManaged: managedBy}},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionv1.MatchResources{
				ObjectSelector: &metav1.LabelSelector{MatchLabels: map[string]string{labelKind: kindVote}},
				ResourceRules: []admissionv1.NamedRuleWithOperations{{RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update, admissionv1.Delete},
					Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}}},
			},
			Validations: []admissionv1.Validation{
				{Expression: "request.operation != 'UPDATE'",
					Message: "pipectl votes are immutable: answer again with pipectl approve or reject"},
				{Expression: is("DELETE") + "authorizer.group('pipectl.dev').resource('votes').namespace(request.namespace).check('delete').allowed()",
					MessageExpression: "request.userInfo.username + ' may not delete pipectl votes: only retention does (delete on votes.pipectl.dev, the pipectl-runner Role)'"},
				{Expression: is("CREATE") + "(" + data + "'" + voteApprover + "' in object.data && object.data." + voteApprover + " == request.userInfo.username)",
					MessageExpression: "'a vote names its approver, who must be who writes it: this one names ' + " +
						"(" + data + "'" + voteApprover + "' in object.data ? object.data." + voteApprover + " : 'nobody') + ' and is written by ' + request.userInfo.username"},
				{Expression: is("CREATE") + "(" + data + "'" + voteEnvironment + "' in object.data && object.data." + voteEnvironment + " != '' && " +
					"authorizer.group('pipectl.dev').resource('approvals').namespace(request.namespace).name(object.data." + voteEnvironment + ").check('approve').allowed())",
					MessageExpression: "request.userInfo.username + ' may not approve ' + " +
						"(" + data + "'" + voteEnvironment + "' in object.data ? object.data." + voteEnvironment + " : 'this environment') + " +
						"' in namespace ' + request.namespace + ': it needs the verb approve on approvals.pipectl.dev (a RoleBinding, see docs/backends.md)'"},
				{Expression: is("CREATE") + "!(" + data + "'" + voteGroups + "' in object.data) || object.data." + voteGroups + " == '' || " +
					"object.data." + voteGroups + ".split(',').all(g, g in request.userInfo.groups)",
					MessageExpression: "'a vote names only groups of who writes it (' + request.userInfo.groups.join(',') + ')'"},
			},
		}}
}

func votePolicyBinding() *admissionv1.ValidatingAdmissionPolicyBinding {
	return &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: PolicyName, Labels: map[string]string{labelManaged: managedBy}},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: PolicyName,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny}}}
}

// checkPolicy is nil when the votes' policy and its Deny binding are in
// place, as setup made them, else why not; and since when they have
// been, unchanged. It is asked at every read of votes, after the list:
// a vote created a settling time after that has been admitted by this
// policy (trustedSince).
func (c *Client) checkPolicy(ctx context.Context) (since time.Time, err error) {
	p, err := c.admission.Policies().Get(ctx, PolicyName, metav1.GetOptions{})
	if err != nil {
		return since, notSetUp("the ValidatingAdmissionPolicy "+PolicyName, err)
	}
	b, err := c.admission.Bindings().Get(ctx, PolicyName, metav1.GetOptions{})
	if err != nil {
		return since, notSetUp("its ValidatingAdmissionPolicyBinding "+PolicyName, err)
	}
	if why := notAsSetUp(p, b); why != "" {
		return since, fmt.Errorf("%w (%s)", ErrNotSetUp, why)
	}
	return lastChange(&p.ObjectMeta, &b.ObjectMeta), nil
}

// lastChange is when the newest of objs was created or last written
// (their managed fields' times, to the second). Writes of the status
// subresource do not count: the API server's own controller records the
// policy's type checking there a moment after each change, which changes
// nothing it enforces.
func lastChange(objs ...*metav1.ObjectMeta) time.Time {
	var last time.Time
	for _, o := range objs {
		if t := o.CreationTimestamp.Time; t.After(last) {
			last = t
		}
		for _, f := range o.ManagedFields {
			if f.Subresource == "" && f.Time != nil && f.Time.After(last) {
				last = f.Time.Time
			}
		}
	}
	return last
}

// trusted tells whether the policy, in place and unchanged since since,
// admitted the vote: one created before the policy or its binding last
// changed (or were made again), or while the API server may not yet
// have enforced them, may have been admitted by none, or a weaker one.
func trusted(v *corev1.ConfigMap, since time.Time) bool {
	return v.CreationTimestamp.Time.Sub(since) >= policySettle
}

// notAsSetUp says how the policy or its binding differ from what setup
// makes in what the API server enforces, or "". Whatever narrows what
// they match (a selector, fewer operations, a match condition, the
// binding's own match) would leave votes unchecked; the API server's
// defaults (matchPolicy Equivalent, empty selectors, scope "*") are as
// setup made them.
func notAsSetUp(p *admissionv1.ValidatingAdmissionPolicy, b *admissionv1.ValidatingAdmissionPolicyBinding) string {
	want := votePolicy()
	switch {
	case p.Spec.FailurePolicy != nil && *p.Spec.FailurePolicy != admissionv1.Fail:
		return fmt.Sprintf("the policy %s does not fail closed: failurePolicy %s", PolicyName, *p.Spec.FailurePolicy)
	case !sameValidations(p.Spec.Validations, want.Spec.Validations):
		return fmt.Sprintf("the policy %s does not check what this pipectl's votes need", PolicyName)
	case !sameMatch(p.Spec.MatchConstraints, want.Spec.MatchConstraints) || len(p.Spec.MatchConditions) > 0 || p.Spec.ParamKind != nil:
		return fmt.Sprintf("the policy %s does not match every vote as setup made it (its matchConstraints, matchConditions or paramKind changed)", PolicyName)
	case b.Spec.PolicyName != PolicyName || !slices.Contains(b.Spec.ValidationActions, admissionv1.Deny) || b.Spec.ParamRef != nil ||
		!unconstrained(b.Spec.MatchResources):
		return fmt.Sprintf("the binding %s does not deny every vote the policy refuses (its policyName, validationActions, paramRef or matchResources changed)", PolicyName)
	}
	return ""
}

// sameMatch: have matches what want does, the API server's defaults aside.
func sameMatch(have, want *admissionv1.MatchResources) bool {
	return have != nil && emptySelector(have.NamespaceSelector) && sameSelector(have.ObjectSelector, want.ObjectSelector) &&
		(have.MatchPolicy == nil || *have.MatchPolicy == admissionv1.Equivalent) && len(have.ExcludeResourceRules) == 0 &&
		slices.EqualFunc(have.ResourceRules, want.ResourceRules, sameRule)
}

// unconstrained: a binding's matchResources that narrow nothing.
func unconstrained(m *admissionv1.MatchResources) bool {
	return m == nil || emptySelector(m.NamespaceSelector) && emptySelector(m.ObjectSelector) &&
		len(m.ResourceRules) == 0 && len(m.ExcludeResourceRules) == 0
}

func emptySelector(s *metav1.LabelSelector) bool {
	return s == nil || len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0
}

func sameSelector(have, want *metav1.LabelSelector) bool {
	return have != nil && maps.Equal(have.MatchLabels, want.MatchLabels) && len(have.MatchExpressions) == 0
}

func sameRule(have, want admissionv1.NamedRuleWithOperations) bool {
	h, w := have.RuleWithOperations, want.RuleWithOperations
	return len(have.ResourceNames) == 0 && (h.Scope == nil || *h.Scope == admissionv1.AllScopes) &&
		sameSet(h.Operations, w.Operations) && sameSet(h.APIGroups, w.APIGroups) &&
		sameSet(h.APIVersions, w.APIVersions) && sameSet(h.Resources, w.Resources)
}

func sameSet[T ~string](a, b []T) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func sameValidations(have, want []admissionv1.Validation) bool {
	return slices.EqualFunc(have, want, func(a, b admissionv1.Validation) bool { return a.Expression == b.Expression })
}

func notSetUp(what string, err error) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%w (%s is missing): approvals are refused until it is back", ErrNotSetUp, what)
	}
	return fmt.Errorf("%w (cannot read %s: %v)", ErrNotSetUp, what, err)
}

// Identity is who the API server says the backend's credentials are
// (a SelfSubjectReview, as `kubectl auth whoami`), asked once.
func (b *Backend) Identity() (record.Identity, error) {
	return b.c.Identity()
}

// Identity is who the API server says the client's credentials are.
func (c *Client) Identity() (record.Identity, error) {
	c.mu.Lock()
	id := c.identity
	c.mu.Unlock()
	if id != nil {
		return *id, nil
	}
	ctx, cancel := ctx()
	defer cancel()
	r, err := whoAmI(ctx, c.authn)
	if err != nil {
		return record.Identity{}, fmt.Errorf("asking the API server who you are (SelfSubjectReview, as kubectl auth whoami): %w", err)
	}
	if r.Status.UserInfo.Username == "" {
		return record.Identity{}, fmt.Errorf("the API server does not say who you are (SelfSubjectReview without a user name)")
	}
	id = &record.Identity{User: r.Status.UserInfo.Username, Groups: r.Status.UserInfo.Groups}
	c.mu.Lock()
	c.identity = id
	c.mu.Unlock()
	return *id, nil
}

// AppendAnswer records an answer as a vote written with this backend's
// credentials; the API server admits it only if a.User is who they are
// and may approve in the run's environment. check sees the answers
// before it. Of concurrent approvals by one person to one gate, one
// counts: a counted approval has a name of its own (the gate's and the
// user's), which one create gets; the others are checked again, and
// recorded refused.
func (b *Backend) AppendAnswer(id string, a record.Answer, check func(prior []record.Answer) string) (record.Answer, error) {
	ctx, cancel := ctx()
	defer cancel()
	if _, err := b.c.checkPolicy(ctx); err != nil {
		return a, err
	}
	run, err := b.runOf(ctx, id)
	if err != nil {
		return a, err
	}
	clash := false
	for {
		prior, err := b.answers(ctx, run)
		if err != nil {
			return a, err
		}
		if check != nil {
			a.Refused = check(prior)
		}
		name := objectName("vote", id) + "." + randomSuffix()
		if a.Approve && a.Refused == "" && !clash {
			name = objectName("vote", id) + "." + shortHash(a.Gate+"\x00"+a.User)
		}
		err = b.writeVote(ctx, name, run, a)
		if apierrors.IsAlreadyExists(err) && !clash {
			// The same approval came first: check against it. Should it
			// not count (not trusted), this one is written under a name
			// of its own.
			clash = true
			continue
		}
		return a, err
	}
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (b *Backend) writeVote(ctx context.Context, name string, run *record.Run, a record.Answer) error {
	a.Authenticated = true
	j, err := json.Marshal(a)
	if err != nil {
		return err
	}
	labels := RunMeta{ID: run.ID, Scope: b.scope, Pipeline: run.Pipeline, Environment: run.Environment}.labels(kindVote)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Data: map[string]string{voteFormatKey: strconv.Itoa(VoteFormat), voteRun: run.ID, voteEnvironment: approvalName(run),
			voteApprover: a.User, voteGroups: strings.Join(a.Groups, ","), voteAnswer: string(j)}}
	_, err = b.c.core.ConfigMaps(b.c.ns).Create(ctx, cm, metav1.CreateOptions{})
	if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) {
		return fmt.Errorf("the API server refused %s's vote: %w", a.User, err)
	}
	return err
}

// approvalName is what a vote for run names as its environment: the
// resource name of approvals.pipectl.dev its approver needs the verb
// approve on. A pipeline without environments is "pipeline.NAME" (NAME
// the pipeline's): never an environment's name, which has no dot.
func approvalName(run *record.Run) string {
	if run.Environment != "" {
		return run.Environment
	}
	return "pipeline." + run.Pipeline
}

// Answers returns every answer recorded for a run, oldest first: its
// votes, if the policy that admits them is in place (answers).
func (b *Backend) Answers(id string) ([]record.Answer, error) {
	ctx, cancel := ctx()
	defer cancel()
	run, err := b.runOf(ctx, id)
	if err != nil {
		return nil, err
	}
	return b.answers(ctx, run)
}

func (b *Backend) runOf(ctx context.Context, id string) (*record.Run, error) {
	o, err := b.c.getRun(ctx, id)
	if err != nil {
		return nil, err
	}
	var run record.Run
	if err := json.Unmarshal(o.Summary, &run); err != nil {
		return nil, fmt.Errorf("the run object of %s is damaged: %w", id, err)
	}
	return &run, nil
}

// answers are the run's votes, in the order the API server created them
// (votes are never updated: a vote's resourceVersion is the revision of
// its creation). Answers an older pipectl kept in one Secret per run
// (answers.<run>) come first, for a finished run only (finished): no
// gate counts an answer that is not a vote. A vote for another run or
// environment than its labels say is not the run's; one older than the
// policy's last change is not trusted (trusted).
func (b *Backend) answers(ctx context.Context, run *record.Run) ([]record.Answer, error) {
	var out []record.Answer
	if finished(run.Status) {
		legacy, err := b.legacyAnswers(ctx, run.ID)
		if err != nil {
			return nil, err
		}
		out = legacy
	}
	sel := labelManaged + "=" + managedBy + "," + labelKind + "=" + kindVote + "," + labelRun + "=" + labelValue(run.ID)
	list, err := b.c.core.ConfigMaps(b.c.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, b.explain(err)
	}
	since, err := b.c.checkPolicy(ctx) // after the list: every vote listed was created before
	if err != nil {
		return nil, err
	}
	votes := list.Items
	slices.SortStableFunc(votes, func(x, y corev1.ConfigMap) int { return compareVersions(x.ResourceVersion, y.ResourceVersion) })
	for _, v := range votes {
		if v.Data[voteRun] != run.ID || v.Data[voteEnvironment] != approvalName(run) || !trusted(&v, since) {
			continue
		}
		if f, _ := strconv.Atoi(v.Data[voteFormatKey]); f > VoteFormat {
			return nil, fmt.Errorf("the vote %s is of format %d, newer than this pipectl reads (%d): upgrade pipectl", v.Name, f, VoteFormat)
		}
		var a record.Answer
		if err := json.Unmarshal([]byte(v.Data[voteAnswer]), &a); err != nil {
			return nil, fmt.Errorf("the vote %s is damaged: %w", v.Name, err)
		}
		// What the policy checked, not what the JSON beside it says.
		a.User, a.Authenticated = v.Data[voteApprover], true
		a.Groups = nil
		if g := v.Data[voteGroups]; g != "" {
			a.Groups = strings.Split(g, ",")
		}
		out = append(out, a)
	}
	return out, nil
}

// finished: the run ended and no gate of it reads answers again. Only
// such a run shows the answers of an older pipectl (legacyAnswers): they
// are a Secret whoever holds the pipectl-runner Role may write, which no
// admission policy checks, so a running run, a parked one (its resume
// counts its answers) or a status this pipectl does not know never
// reads them.
func finished(s v1.Status) bool {
	switch s {
	case v1.StatusSucceeded, v1.StatusFailed, v1.StatusCancelled:
		return true
	}
	return false
}

// compareVersions orders resourceVersions: etcd revisions, compared as
// numbers when they are.
func compareVersions(x, y string) int {
	a, errA := strconv.ParseUint(x, 10, 64)
	c, errC := strconv.ParseUint(y, 10, 64)
	if errA != nil || errC != nil {
		return strings.Compare(x, y)
	}
	switch {
	case a < c:
		return -1
	case a > c:
		return 1
	}
	return 0
}
