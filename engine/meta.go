package engine

import (
	"fmt"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/pipectl/pipectl/dsl"
	"github.com/pipectl/pipectl/sdk"
)

// metaWarnings are what validate and plan say about a step whose action
// has, or had, an attribute named like a step meta-argument: in a step the
// name is always the meta-argument, never silently the action's.
func metaWarnings(s *dsl.Step, plugin string, as *sdk.ActionSchema) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range dsl.MetaArgumentNames() {
		if as.Block.Attributes[name] == nil && as.Block.Blocks[name] == nil {
			continue
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  fmt.Sprintf("Action %s has an attribute named like the meta-argument %s", s.Action, name),
			Detail: fmt.Sprintf("Plugin %q was built before pipectl's SDK refused such names. In a step, %s is always the step's "+
				"meta-argument; set the action's own %s in a config block: config { %s = ... }. Ask the plugin's author to rename it.",
				plugin, name, name, name),
			Subject: metaRange(s, name).Ptr(),
		})
	}
	if renamed, ok := renamedAttributes[plugin+"."+s.Action.Name]; ok && s.Timeout != nil && !setsAttribute(s, renamed) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  fmt.Sprintf("timeout is the step's timeout, not %s's %s", s.Action, renamed),
			Detail: fmt.Sprintf("In a step, timeout is the meta-argument: how long one attempt of the step may take, the "+
				"action's own requests and waits included, as it always was in effect, though std's documentation once "+
				"called it the time one request may take. %s's own setting is now %s (default \"10s\"). To bound each "+
				"request, write %s instead of timeout; to keep the step's timeout, set %s as well, which says so "+
				"and silences this warning.", s.Action, renamed, renamed, renamed),
			Subject: s.Timeout.Range().Ptr(),
		})
	}
	return diags
}

// renamedAttributes are the attributes first-party actions renamed because
// the timeout meta-argument shadowed them (by "plugin.action"): a pipeline
// written for the old name gets told what it means and what to write.
var renamedAttributes = map[string]string{
	"std.http_check": "request_timeout",
	"std.webhook":    "request_timeout",
}

// metaRange is where a step sets a meta-argument, or the step's header.
func metaRange(s *dsl.Step, name string) hcl.Range {
	exprs := map[string]hcl.Expression{"when": s.When, "for_each": s.ForEach, "timeout": s.Timeout, "continue_on_error": s.ContinueOnError}
	if e := exprs[name]; e != nil {
		return e.Range()
	}
	if name == "retry" && s.Retry != nil {
		return s.Retry.DeclRange
	}
	return s.DeclRange
}

// setsAttribute says whether the step's body sets an action attribute.
func setsAttribute(s *dsl.Step, name string) bool {
	body, ok := s.ConfigSyntax().(*hclsyntax.Body)
	if !ok {
		return false
	}
	if _, ok := body.Attributes[name]; ok {
		return true
	}
	return slices.ContainsFunc(body.Blocks, func(b *hclsyntax.Block) bool {
		if b.Type != dsl.ConfigBlock {
			return false
		}
		_, ok := b.Body.Attributes[name]
		return ok
	})
}
