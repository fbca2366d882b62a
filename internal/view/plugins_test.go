package view

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	v1 "github.com/pipectl/pipectl/api/v1"
	"github.com/pipectl/pipectl/sdk"
)

var deploySchema = &sdk.Schema{
	Name: "demo", Version: "1.0.0",
	Settings: &sdk.Block{Attributes: map[string]*sdk.Attribute{
		"context": {Type: cty.String, Description: "Kube context."},
	}},
	Actions: map[string]*sdk.ActionSchema{"deploy": {
		Description: "Deploy it.",
		Block: sdk.Block{
			Attributes: map[string]*sdk.Attribute{
				"image": {Type: cty.String, Required: true, Description: "The image."},
				"token": {Type: cty.String, Sensitive: true, Description: "A | token."},
				"set":   {Type: cty.Map(cty.String), Description: "Values."},
			},
			Blocks: map[string]*sdk.NestedBlock{"target": {Nesting: sdk.NestingList, MinItems: 1, Block: sdk.Block{
				Attributes: map[string]*sdk.Attribute{"name": {Type: cty.String, Required: true, Description: "Cluster."}},
			}}},
		},
		Outputs: map[string]*sdk.Attribute{
			"revision":   {Type: cty.Number, Description: "Revision."},
			"kubeconfig": {Type: cty.String, Sensitive: true, Description: "Credentials."},
		},
	}},
}

func TestPluginSchemaHuman(t *testing.T) {
	var out bytes.Buffer
	v := NewPluginSchema(Base{Streams: Streams{Out: &out}})
	v.Show(deploySchema, "")
	for _, want := range []string{
		"Plugin demo 1.0.0",
		`Settings (plugin "demo" { ... }):`,
		"  context  (string, optional)\n      Kube context.",
		"Action demo.deploy\n  Deploy it.",
		"    image  (string, required)\n        The image.",
		"    set  (map(string), optional)",
		"    token  (string, optional, sensitive)",
		"    target { ... }  (block, any number, at least 1)\n        name  (string, required)",
		"    kubeconfig  (string, sensitive)\n        Credentials.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestPluginSchemaJSON(t *testing.T) {
	var out bytes.Buffer
	v := NewPluginSchema(Base{Streams: Streams{Out: &out}, JSON: true})
	v.Show(deploySchema, "deploy")
	var doc struct {
		Name     string          `json:"name"`
		Settings json.RawMessage `json:"settings"`
		Actions  map[string]struct {
			Block struct {
				Attributes map[string]struct {
					Type      json.RawMessage `json:"type"`
					TypeName  string          `json:"type_name"`
					Required  bool            `json:"required"`
					Sensitive bool            `json:"sensitive"`
				} `json:"attributes"`
				Blocks map[string]struct {
					Nesting  string `json:"nesting"`
					MinItems int    `json:"min_items"`
				} `json:"blocks"`
			} `json:"block"`
			Outputs map[string]struct {
				Sensitive   bool   `json:"sensitive"`
				Description string `json:"description"`
			} `json:"outputs"`
		} `json:"actions"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	a := doc.Actions["deploy"]
	if doc.Name != "demo" || doc.Settings != nil || string(a.Block.Attributes["set"].Type) != `["map","string"]` ||
		a.Block.Attributes["set"].TypeName != "map(string)" || !a.Block.Attributes["image"].Required || !a.Block.Attributes["token"].Sensitive ||
		a.Block.Blocks["target"].Nesting != "list" || a.Block.Blocks["target"].MinItems != 1 || !a.Outputs["kubeconfig"].Sensitive {
		t.Errorf("document:\n%s", out.String())
	}
}

func TestPluginMarkdown(t *testing.T) {
	var out bytes.Buffer
	PluginMarkdown(&out, deploySchema, map[string]string{"deploy": "step \"x\" {\n  action = demo.deploy\n}\n"})
	for _, want := range []string{
		"# The demo plugin",
		"Actions: [`demo.deploy`](#demodeploy).",
		"| `context` | `string` | optional | Kube context. |",
		"## demo.deploy\n\nDeploy it.\n\n```hcl\nstep \"x\" {\n  action = demo.deploy\n}\n```",
		"| `token` | `string` | optional, sensitive | A \\| token. |",
		"#### Block `target`\n\n`target { ... }`: any number, at least 1.",
		"| `kubeconfig` | `string` | **Sensitive.** Credentials. |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("page lacks %q:\n%s", want, out.String())
		}
	}
}

// A finished step is one line: no output values (issue 8), so neither
// Go's <nil> nor a long stdout ever reaches it; the run record keeps them.
func TestStepLineShowsNoOutputValues(t *testing.T) {
	var out bytes.Buffer
	v := newApplyHuman(Base{Streams: Streams{Out: &out}}, nil)
	v.Event(v1.Event{Type: v1.StepFinished, Step: "s", Status: v1.StatusSucceeded, Duration: time.Second,
		Outputs: map[string]any{"digest": nil, "tags": []any{"a"}, "name": "web"}})
	if got := out.String(); !strings.Contains(got, "✓ s 1s") || strings.Contains(got, "digest") || strings.Contains(got, "<nil>") {
		t.Errorf("got %q: want the step, its duration and no output values", got)
	}
}
