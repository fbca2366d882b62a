package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secretForms are the ways a secret may be written down: raw, and escaped
// in JSON (with and without HTML escaping of & < >).
func secretForms(secret string) []string {
	forms := []string{secret}
	html, _ := json.Marshal(secret)
	forms = append(forms, strings.Trim(string(html), `"`))
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(secret)
	return append(forms, strings.Trim(strings.TrimSpace(b.String()), `"`))
}

// noSecretIn fails when any form of a secret appears in one of the texts.
func noSecretIn(t *testing.T, secret string, texts map[string]string) {
	t.Helper()
	for name, text := range texts {
		for _, form := range secretForms(secret) {
			if strings.Contains(text, form) {
				t.Errorf("the secret appears in %s as %q:\n%s", name, form, text)
			}
		}
	}
}

// A diagnostic's snippet quotes its source line; on a one-line JSON var
// file that line holds every other value too.
func TestErrorSnippetNeverQuotesASecret(t *testing.T) {
	const token, pin = "tok-S3cret-889", "pin-S3cret-771"
	p := newProject(t, `
pipeline "e2e" {}
variable "token" {
  type      = string
  sensitive = true
}
variable "pin" {
  type      = number
  sensitive = true
}
variable "port" {
  type = number
}
stage "s" {
  step "a" {
    action = std.noop
  }
}`)
	p.write("vars.json", `{"token":"`+token+`","pin":"`+pin+`","port":"x"}`)
	out, errOut, code := p.run("plan", "-var-file", "vars.json")
	if code != 1 || !strings.Contains(errOut, `variable "port"`) || !strings.Contains(errOut, `variable "pin"`) {
		t.Fatalf("plan with a bad port: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "vars.json line 1") {
		t.Errorf("the snippet is gone altogether:\n%s", errOut)
	}
	jsonOut, jsonErr, _ := p.run("plan", "-json", "-var-file", "vars.json")
	noSecretIn(t, token, map[string]string{"plan": out + errOut, "plan -json": jsonOut + jsonErr})
	noSecretIn(t, pin, map[string]string{"plan": out + errOut, "plan -json": jsonOut + jsonErr})
}

// A secret with characters JSON escapes (& < > ") echoed by a step is
// stored nowhere, not even escaped; exec children do not inherit
// PIPECTL_VAR_* (the values a step needs are in its config).
func TestSecretWithJSONSpecialCharactersNeverStored(t *testing.T) {
	const secret = `Tok&<en>"S3c`
	p := newProject(t, `
pipeline "e2e" {}
variable "token" {
  type      = string
  sensitive = true
}
stage "s" {
  step "echo" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "echo \"value:$1\"", "sh", var.token]
  }
  step "inherited" {
    action     = std.exec
    command    = "sh"
    args       = ["-c", "env | grep -c '^PIPECTL_VAR_' || true"]
    depends_on = [step.echo]
  }
}
output "echoed" {
  value = step.echo.stdout
}
output "inherited" {
  value = trimspace(step.inherited.stdout)
}`)
	p.env = append(p.env, "PIPECTL_VAR_token="+secret)
	out, errOut, code := p.run("apply", "-auto-approve")
	if code != 0 || !strings.Contains(out, "value:(sensitive value)") {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	jsonOut, jsonErr, code := p.run("apply", "-auto-approve", "-json")
	if code != 0 {
		t.Fatalf("apply -json: exit %d\n%s", code, jsonErr)
	}
	evs := events(t, jsonOut)
	if got := evs[len(evs)-1].Outputs["inherited"]; got != "0" {
		t.Errorf("exec children inherited %v PIPECTL_VAR_* variables", got)
	}
	list, _, _ := p.run("runs", "-json")
	var runs []struct{ ID string }
	if err := runsJSON(list, &runs); err != nil || len(runs) == 0 {
		t.Fatalf("runs -json: %v\n%s", err, list)
	}
	show, _, _ := p.run("runs", "show", runs[0].ID, "-json")
	db, err := os.ReadFile(filepath.Join(p.dir, ".pipectl", "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	noSecretIn(t, secret, map[string]string{"apply": out + errOut, "apply -json": jsonOut + jsonErr,
		"run database": string(db), "runs show -json": show})
}

// A sensitive URL is not shown even in part: no host, no port.
func TestSensitiveWebhookURLNeverShownInPart(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
variable "hook" {
  type      = string
  sensitive = true
}
stage "s" {
  step "notify" {
    action = std.webhook
    url    = var.hook
    text   = "deployed"
  }
}`)
	p.env = append(p.env, "PIPECTL_VAR_hook=http://127.0.0.1:9/services/S3cretPath")
	out, errOut, code := p.run("plan", "-out", "plan.json")
	if code != 0 {
		t.Fatalf("plan: %s%s", out, errOut)
	}
	jsonOut, _, _ := p.run("plan", "-json")
	file, _ := os.ReadFile(filepath.Join(p.dir, "plan.json"))
	for name, text := range map[string]string{"plan": out + errOut, "plan -json": jsonOut, "plan file": string(file)} {
		if strings.Contains(text, "127.0.0.1") || strings.Contains(text, ":9/") || strings.Contains(text, "S3cretPath") {
			t.Errorf("%s shows part of the sensitive URL:\n%s", name, text)
		}
	}
}

// -var without = is an error that does not echo the argument: it is
// often a secret whose = was forgotten.
func TestMalformedVarIsNotEchoed(t *testing.T) {
	p := newProject(t, onePipeline)
	out, errOut, code := p.run("plan", "-var", "tokenS3cretValue")
	if code != 1 || !strings.Contains(errOut, "NAME=VALUE") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "S3cretValue") {
		t.Errorf("the argument is echoed:\n%s", errOut)
	}
}
