package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/package-url/packageurl-go"
	"github.com/zclconf/go-cty/cty"
)

// Severities in trivy's order, most severe first.
var severityOrder = []string{"CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"}

func validSeverity(s string) bool { return slices.Contains(severityOrder, s) }

func severityRank(s string) int {
	if i := slices.Index(severityOrder, s); i >= 0 {
		return i
	}
	return len(severityOrder)
}

// finding is one result of any scan, in the plugin's own terms.
type finding struct {
	ID       string // CVE-2025-9230, KSV-0017, aws-access-key-id
	Severity string
	Title    string
	Target   string // the image, or the file

	// Vulnerabilities.
	Package, Installed, Fixed string
	PURL                      string // the package URL
	// Misconfigurations in rendered manifests: the Kubernetes resource.
	Kind, Name string
	// Misconfigurations and secrets.
	Line                int
	Message, Resolution string
	Category            string

	aliases []string // other ids an ignore entry may use (AVD-KSV-0017)
	// paths an ignore entry's paths match, as trivy's: the file of the
	// result, and a package's path in the image.
	paths []string
}

// ignoreEntry is one accepted risk: a finding id, where, why, and until
// when. paths and purls mean what they mean in trivy's ignore file
// (.trivyignore.yaml); kind and name are pipectl's, for rendered
// Kubernetes resources, whose file names are template names.
type ignoreEntry struct {
	ID      string   `cty:"id"`
	Reason  string   `cty:"reason"`
	Expires string   `cty:"expires"`
	Paths   []string `cty:"paths"`
	PURLs   []string `cty:"purls"`
	Kind    string   `cty:"kind"`
	Name    string   `cty:"name"`
}

var ignoreType = cty.List(cty.ObjectWithOptionalAttrs(map[string]cty.Type{
	"id": cty.String, "reason": cty.String, "expires": cty.String,
	"paths": cty.List(cty.String), "purls": cty.List(cty.String), "kind": cty.String, "name": cty.String,
}, []string{"paths", "purls", "kind", "name"}))

const ignoreDescription = `Accepted findings: a list of { id = "CVE-2025-9230", reason = "why it is acceptable", expires = "2026-12-31" }. ` +
	"An entry ignores the finding with that id through its expiry date (UTC, inclusive); once expired it stops ignoring, and the step says so. " +
	"Optional, as in trivy's ignore file: paths (glob patterns, ** included) the finding's file must match, and for vulnerabilities " +
	`purls (package URLs, "pkg:golang/golang.org/x/net@v0.30.0"; without a version, every version). ` +
	`pipectl's own addition: kind and name, the Kubernetes resource a misconfiguration is in (kind = "Deployment", name = "web").`

// expiry parses an entry's date: a day (ignored through its end, UTC) or
// an RFC 3339 time.
func (e ignoreEntry) expiry() (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, e.Expires); err == nil {
		return t.Add(24 * time.Hour), nil
	}
	if t, err := time.Parse(time.RFC3339, e.Expires); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("expires %q is not a date: use YYYY-MM-DD (such as \"2026-12-31\")", e.Expires)
}

func (e ignoreEntry) matches(f finding) bool {
	id := strings.EqualFold(e.ID, f.ID) || slices.ContainsFunc(f.aliases, func(a string) bool { return strings.EqualFold(e.ID, a) })
	return id && e.matchesPath(f) && e.matchesPURL(f) &&
		(e.Kind == "" || strings.EqualFold(e.Kind, f.Kind)) && (e.Name == "" || e.Name == f.Name)
}

// scope says where an entry applies, for plans: "" for everywhere.
func (e ignoreEntry) scope() string {
	var parts []string
	if e.Kind != "" || e.Name != "" {
		parts = append(parts, "in "+strings.Trim(e.Kind+"/"+e.Name, "/"))
	}
	if len(e.Paths) > 0 {
		parts = append(parts, "at "+strings.Join(e.Paths, ", "))
	}
	if len(e.PURLs) > 0 {
		parts = append(parts, "for "+strings.Join(e.PURLs, ", "))
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " ")
}

// matchesPath is trivy's: any pattern matching the finding's file (or,
// for a vulnerability, its package's path).
func (e ignoreEntry) matchesPath(f finding) bool {
	if len(e.Paths) == 0 {
		return true
	}
	for _, p := range e.Paths {
		for _, path := range f.paths {
			if ok, _ := doublestar.Match(p, path); ok && path != "" {
				return true
			}
		}
	}
	return false
}

// matchesPURL is trivy's: type, namespace and name equal, version and
// subpath when the entry gives them, and the entry's qualifiers present.
// A finding without a package URL is not told apart, as in trivy.
func (e ignoreEntry) matchesPURL(f finding) bool {
	if len(e.PURLs) == 0 || f.PURL == "" {
		return true
	}
	target, err := packageurl.FromString(f.PURL)
	if err != nil {
		return true
	}
	for _, s := range e.PURLs {
		p, err := packageurl.FromString(s)
		if err != nil || p.Type != target.Type || p.Namespace != target.Namespace || p.Name != target.Name ||
			(p.Version != "" && p.Version != target.Version) || (p.Subpath != "" && p.Subpath != target.Subpath) {
			continue
		}
		have := target.Qualifiers.Map()
		if !slices.ContainsFunc(p.Qualifiers, func(q packageurl.Qualifier) bool { return have[q.Key] != q.Value }) {
			return true
		}
	}
	return false
}

// validateIgnores checks each entry: an id, a reason, a date.
func validateIgnores(entries []ignoreEntry) []string {
	var problems []string
	for i, e := range entries {
		switch {
		case strings.TrimSpace(e.ID) == "":
			problems = append(problems, fmt.Sprintf("ignore[%d]: id is empty: give the finding's id, such as \"CVE-2025-9230\"", i))
		case strings.TrimSpace(e.Reason) == "":
			problems = append(problems, fmt.Sprintf("ignore[%d] (%s): reason is empty: say why the risk is accepted", i, e.ID))
		}
		if _, err := e.expiry(); err != nil {
			problems = append(problems, fmt.Sprintf("ignore[%d] (%s): %v", i, e.ID, err))
		}
		for _, p := range e.Paths {
			if !doublestar.ValidatePattern(p) {
				problems = append(problems, fmt.Sprintf("ignore[%d] (%s): paths: %q is not a valid glob pattern", i, e.ID, p))
			}
		}
		for _, p := range e.PURLs {
			if _, err := packageurl.FromString(p); err != nil {
				problems = append(problems, fmt.Sprintf("ignore[%d] (%s): purls: %q is not a package URL (%v): write it as trivy's report does, such as \"pkg:npm/lodash@4.17.20\"", i, e.ID, p, err))
			}
		}
	}
	return problems
}

// ignored is a finding an entry set aside.
type ignored struct {
	finding
	Entry ignoreEntry
}

// verdict is the gate's decision over a scan's findings.
type verdict struct {
	Gate     []string  // severities that fail
	Findings []finding // not ignored, most severe first
	Blocking []finding // the findings that fail the gate
	Ignored  []ignored
	Expired  []ignoreEntry // entries past their date that matched a finding
	Counts   map[string]int
}

func (v *verdict) Passed() bool { return len(v.Blocking) == 0 }

// judge applies the ignore entries (as of now) and the gate.
func judge(all []finding, gate []string, entries []ignoreEntry, now time.Time) *verdict {
	v := &verdict{Gate: gate, Counts: map[string]int{}}
	for _, s := range severityOrder {
		v.Counts[s] = 0
	}
	expired := map[string]bool{}
	for _, f := range all {
		entry, active := matchIgnore(f, entries, now)
		if entry != nil && active {
			v.Ignored = append(v.Ignored, ignored{finding: f, Entry: *entry})
			continue
		}
		if entry != nil && !expired[entry.ID] {
			expired[entry.ID] = true
			v.Expired = append(v.Expired, *entry)
		}
		v.Findings = append(v.Findings, f)
		v.Counts[f.Severity]++
		if slices.Contains(gate, f.Severity) {
			v.Blocking = append(v.Blocking, f)
		}
	}
	sortFindings(v.Findings)
	sortFindings(v.Blocking)
	return v
}

// matchIgnore finds the entry for f; an active one wins over an expired one.
func matchIgnore(f finding, entries []ignoreEntry, now time.Time) (*ignoreEntry, bool) {
	var expired *ignoreEntry
	for i := range entries {
		e := &entries[i]
		if !e.matches(f) {
			continue
		}
		until, err := e.expiry()
		if err == nil && now.Before(until) {
			return e, true
		}
		expired = e
	}
	return expired, false
}

func sortFindings(fs []finding) {
	slices.SortStableFunc(fs, func(a, b finding) int {
		if d := severityRank(a.Severity) - severityRank(b.Severity); d != 0 {
			return d
		}
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		if c := strings.Compare(a.Target, b.Target); c != 0 {
			return c
		}
		return strings.Compare(a.Package, b.Package)
	})
}

// countsValue is the counts output: a number per severity.
func countsValue(counts map[string]int) cty.Value {
	m := make(map[string]cty.Value, len(severityOrder))
	for _, s := range severityOrder {
		m[s] = cty.NumberIntVal(int64(counts[s]))
	}
	return cty.MapVal(m)
}

// expiredMessages say, for each expired entry, that it no longer ignores.
func expiredMessages(v *verdict) []string {
	var out []string
	for _, e := range v.Expired {
		out = append(out, fmt.Sprintf("ignore entry for %s expired on %s (reason was: %s): it no longer ignores %s",
			e.ID, e.Expires, e.Reason, e.ID))
	}
	return out
}
