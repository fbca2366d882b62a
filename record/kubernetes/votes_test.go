package kubernetes

import (
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The votes' policy changes when its spec or metadata is written, not
// when the API server records its type checking in its status: a vote
// written between the two is trusted.
func TestLastChangeIgnoresStatusWrites(t *testing.T) {
	at := func(s int) *metav1.Time { v := metav1.NewTime(time.Unix(1_800_000_000+int64(s), 0)); return &v }
	policy := metav1.ObjectMeta{CreationTimestamp: *at(0), ManagedFields: []metav1.ManagedFieldsEntry{
		{Manager: "pipectl", Operation: metav1.ManagedFieldsOperationUpdate, Time: at(5)},
		{Manager: "validatingadmissionpolicy-status-controller", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status", Time: at(9)},
	}}
	binding := metav1.ObjectMeta{CreationTimestamp: *at(2)}
	if got, want := lastChange(&policy, &binding), at(5).Time; !got.Equal(want) {
		t.Errorf("lastChange = %v, want %v: the spec's last write, not the status controller's", got, want)
	}
}

// The votes' policy and binding count as set up only as setup makes them,
// with the API server's defaults: whatever narrows what they match would
// leave votes unchecked.
func TestPolicyAsSetUp(t *testing.T) {
	defaulted := func() (*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding) {
		p, b := votePolicy(), votePolicyBinding()
		equivalent, all := admissionv1.Equivalent, admissionv1.AllScopes
		m := p.Spec.MatchConstraints
		m.MatchPolicy, m.NamespaceSelector = &equivalent, &metav1.LabelSelector{}
		m.ResourceRules[0].Scope = &all
		m.ResourceRules[0].Operations = []admissionv1.OperationType{admissionv1.Delete, admissionv1.Create, admissionv1.Update}
		b.Spec.MatchResources = &admissionv1.MatchResources{MatchPolicy: &equivalent, NamespaceSelector: &metav1.LabelSelector{}, ObjectSelector: &metav1.LabelSelector{}}
		return p, b
	}
	if p, b := defaulted(); notAsSetUp(p, b) != "" {
		t.Fatalf("setup's policy as the API server defaults it: %s", notAsSetUp(p, b))
	}
	if notAsSetUp(votePolicy(), votePolicyBinding()) != "" {
		t.Fatalf("setup's policy: %s", notAsSetUp(votePolicy(), votePolicyBinding()))
	}
	other := &metav1.LabelSelector{MatchLabels: map[string]string{"team": "none"}}
	exact := admissionv1.Exact
	for name, change := range map[string]func(*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding){
		"policy namespaceSelector": func(p *admissionv1.ValidatingAdmissionPolicy, _ *admissionv1.ValidatingAdmissionPolicyBinding) {
			p.Spec.MatchConstraints.NamespaceSelector = other
		},
		"policy objectSelector": func(p *admissionv1.ValidatingAdmissionPolicy, _ *admissionv1.ValidatingAdmissionPolicyBinding) {
			p.Spec.MatchConstraints.ObjectSelector.MatchLabels["team"] = "none"
		},
		"policy matchPolicy Exact": func(p *admissionv1.ValidatingAdmissionPolicy, _ *admissionv1.ValidatingAdmissionPolicyBinding) {
			p.Spec.MatchConstraints.MatchPolicy = &exact
		},
		"policy without DELETE": func(p *admissionv1.ValidatingAdmissionPolicy, _ *admissionv1.ValidatingAdmissionPolicyBinding) {
			p.Spec.MatchConstraints.ResourceRules[0].Operations = []admissionv1.OperationType{admissionv1.Create, admissionv1.Update}
		},
		"policy resourceNames": func(p *admissionv1.ValidatingAdmissionPolicy, _ *admissionv1.ValidatingAdmissionPolicyBinding) {
			p.Spec.MatchConstraints.ResourceRules[0].ResourceNames = []string{"vote.x"}
		},
		"policy excludeResourceRules": func(p *admissionv1.ValidatingAdmissionPolicy, _ *admissionv1.ValidatingAdmissionPolicyBinding) {
			p.Spec.MatchConstraints.ExcludeResourceRules = p.Spec.MatchConstraints.ResourceRules
		},
		"policy matchConditions": func(p *admissionv1.ValidatingAdmissionPolicy, _ *admissionv1.ValidatingAdmissionPolicyBinding) {
			p.Spec.MatchConditions = []admissionv1.MatchCondition{{Name: "never", Expression: "false"}}
		},
		"binding namespaceSelector": func(_ *admissionv1.ValidatingAdmissionPolicy, b *admissionv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.MatchResources.NamespaceSelector = other
		},
		"binding objectSelector": func(_ *admissionv1.ValidatingAdmissionPolicy, b *admissionv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.MatchResources.ObjectSelector = other
		},
		"binding resourceRules": func(p *admissionv1.ValidatingAdmissionPolicy, b *admissionv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.MatchResources.ResourceRules = []admissionv1.NamedRuleWithOperations{{RuleWithOperations: admissionv1.RuleWithOperations{
				Operations: []admissionv1.OperationType{admissionv1.Delete},
				Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}}}
		},
		"binding excludeResourceRules": func(p *admissionv1.ValidatingAdmissionPolicy, b *admissionv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.MatchResources.ExcludeResourceRules = p.Spec.MatchConstraints.ResourceRules
		},
		"binding Warn only": func(_ *admissionv1.ValidatingAdmissionPolicy, b *admissionv1.ValidatingAdmissionPolicyBinding) {
			b.Spec.ValidationActions = []admissionv1.ValidationAction{admissionv1.Warn}
		},
	} {
		p, b := defaulted()
		change(p, b)
		if notAsSetUp(p, b) == "" {
			t.Errorf("%s: counted as set up", name)
		}
	}
}
