package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/zclconf/go-cty/cty"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/pipectl/pipectl/sdk"
	"github.com/pipectl/pipectl/sdk/redact"
)

func attr(name string) cty.Path { return cty.GetAttrPath(name) }

// defaultTimeout is Helm's: used when the step has no timeout.
const defaultTimeout = 5 * time.Minute

// helmTimeout is how long Helm may wait (hooks, readiness). pipectl's step
// `timeout` (a meta-argument) arrives as the context's deadline; Helm gets
// four fifths of the time left (all but at most a minute), so an atomic
// rollback and the report of what was not ready fit in the step's time.
func helmTimeout(ctx context.Context) time.Duration {
	deadline, ok := ctx.Deadline()
	if !ok {
		return defaultTimeout
	}
	left := time.Until(deadline)
	left -= min(left/5, time.Minute)
	return max(left, time.Second)
}

// parseDuration reads an optional duration attribute.
func parseDuration(d *sdk.Diagnostics, name, s string, def time.Duration) time.Duration {
	if s == "" {
		return def
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		d.AddAttributeError(attr(name), fmt.Sprintf("Invalid %s %q", name, s), `Use a duration such as "10s", "2m" or "1m30s".`)
		return def
	}
	return v
}

// lastRelease is the newest revision of a release, or nil when there is
// none (never installed, or uninstalled without history).
func lastRelease(cfg *action.Configuration, name string) (*release.Release, error) {
	rel, err := cfg.Releases.Last(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading release %s: %w", name, err)
	}
	return rel, nil
}

// history is every revision of a release, oldest first.
func history(cfg *action.Configuration, name string) ([]*release.Release, error) {
	revs, err := cfg.Releases.History(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the history of %s: %w", name, err)
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i].Version < revs[j].Version })
	return revs, nil
}

// lastGood is the newest revision before the last one that was deployed
// successfully (deployed or superseded): where a rollback goes.
func lastGood(revs []*release.Release) *release.Release {
	for i := len(revs) - 2; i >= 0; i-- {
		switch revs[i].Info.Status {
		case release.StatusDeployed, release.StatusSuperseded:
			return revs[i]
		}
	}
	return nil
}

// fingerprint is what a saved plan depends on: the release's newest
// revision and its status.
func fingerprint(rel *release.Release) string {
	if rel == nil {
		return "release: none"
	}
	return fmt.Sprintf("release: revision %d %s", rel.Version, rel.Info.Status)
}

// pendingAdvice explains a release stuck in pending-* and how to repair it.
func pendingAdvice(rel *release.Release, revs []*release.Release) (summary, detail string) {
	summary = fmt.Sprintf("Release %s is stuck in %s (revision %d)", rel.Name, rel.Info.Status, rel.Version)
	detail = "Another Helm operation is running on it, or one was interrupted (a killed process, a lost connection). "
	if good := lastGood(revs); good != nil {
		detail += fmt.Sprintf("If nothing else is deploying it, set recover_pending = true on this step to roll it back to revision %d "+
			"(the last deployed) before upgrading.", good.Version)
	} else {
		detail += "It was never deployed successfully: if nothing else is deploying it, set recover_pending = true on this step " +
			"to uninstall it (its objects are deleted) and install it again."
	}
	return summary, detail
}

func chartName(rel *release.Release) string {
	if rel == nil || rel.Chart == nil || rel.Chart.Metadata == nil {
		return ""
	}
	return rel.Chart.Metadata.Name + "-" + rel.Chart.Metadata.Version
}

func appVersion(rel *release.Release) string {
	if rel == nil || rel.Chart == nil || rel.Chart.Metadata == nil {
		return ""
	}
	return rel.Chart.Metadata.AppVersion
}

// redactor hides the config's sensitive values (cty-marked: a sensitive
// variable, a sensitive output of another step) in any text the plugin
// shows: plans, logs, outputs, diagnostics; in every form package redact
// finds (line by line, escaped, base64...).
type redactor struct{ r *redact.Replacer }

// sensitiveStrings is the redactor of a config's sensitive values, and of
// the values the previous release had at the config's sensitive `set`
// paths: a rotated secret's old value is as secret as its new one, and an
// upgrade's diff shows it on its - side.
func sensitiveStrings(config cty.Value, previous ...*release.Release) redactor {
	unmarked, marks := config.UnmarkDeepWithPaths()
	var secrets []string
	for _, pvm := range marks {
		if _, ok := pvm.Marks[sdk.Sensitive]; !ok {
			continue
		}
		if v, err := pvm.Path.Apply(unmarked); err == nil {
			secrets = appendStrings(secrets, v)
		}
		for _, rel := range previous {
			secrets = append(secrets, previousValues(rel, pvm.Path)...)
		}
	}
	return redactor{redact.New(secrets...).Replacer(func(string) string { return maskedValue })}
}

// previousValues are the strings a release's values held at a path of the
// config under set (set.db.password: the release's db.password).
func previousValues(rel *release.Release, path cty.Path) []string {
	if rel == nil || len(path) == 0 || path[0] != (cty.GetAttrStep{Name: "set"}) {
		return nil
	}
	var v any = rel.Config
	for _, step := range path[1:] {
		switch step := step.(type) {
		case cty.GetAttrStep:
			m, _ := v.(map[string]any)
			v = m[step.Name]
		case cty.IndexStep:
			switch k := step.Key; {
			case k.Type() == cty.String:
				m, _ := v.(map[string]any)
				v = m[k.AsString()]
			case k.Type() == cty.Number:
				l, _ := v.([]any)
				i, _ := k.AsBigFloat().Int64()
				v = nil
				if i >= 0 && int(i) < len(l) {
					v = l[i]
				}
			}
		}
	}
	return leafStrings(nil, v)
}

// leafStrings appends every string and number in a JSON-like value.
func leafStrings(out []string, v any) []string {
	switch v := v.(type) {
	case string:
		out = append(out, v)
	case float64, int, int64:
		out = append(out, fmt.Sprint(v))
	case map[string]any:
		for _, e := range v {
			out = leafStrings(out, e)
		}
	case []any:
		for _, e := range v {
			out = leafStrings(out, e)
		}
	}
	return out
}

func appendStrings(r []string, v cty.Value) []string {
	switch {
	case !v.IsKnown() || v.IsNull():
	case v.Type() == cty.String:
		r = append(r, v.AsString())
	case v.Type() == cty.Number:
		r = append(r, v.AsBigFloat().Text('f', -1))
	case v.CanIterateElements():
		for it := v.ElementIterator(); it.Next(); {
			_, ev := it.Element()
			r = appendStrings(r, ev)
		}
	}
	return r
}

func (r redactor) apply(s string) string { return r.r.Replace(s) }

// redactedEvents applies the redactor to everything an action streams.
type redactedEvents struct {
	sdk.Events
	r redactor
}

func (e redactedEvents) Log(stream, line string) { e.Events.Log(stream, e.r.apply(line)) }
func (e redactedEvents) Progress(f float64, msg string) {
	e.Events.Progress(f, e.r.apply(msg))
}

// discardEvents is the sink of Plan, which streams nothing.
type discardEvents struct{}

func (discardEvents) Log(string, string)              {}
func (discardEvents) Progress(float64, string)        {}
func (discardEvents) Artifact(string, string, []byte) {}

func strVal(s string) cty.Value { return cty.StringVal(s) }
func numVal(n int) cty.Value    { return cty.NumberIntVal(int64(n)) }
