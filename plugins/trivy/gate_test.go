package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
)

// The gate's logic on its own; the end-to-end tests (main_test.go) run it
// through the real plugin and the real trivy.
func TestJudgeIgnoresUntilExpiry(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	all := []finding{
		{ID: "CVE-1", Severity: "HIGH", Target: "img"},
		{ID: "CVE-2", Severity: "CRITICAL", Target: "img"},
		{ID: "CVE-3", Severity: "LOW", Target: "img"},
		{ID: "KSV-0017", Severity: "HIGH", Target: "a.yaml", aliases: []string{"AVD-KSV-0017"}},
	}
	entries := []ignoreEntry{
		{ID: "CVE-1", Reason: "not reachable", Expires: "2026-11-29"}, // through the end of today
		{ID: "CVE-2", Reason: "was fine once", Expires: "2026-11-28"}, // expired yesterday
		{ID: "avd-ksv-0017", Reason: "by AVD id", Expires: "2027-01-01T00:00:00Z"},
	}
	v := judge(all, []string{"CRITICAL", "HIGH"}, entries, now)
	if v.Passed() || len(v.Blocking) != 1 || v.Blocking[0].ID != "CVE-2" {
		t.Fatalf("blocking %+v", v.Blocking)
	}
	if len(v.Ignored) != 2 || v.Ignored[0].ID != "CVE-1" || v.Ignored[1].ID != "KSV-0017" {
		t.Errorf("ignored %+v", v.Ignored)
	}
	if len(v.Expired) != 1 || v.Expired[0].ID != "CVE-2" {
		t.Errorf("expired %+v", v.Expired)
	}
	if v.Counts["CRITICAL"] != 1 || v.Counts["HIGH"] != 0 || v.Counts["LOW"] != 1 {
		t.Errorf("counts %v", v.Counts)
	}
	if msg := expiredMessages(v); len(msg) != 1 || !strings.Contains(msg[0], "expired on 2026-11-28") {
		t.Errorf("expired messages %q", msg)
	}
	if v := judge(all, []string{"CRITICAL", "HIGH"}, entries, now.Add(24*time.Hour)); len(v.Ignored) != 1 {
		t.Errorf("a day later CVE-1's entry still ignores: %+v", v.Ignored)
	}
}

func TestValidateIgnores(t *testing.T) {
	problems := validateIgnores([]ignoreEntry{
		{ID: "", Reason: "r", Expires: "2026-01-01"},
		{ID: "CVE-1", Reason: " ", Expires: "2026-01-01"},
		{ID: "CVE-2", Reason: "r", Expires: "next year"},
		{ID: "CVE-3", Reason: "r", Expires: "2026-12-31"},
	})
	want := []string{"ignore[0]: id is empty", "ignore[1] (CVE-1): reason is empty", `ignore[2] (CVE-2): expires "next year" is not a date`}
	if len(problems) != len(want) {
		t.Fatalf("problems %q", problems)
	}
	for i, w := range want {
		if !strings.HasPrefix(problems[i], w) {
			t.Errorf("problem %d: %q, want prefix %q", i, problems[i], w)
		}
	}
}

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "36h": 36 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := parseAge(in); err != nil || got != want {
			t.Errorf("parseAge(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "0d", "-1h", "a week", "1.5d"} {
		if _, err := parseAge(bad); err == nil {
			t.Errorf("parseAge(%q) accepted", bad)
		}
	}
}

func TestWithoutSecretValues(t *testing.T) {
	raw := `{"SchemaVersion":2,"Results":[{"Target":"a.env","Secrets":[{"RuleID":"aws-access-key-id","StartLine":2,
		"Match":"AWS_ACCESS_KEY_ID=********************","Code":{"Lines":[{"Content":"KEY=AKIAQWERTYUIOPASDFGH"}]}}]}]}`
	out, err := withoutSecretValues([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(out); strings.Contains(s, "AKIA") || strings.Contains(s, "Match") || !strings.Contains(s, "aws-access-key-id") {
		t.Errorf("cleaned report:\n%s", s)
	}
}

// The tools module pins the trivy the plugin says it needs.
func TestToolModulePinsTheTrivyVersion(t *testing.T) {
	data, err := os.ReadFile("tool/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse("tool/go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Require {
		if r.Mod.Path == "github.com/aquasecurity/trivy" {
			if r.Mod.Version != "v"+PinnedTrivyVersion {
				t.Fatalf("tool/go.mod requires trivy %s; PinnedTrivyVersion is %s", r.Mod.Version, PinnedTrivyVersion)
			}
			return
		}
	}
	t.Fatal("tool/go.mod does not require github.com/aquasecurity/trivy")
}

func TestCheckAliases(t *testing.T) {
	got := strings.Join(checkAliases("KSV-0017", ""), ",")
	if got != "AVD-KSV-0017,KSV017" {
		t.Errorf("aliases %s", got)
	}
}

// paths and purls as trivy's ignore file means them; kind and name for
// the Kubernetes resource of a misconfiguration in rendered manifests.
func TestIgnoreEntriesScope(t *testing.T) {
	own := finding{ID: "KSV-0017", Severity: "HIGH", Target: "app/templates/deploy.yaml", Kind: "Deployment", Name: "web",
		paths: []string{"app/templates/deploy.yaml"}}
	dep := finding{ID: "KSV-0017", Severity: "HIGH", Target: "app/charts/redis/templates/deploy.yaml", Kind: "Deployment", Name: "redis",
		paths: []string{"app/charts/redis/templates/deploy.yaml"}}
	vuln := finding{ID: "CVE-9", Severity: "HIGH", Target: "img", PURL: "pkg:golang/golang.org/x/net@v0.30.0?arch=amd64",
		paths: []string{"usr/local/bin/app", "usr/local/bin/app"}}
	cases := []struct {
		entry ignoreEntry
		want  []bool // own, dep, vuln ignored
	}{
		{ignoreEntry{ID: "KSV-0017", Kind: "deployment", Name: "redis"}, []bool{false, true, false}},
		{ignoreEntry{ID: "KSV-0017", Paths: []string{"app/charts/**"}}, []bool{false, true, false}},
		{ignoreEntry{ID: "KSV-0017", Paths: []string{"**/deploy.yaml"}}, []bool{true, true, false}},
		{ignoreEntry{ID: "KSV-0017"}, []bool{true, true, false}},
		{ignoreEntry{ID: "CVE-9", PURLs: []string{"pkg:golang/golang.org/x/net"}}, []bool{false, false, true}},
		{ignoreEntry{ID: "CVE-9", PURLs: []string{"pkg:golang/golang.org/x/net@v0.31.0"}}, []bool{false, false, false}},
		{ignoreEntry{ID: "CVE-9", PURLs: []string{"pkg:golang/golang.org/x/net@v0.30.0?arch=arm64"}}, []bool{false, false, false}},
		{ignoreEntry{ID: "CVE-9", Paths: []string{"usr/local/bin/*"}}, []bool{false, false, true}},
		{ignoreEntry{ID: "CVE-9", Paths: []string{"usr/lib/**"}}, []bool{false, false, false}},
	}
	for _, c := range cases {
		for i, f := range []finding{own, dep, vuln} {
			if got := c.entry.matches(f); got != c.want[i] {
				t.Errorf("%+v matches %s in %s/%s (%s): %v, want %v", c.entry, f.ID, f.Kind, f.Name, f.Target, got, c.want[i])
			}
		}
	}
	bad := validateIgnores([]ignoreEntry{{ID: "X", Reason: "r", Expires: "2099-01-01", Paths: []string{"a/[b"}, PURLs: []string{"golang.org/x/net"}}})
	if len(bad) != 2 {
		t.Errorf("an invalid glob and a purl without pkg: accepted: %q", bad)
	}
}

func TestResourceAt(t *testing.T) {
	text := "---\n# Source: a.yaml\nkind: Service\nmetadata:\n  name: web\n---\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n"
	for line, want := range map[int]string{3: "Service/web", 5: "Service/web", 7: "Deployment/web", 11: "Deployment/web"} {
		if kind, name := resourceAt(text, line); kind+"/"+name != want {
			t.Errorf("line %d: %s/%s, want %s", line, kind, name, want)
		}
	}
}
