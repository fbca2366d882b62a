package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// trivyReport is the part of trivy's JSON report (SchemaVersion 2) the
// plugin reads. The CLI flags and this format are the contract with trivy.
type trivyReport struct {
	SchemaVersion int
	ArtifactName  string
	ArtifactType  string
	Metadata      struct {
		ImageID     string
		RepoDigests []string
		OS          *struct {
			Family, Name string
			EOSL         bool
		}
	}
	Results []trivyResult
}

type trivyResult struct {
	Target            string
	Class             string
	Type              string
	Vulnerabilities   []trivyVuln
	Misconfigurations []trivyMisconf
	Secrets           []trivySecret
}

type trivyVuln struct {
	VulnerabilityID  string
	PkgName          string
	PkgPath          string
	PkgIdentifier    struct{ PURL string }
	InstalledVersion string
	FixedVersion     string
	Severity         string
	Title            string
}

type trivyMisconf struct {
	ID, AVDID, Title, Message, Resolution, Severity, Status string
	CauseMetadata                                           struct {
		StartLine, EndLine int
	}
}

type trivySecret struct {
	RuleID, Category, Severity, Title string
	StartLine, EndLine                int
}

func parseReport(raw []byte) (*trivyReport, error) {
	var r trivyReport
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("trivy's JSON report: %w", err)
	}
	if r.SchemaVersion != 2 {
		return nil, fmt.Errorf("trivy's JSON report has SchemaVersion %d; the plugin reads version 2", r.SchemaVersion)
	}
	return &r, nil
}

func (r *trivyReport) vulnerabilities(image string) []finding {
	var out []finding
	for _, res := range r.Results {
		for _, v := range res.Vulnerabilities {
			out = append(out, finding{ID: v.VulnerabilityID, Severity: v.Severity, Title: v.Title, Target: image,
				Package: v.PkgName, Installed: v.InstalledVersion, Fixed: v.FixedVersion, PURL: v.PkgIdentifier.PURL,
				paths: []string{res.Target, v.PkgPath}})
		}
	}
	return out
}

// misconfigurations are the failed checks; file names are relative to
// the scanned directory.
func (r *trivyReport) misconfigurations() []finding {
	var out []finding
	for _, res := range r.Results {
		for _, m := range res.Misconfigurations {
			if m.Status != "FAIL" {
				continue
			}
			out = append(out, finding{ID: m.ID, Severity: m.Severity, Title: m.Title, Target: res.Target,
				Line: m.CauseMetadata.StartLine, Message: m.Message, Resolution: m.Resolution, aliases: checkAliases(m.ID, m.AVDID),
				paths: []string{res.Target}})
		}
	}
	return out
}

var checkID = regexp.MustCompile(`^([A-Z]+)-0*(\d+)$`)

// checkAliases are the other names of a check an ignore entry may use: its
// AVD id (AVD-KSV-0017) and the id of trivy releases before 0.60 (KSV017).
func checkAliases(id, avdID string) []string {
	out := []string{"AVD-" + id}
	if avdID != "" {
		out = append(out, avdID)
	}
	if m := checkID.FindStringSubmatch(id); m != nil {
		n, _ := strconv.Atoi(m[2])
		out = append(out, fmt.Sprintf("%s%03d", m[1], n))
	}
	return out
}

func (r *trivyReport) secrets() []finding {
	var out []finding
	for _, res := range r.Results {
		for _, s := range res.Secrets {
			out = append(out, finding{ID: s.RuleID, Severity: s.Severity, Title: s.Title, Target: res.Target,
				Line: s.StartLine, Category: s.Category, paths: []string{res.Target}})
		}
	}
	return out
}

// withoutSecretValues removes from a trivy JSON report every field that
// can hold a secret's text (Match, Code): trivy masks the value in them,
// but the line around it may hold more, and the report is kept as an
// artifact of the run.
func withoutSecretValues(raw []byte) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	results, _ := doc["Results"].([]any)
	for _, r := range results {
		res, _ := r.(map[string]any)
		secrets, _ := res["Secrets"].([]any)
		for _, s := range secrets {
			if sec, ok := s.(map[string]any); ok {
				delete(sec, "Match")
				delete(sec, "Code")
				delete(sec, "Offset")
			}
		}
	}
	return json.MarshalIndent(doc, "", "  ")
}

// mdCell escapes text for a Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	if s == "" {
		return "—"
	}
	return s
}
