package main

import (
	"fmt"
	"slices"
	"strings"
)

// reportHeader is what a Markdown report says before its findings.
type reportHeader struct {
	Kind    string // image, config, secret
	Trivy   *trivyBinary
	DB      string   // "" when the scan needs no vulnerability DB
	Targets []string // what was scanned
	Notes   []string
}

var reportTitles = map[string]string{
	"image":  "Vulnerability scan",
	"config": "Misconfiguration scan",
	"secret": "Secret scan",
}

// markdownReport is the readable report of a scan: verdict, what was
// scanned with what, counts, then tables of findings.
func markdownReport(h reportHeader, v *verdict) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: %s\n\n", reportTitles[h.Kind], passFail(v.Passed()))
	for _, t := range h.Targets {
		fmt.Fprintf(&b, "- Scanned: `%s`\n", t)
	}
	fmt.Fprintf(&b, "- Scanner: trivy %s (`%s`)\n", h.Trivy.Version, h.Trivy.Path)
	if h.DB != "" {
		fmt.Fprintf(&b, "- Database: %s\n", h.DB)
	}
	fmt.Fprintf(&b, "- Gate: %s\n", gateText(v.Gate))
	for _, n := range h.Notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	b.WriteString("\n| Severity | Findings |\n|---|---|\n")
	for _, s := range severityOrder {
		fmt.Fprintf(&b, "| %s | %d |\n", s, v.Counts[s])
	}
	for _, m := range expiredMessages(v) {
		fmt.Fprintf(&b, "\n> **Expired:** %s.\n", m)
	}
	b.WriteString("\n## Findings\n\n")
	if len(v.Findings) == 0 {
		b.WriteString("None.\n")
	} else {
		writeFindingsTable(&b, h.Kind, v)
	}
	if len(v.Ignored) > 0 {
		b.WriteString("\n## Ignored\n\n| ID | Where | Reason | Until |\n|---|---|---|---|\n")
		for _, f := range v.Ignored {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdCell(f.ID), mdCell(where(f.finding)), mdCell(f.Entry.Reason), mdCell(f.Entry.Expires))
		}
	}
	return b.String()
}

func writeFindingsTable(b *strings.Builder, kind string, v *verdict) {
	gate := func(f finding) string {
		if slices.Contains(v.Gate, f.Severity) {
			return f.Severity + " (fails)"
		}
		return f.Severity
	}
	switch kind {
	case "image":
		b.WriteString("| Severity | ID | Package | Installed | Fixed | Image | Title |\n|---|---|---|---|---|---|---|\n")
		for _, f := range v.Findings {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", gate(f), mdCell(f.ID), mdCell(f.Package),
				mdCell(f.Installed), mdCell(f.Fixed), mdCell(f.Target), mdCell(f.Title))
		}
	case "config":
		b.WriteString("| Severity | Check | File | Line | Title | Message | Resolution |\n|---|---|---|---|---|---|---|\n")
		for _, f := range v.Findings {
			fmt.Fprintf(b, "| %s | %s | %s | %d | %s | %s | %s |\n", gate(f), mdCell(f.ID), mdCell(f.Target), f.Line,
				mdCell(f.Title), mdCell(f.Message), mdCell(f.Resolution))
		}
	default:
		b.WriteString("| Severity | Rule | Category | File | Line | Title |\n|---|---|---|---|---|---|\n")
		for _, f := range v.Findings {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %d | %s |\n", gate(f), mdCell(f.ID), mdCell(f.Category), mdCell(f.Target), f.Line, mdCell(f.Title))
		}
	}
}

func where(f finding) string {
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d", f.Target, f.Line)
	}
	if f.Package != "" {
		return f.Package + " in " + f.Target
	}
	return f.Target
}
