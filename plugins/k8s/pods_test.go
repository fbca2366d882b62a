package main

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
)

// Unit tests of the words podProblems finds for the states the sandbox
// cannot produce (its pods never pull images or crash); the sandbox tests
// cover the states it does produce.
func TestPodProblems(t *testing.T) {
	notReady := []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
	cases := map[string]struct {
		status corev1.PodStatus
		want   []string
	}{
		"image pull": {corev1.PodStatus{Conditions: notReady, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image \"x\""}}}}},
			[]string{`container app: ImagePullBackOff (image pull error): Back-off pulling image "x"`}},
		"crash loop after OOM": {corev1.PodStatus{Conditions: notReady, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "app", RestartCount: 4,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}}}},
			[]string{"container app: CrashLoopBackOff (crash loop)", "container app: last terminated: OOMKilled, exit code 137 (out of memory: raise the memory limit) (restarts: 4)"}},
		"probe failing": {corev1.PodStatus{Conditions: notReady, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}},
			[]string{"container app: running but not ready (readiness probe failing)"}},
		"ready": {corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}, nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got := podProblems(&corev1.Pod{Status: c.status})
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestParseSelector(t *testing.T) {
	for _, c := range []struct {
		in   cty.Value
		want string
		err  bool
	}{
		{cty.ObjectVal(map[string]cty.Value{"app.kubernetes.io/instance": cty.StringVal("alpha")}), "app.kubernetes.io/instance=alpha", false},
		{cty.StringVal("app=web,tier in (a,b)"), "app=web,tier in (a,b)", false},
		{cty.NullVal(cty.DynamicPseudoType), "", false},
		{cty.StringVal("app in ("), "", true},
		{cty.ObjectVal(map[string]cty.Value{"app": cty.NumberIntVal(1)}), "", true},
		{cty.ObjectVal(map[string]cty.Value{"bad key!": cty.StringVal("x")}), "", true},
	} {
		sel, err := parseSelector(c.in)
		if (err != nil) != c.err || (err == nil && sel.String() != c.want) {
			t.Errorf("parseSelector(%#v) = %v, %v", c.in, sel, err)
		}
	}
}
