package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/zclconf/go-cty/cty"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pipectl/pipectl/sdk"
)

var _ sdk.ActionWithValidateConfig = (*secretsExist)(nil)

// secretsExist: the named Secrets exist, with the keys the release reads.
// It looks at key names only: no value is ever printed, logged or output.
type secretsExist struct{ cluster *cluster }

type secretsExistConfig struct {
	Namespace string              `cty:"namespace"`
	Names     []string            `cty:"names"`
	Keys      map[string][]string `cty:"keys"`
	Source    string              `cty:"source"`
}

func (secretsExist) Schema() sdk.ActionSchema {
	return sdk.ActionSchema{
		Description: "Check that the named Secrets exist in the namespace, optionally with required keys; names every missing one. Secret values are never read into output, logs or plans.",
		Block: sdk.Block{Attributes: map[string]*sdk.Attribute{
			"namespace": namespaceAttr,
			"names":     {Type: cty.List(cty.String), Required: true, Description: "Names of the Secrets that must exist."},
			"keys":      {Type: cty.Map(cty.List(cty.String)), Description: "Keys each Secret must have: { \"alpha-members-db\" = [\"password\"] }."},
			"source":    {Type: cty.String, Description: "Where the Secrets come from (a Vault path, a sealed-secrets repo): named in the error to say where to fix it."},
		}},
		Outputs: map[string]*sdk.Attribute{
			"names": {Type: cty.List(cty.String), Description: "The Secrets found (all of names)."},
			"keys":  {Type: cty.Map(cty.List(cty.String)), Description: "Key names of each Secret found (names only, never values)."},
		},
	}
}

func (secretsExist) ValidateConfig(_ context.Context, req sdk.ValidateConfigRequest, resp *sdk.ValidateConfigResponse) {
	names, keys := req.Config.GetAttr("names"), req.Config.GetAttr("keys")
	if !names.IsWhollyKnown() || !keys.IsWhollyKnown() || names.IsNull() {
		return
	}
	var cfg secretsExistConfig
	if err := req.Decode(&cfg); err != nil {
		return // the SDK reports type errors
	}
	if len(cfg.Names) == 0 {
		resp.Diagnostics.AddAttributeError(attr("names"), "No Secrets named", "List the Secrets that must exist: names = [\"db-credentials\"].")
	}
	for _, name := range sortedKeys(cfg.Keys) {
		if !slices.Contains(cfg.Names, name) {
			resp.Diagnostics.AddAttributeError(attr("keys").Index(cty.StringVal(name)), fmt.Sprintf("%q is not in names", name),
				"keys lists required keys of the Secrets in names; add it to names or remove it here.")
		}
	}
}

func (secretsExist) Plan(_ context.Context, req sdk.PlanRequest, resp *sdk.PlanResponse) {
	resp.Kind = sdk.PlanRun
	resp.Summary = "check that Secrets exist"
	if names := req.Config.GetAttr("names"); names.IsWhollyKnown() && !names.IsNull() {
		resp.Summary = fmt.Sprintf("check that %s exist", plural(names.LengthInt(), "Secret"))
	}
}

func (a secretsExist) Apply(ctx context.Context, req sdk.ApplyRequest, resp *sdk.ApplyResponse) {
	var cfg secretsExistConfig
	if err := req.Decode(&cfg); err != nil {
		resp.Diagnostics.AddError("Invalid config", err.Error())
		return
	}
	cn := a.cluster.connectOr(&resp.Diagnostics)
	if cn == nil {
		return
	}
	ns := cn.namespaceOr(cfg.Namespace)
	found := map[string][]string{}
	var problems []string
	for _, name := range cfg.Names {
		keys, problem, err := secretKeys(ctx, cn, ns, name)
		if err != nil {
			resp.Diagnostics.AddAttributeError(attr("names"), fmt.Sprintf("Cannot read Secret %s/%s", ns, name), err.Error())
			return
		}
		if problem == "" {
			problem = missingKeys(keys, cfg.Keys[name])
		}
		if problem != "" {
			problems = append(problems, fmt.Sprintf("%s: %s", name, problem))
			req.Events.Log(sdk.Stdout, fmt.Sprintf("MISSING %s: %s", name, problem))
			continue
		}
		found[name] = keys
		req.Events.Log(sdk.Stdout, fmt.Sprintf("found %s (%s)", name, plural(len(keys), "key")))
	}
	if len(problems) > 0 {
		resp.Diagnostics.AddAttributeError(attr("names"),
			fmt.Sprintf("%s missing or incomplete in namespace %s", plural(len(problems), "Secret"), ns),
			strings.Join(problems, "\n")+fixHint(cfg.Source))
		return
	}
	resp.Summary = fmt.Sprintf("found %s in namespace %s", plural(len(found), "Secret"), ns)
	resp.Outputs = cty.ObjectVal(map[string]cty.Value{"names": stringList(cfg.Names), "keys": keysValue(found)})
}

// secretKeys returns the key names of a Secret, or why it is missing.
func secretKeys(ctx context.Context, cn *conn, ns, name string) (keys []string, problem string, err error) {
	s, err := cn.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, "not found", nil
	}
	if err != nil {
		return nil, "", err
	}
	return secretKeyNames(s), "", nil
}

func secretKeyNames(s *corev1.Secret) []string {
	keys := make([]string, 0, len(s.Data))
	for k := range s.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func missingKeys(have, want []string) string {
	var missing []string
	for _, k := range want {
		if !slices.Contains(have, k) {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return "lacks keys " + strings.Join(missing, ", ")
}

func fixHint(source string) string {
	if source == "" {
		return ""
	}
	return "\nThe Secrets come from " + source + ": sync them from there into the namespace."
}

func keysValue(found map[string][]string) cty.Value {
	if len(found) == 0 {
		return cty.MapValEmpty(cty.List(cty.String))
	}
	m := make(map[string]cty.Value, len(found))
	for name, keys := range found {
		m[name] = stringList(keys)
	}
	return cty.MapVal(m)
}
