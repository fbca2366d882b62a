package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/zclconf/go-cty/cty"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/pipectl/pipectl/sdk"
)

var _ sdk.ActionWithValidateConfig = (*checkAccess)(nil)

// checkAccess: the cluster answers, and the current identity may do what
// the deploy needs (SelfSubjectAccessReview per resource and verb).
type checkAccess struct{ cluster *cluster }

type permission struct {
	Resource    string   `cty:"resource"`
	Verbs       []string `cty:"verbs"`
	Group       *string  `cty:"group"`
	Subresource string   `cty:"subresource"`
}

type checkAccessConfig struct {
	Namespace   string       `cty:"namespace"`
	Permissions []permission `cty:"permissions"`
}

var permissionType = cty.ObjectWithOptionalAttrs(map[string]cty.Type{
	"resource":    cty.String,
	"verbs":       cty.List(cty.String),
	"group":       cty.String,
	"subresource": cty.String,
}, []string{"group", "subresource"})

func (checkAccess) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Check that the cluster answers and that the current identity may do what the deploy needs: a SelfSubjectAccessReview for every resource and verb in the namespace; every missing permission is listed at once.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"namespace":   namespaceAttr,
			"permissions": {Type: cty.List(permissionType), Description: "What the identity must be allowed: a list of { resource = \"deployments\", verbs = [\"get\", \"create\"] }, optionally with group (found from the cluster when unset) and subresource (\"status\", \"scale\", \"log\"). Empty: only check that the cluster answers."},
		}},
		Outputs: map[string]*sdk.Attribute{
			"server_version": {Type: cty.String, Description: "The API server's version, such as v1.37.2."},
			"user":           {Type: cty.String, Description: "Who the plugin is on the cluster (its username)."},
			"checked":        {Type: cty.Number, Description: "How many resource/verb pairs were checked."},
		},
	}
}

func (checkAccess) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	perms := req.Config.GetAttr("permissions")
	if !perms.IsWhollyKnown() || perms.IsNull() {
		return
	}
	var cfg checkAccessConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddAttributeError(attr("permissions"), "Invalid permissions", err.Error())
		return
	}
	for i, p := range cfg.Permissions {
		at := attr("permissions").Index(cty.NumberIntVal(int64(i)))
		if strings.TrimSpace(p.Resource) == "" {
			resp.Diagnostics.AddAttributeError(at.GetAttr("resource"), "Empty resource", "Name a resource in the plural, as kubectl does: \"deployments\", \"secrets\".")
		}
		if len(p.Verbs) == 0 {
			resp.Diagnostics.AddAttributeError(at.GetAttr("verbs"), "No verbs", "List what must be allowed: [\"get\", \"list\", \"create\", \"update\", \"patch\", \"delete\", \"watch\"].")
		}
	}
}

func (checkAccess) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun
	resp.Summary = "check cluster access"
	if perms := req.Config.GetAttr("permissions"); perms.IsKnown() && !perms.IsNull() {
		resp.Summary = fmt.Sprintf("check cluster access: %s", plural(perms.LengthInt(), "permission rule"))
	}
}

func (a checkAccess) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg checkAccessConfig
	cn := a.cluster.decodeAndConnect(req, &cfg, resp)
	if cn == nil {
		return
	}
	ns := cn.namespaceOr(cfg.Namespace)
	ver, err := cn.client.Discovery().ServerVersion()
	if err != nil {
		resp.Diagnostics.AddError("The cluster does not answer", fmt.Sprintf("%s: %v", cn.config.Host, err))
		return
	}
	user := whoAmI(ctx, cn)
	req.Events.Log(sdk.Stdout, fmt.Sprintf("cluster %s answers: Kubernetes %s; identity %s", cn.config.Host, ver.GitVersion, user))
	missing, checked := reviewPermissions(ctx, cn, ns, cfg.Permissions, req.Events, &resp.Diagnostics)
	if resp.Diagnostics.HasErrors() {
		return
	}
	if len(missing) > 0 {
		resp.Diagnostics.AddError(
			fmt.Sprintf("%s may not do %s in namespace %s", user, plural(len(missing), "thing"), ns),
			"Missing permissions:\n  "+strings.Join(missing, "\n  ")+"\nGrant them with a Role and RoleBinding for this identity, or run as one that has them.")
		return
	}
	resp.Summary = fmt.Sprintf("%s has all %d permissions checked in namespace %s (Kubernetes %s)", user, checked, ns, ver.GitVersion)
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{
		"server_version": cty.StringVal(ver.GitVersion),
		"user":           cty.StringVal(user),
		"checked":        cty.NumberIntVal(int64(checked)),
	})
}

// whoAmI asks the cluster who we are (SelfSubjectReview); "the current
// identity" when the cluster will not say.
func whoAmI(ctx context.Context, cn *conn) string {
	r, err := cn.client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil || r.Status.UserInfo.Username == "" {
		return "the current identity"
	}
	return r.Status.UserInfo.Username
}

// reviewPermissions runs one SelfSubjectAccessReview per resource and verb
// and returns the denied ones, described.
func reviewPermissions(ctx context.Context, cn *conn, ns string, perms []permission, events sdk.Events, diags *sdk.Diagnostics) (missing []string, checked int) {
	for i, p := range perms {
		gr, err := resolveResource(cn, p)
		if err != nil {
			diags.AddAttributeError(attr("permissions").Index(cty.NumberIntVal(int64(i))).GetAttr("resource"),
				fmt.Sprintf("Unknown resource %q", p.Resource), err.Error()+"; use the plural name kubectl shows in `kubectl api-resources`.")
			continue
		}
		for _, verb := range p.Verbs {
			allowed, reason, err := review(ctx, cn, ns, gr, p.Subresource, verb)
			if err != nil {
				diags.AddError("Cannot review access", err.Error())
				return nil, checked
			}
			checked++
			what := describeAccess(verb, gr, p.Subresource)
			if allowed {
				events.Log(sdk.Stdout, "allowed: "+what)
				continue
			}
			events.Log(sdk.Stdout, "DENIED:  "+what)
			missing = append(missing, what+suffix(reason))
		}
	}
	return missing, checked
}

func review(ctx context.Context, cn *conn, ns string, gr schema.GroupResource, sub, verb string) (bool, string, error) {
	r, err := cn.client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authzv1.SelfSubjectAccessReview{
		Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authzv1.ResourceAttributes{
			Namespace: ns, Verb: verb, Group: gr.Group, Resource: gr.Resource, Subresource: sub,
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, "", err
	}
	return r.Status.Allowed, r.Status.Reason, nil
}

// resolveResource finds the API group of a resource ("deployments" is in
// apps) from the cluster's discovery, unless the config names it.
func resolveResource(cn *conn, p permission) (schema.GroupResource, error) {
	resource, group, hasGroup := strings.Cut(strings.TrimSpace(p.Resource), ".")
	if p.Group != nil {
		group, hasGroup = *p.Group, true
	}
	if hasGroup {
		return schema.GroupResource{Group: group, Resource: resource}, nil
	}
	gvr, err := cn.mapper.ResourceFor(schema.GroupVersionResource{Resource: resource})
	if err != nil {
		return schema.GroupResource{}, err
	}
	return gvr.GroupResource(), nil
}

func describeAccess(verb string, gr schema.GroupResource, sub string) string {
	s := verb + " " + gr.String()
	if sub != "" {
		s += "/" + sub
	}
	return s
}
