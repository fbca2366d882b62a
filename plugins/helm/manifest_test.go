package main

import (
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cli-utils/pkg/object"
)

const deployed = `---
# Source: app/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  a: "1"
  b: "2"
  c: "3"
  d: "4"
  e: "5"
  f: "6"
  g: "7"
---
# Source: app/templates/secret.yaml
apiVersion: v1
kind: Secret
metadata:
  name: creds
data:
  password: c2VjcmV0LW9uZQ==
  user: YWRtaW4=
---
# Source: app/templates/old.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: old
`

const proposed = `---
# Source: app/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  a: "1"
  b: "2"
  c: "3"
  d: "changed"
  e: "5"
  f: "6"
  g: "7"
---
# Source: app/templates/secret.yaml
apiVersion: v1
kind: Secret
metadata:
  name: creds
data:
  password: c2VjcmV0LXR3bw==
  user: YWRtaW4=
---
# Source: app/templates/new.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: other
spec:
  replicas: 1
`

// The diff shows changed lines with context only, masks Secret values
// (marking the changed ones), and whole added and removed objects.
func TestDiffManifests(t *testing.T) {
	d, err := diffManifests(deployed, proposed, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if d.Added != 1 || d.Changed != 2 || d.Removed != 1 || d.Unchanged != 0 {
		t.Fatalf("counts %+v\n%s", d, d.Text)
	}
	for _, want := range []string{
		"~ ConfigMap/settings (shop) will be changed", `-  d: "4"`, `+  d: changed`,
		"~ Secret/creds (shop) will be changed", "-  password: (sensitive value)", "+  password: (sensitive value, changed)",
		"+ Deployment/web (other) will be created", "    + kind: Deployment",
		"- ServiceAccount/old (shop) will be deleted", "    - kind: ServiceAccount",
	} {
		if !strings.Contains(d.Text, want) {
			t.Errorf("%q not in the diff:\n%s", want, d.Text)
		}
	}
	for _, leak := range []string{"c2VjcmV0", "YWRtaW4", "name: settings", "user: (sensitive value, changed)"} {
		if strings.Contains(d.Text, leak) {
			t.Errorf("the diff shows %q:\n%s", leak, d.Text)
		}
	}
	same, err := diffManifests(deployed, deployed, "shop")
	if err != nil || !same.empty() || same.Unchanged != 3 {
		t.Fatalf("identical manifests: %v %+v", err, same)
	}
}

func TestMaskManifest(t *testing.T) {
	out := maskManifest(deployed, "shop")
	if strings.Contains(out, "c2VjcmV0") || strings.Contains(out, "YWRtaW4") || !strings.Contains(out, "password: (sensitive value)") {
		t.Fatalf("masked:\n%s", out)
	}
}

func TestLastGood(t *testing.T) {
	rel := func(v int, s release.Status) *release.Release {
		return &release.Release{Version: v, Info: &release.Info{Status: s}}
	}
	revs := []*release.Release{rel(1, release.StatusSuperseded), rel(2, release.StatusFailed), rel(3, release.StatusDeployed), rel(4, release.StatusFailed)}
	if g := lastGood(revs); g == nil || g.Version != 3 {
		t.Fatalf("last good %+v", g)
	}
	if g := lastGood(revs[:3]); g == nil || g.Version != 1 {
		t.Fatalf("before a deployed newest, the last good is the one before: %+v", g)
	}
	if g := lastGood(revs[:1]); g != nil {
		t.Fatalf("a single revision has no last good: %+v", g)
	}
}

func TestPodProblem(t *testing.T) {
	unschedulable := &corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available: 1 Insufficient cpu."}}}}
	if r, m := podProblemOf(unschedulable); r != "Unschedulable" || !strings.Contains(m, "Insufficient cpu") {
		t.Fatalf("%q %q", r, m)
	}
	backoff := &corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "app",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}}}}}}
	if r, m := podProblemOf(backoff); r != "ImagePullBackOff" || m != "container app: Back-off pulling image" {
		t.Fatalf("%q %q", r, m)
	}
	starting := &corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "app",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}}}
	if r, _ := podProblemOf(starting); r != "" {
		t.Fatalf("a starting pod is not a problem: %q", r)
	}
}

func TestSetValuesKeepIntegers(t *testing.T) {
	v, err := setValues(obj(map[string]any{"replicaCount": 3, "ratio": 0.5, "image": obj(map[string]any{"tag": "1.2"})}))
	if err != nil {
		t.Fatal(err)
	}
	if v["replicaCount"] != int64(3) || v["ratio"] != 0.5 || v["image"].(map[string]any)["tag"] != "1.2" {
		t.Fatalf("%#v", v)
	}
	merged := mergeMaps(map[string]any{"image": map[string]any{"repo": "r", "tag": "old"}, "x": 1}, v)
	if merged["image"].(map[string]any)["repo"] != "r" || merged["image"].(map[string]any)["tag"] != "1.2" || merged["x"] != 1 {
		t.Fatalf("merge %#v", merged)
	}
}

// logEvents keeps what an action logs (the wait's own unit tests).
type logEvents struct{ lines []string }

func (e *logEvents) Log(_, line string)              { e.lines = append(e.lines, line) }
func (e *logEvents) Progress(float64, string)        {}
func (e *logEvents) Artifact(string, string, []byte) {}

// The kubelet alternates ErrImagePull and ImagePullBackOff as it retries,
// and a crash-looping container runs between its back-offs: the wait's
// clock starts at the first sign of either and keeps running, so such a
// pod fails the wait one grace after it first failed, not never. A crash
// loop clears once the pod is Ready; deletion clears any problem. (The
// flagship's real-pod tests check the same on a real kubelet.)
func TestPodProblemClockKeepsRunning(t *testing.T) {
	rw := &rolloutWatch{w: &watchingClient{events: &logEvents{}}, problems: map[string]*podProblem{},
		objects: []object.ObjMetadata{{Name: "not-ready-yet"}}}
	waiting := func(reason, msg string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Status: corev1.PodStatus{
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", RestartCount: 2,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}}}}
	}
	running := func(ready bool) *corev1.Pod {
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Status: corev1.PodStatus{
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: st}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}}
	}
	long := time.Now().Add(-time.Minute)
	for _, tc := range []struct {
		name  string
		pods  []*corev1.Pod
		stuck bool   // a minute after the first pod: past the grace
		want  string // the stuck problem, as the wait's error names it
	}{
		{"image", []*corev1.Pod{waiting("ErrImagePull", "x: not found"), waiting("ImagePullBackOff", "Back-off pulling image"), waiting("ErrImagePull", "x: not found")},
			true, "ErrImagePull: container app: x: not found"},
		{"image back-off", []*corev1.Pod{waiting("ErrImagePull", "x: not found"), waiting("ImagePullBackOff", "Back-off")},
			true, "ImagePullBackOff: container app: Back-off; first ErrImagePull: container app: x: not found"},
		{"crash loop", []*corev1.Pod{waiting("CrashLoopBackOff", "back-off 10s"), running(false), waiting("CrashLoopBackOff", "back-off 20s")},
			true, "CrashLoopBackOff: container app: back-off 20s; first CrashLoopBackOff: container app: back-off 10s"},
		{"crash loop between back-offs", []*corev1.Pod{waiting("CrashLoopBackOff", "back-off 10s"), running(false)},
			true, "CrashLoopBackOff: container app: back-off 10s"},
		{"crashed once, then Ready", []*corev1.Pod{waiting("CrashLoopBackOff", "back-off 10s"), running(true)}, false, ""},
		{"image pulled", []*corev1.Pod{waiting("ErrImagePull", "x"), running(false)}, false, ""},
	} {
		clear(rw.problems)
		for i, pod := range tc.pods {
			rw.podChanged(pod)
			if p := rw.problems["ns/p"]; i == 0 && p != nil {
				p.since = long
			}
		}
		p := rw.stuckPod(30 * time.Second)
		if (p != nil) != tc.stuck || (p != nil && p.String() != tc.want) {
			t.Errorf("%s: stuck %v, want %v %q", tc.name, p, tc.stuck, tc.want)
		}
	}
}
