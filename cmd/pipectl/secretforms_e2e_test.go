package main_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Secrets in the shapes they really take (issue 22). Each test below fails
// on main at e65b3f1, where the secret reaches at least one of the places
// everyPlace collects.

// everyPlace runs a pipeline the ways a user meets its secrets — plan
// (-out), plan -json, apply, apply -json — and collects every place a
// secret may then be seen or kept: those commands' stdout and stderr, the
// plan file, runs.db's raw bytes, and of every recorded run `runs show`
// (plain, -logs, -json), `runs logs` (plain, -json) and its HTML report.
// Exit codes are the tests' business (a failing webhook is a failing run).
func everyPlace(t *testing.T, p *project) map[string]string {
	t.Helper()
	places := map[string]string{}
	run := func(name string, args ...string) {
		out, errOut, _ := p.run(args...)
		places[name+" stdout"], places[name+" stderr"] = out, errOut
	}
	run("plan", "plan", "-out", "plan.json")
	run("plan -json", "plan", "-json")
	run("apply", "apply", "-auto-approve")
	run("apply -json", "apply", "-auto-approve", "-json")
	files := map[string]string{"plan file": "plan.json", "runs.db": ".pipectl/runs.db"}
	list, _, _ := p.run("runs", "-json")
	var runs []struct{ ID string }
	if err := runsJSON(list, &runs); err != nil || len(runs) == 0 {
		t.Fatalf("runs -json: %v\n%s", err, list)
	}
	for _, r := range runs {
		run("runs show "+r.ID, "runs", "show", r.ID)
		run("runs show -logs "+r.ID, "runs", "show", r.ID, "-logs")
		run("runs show -json "+r.ID, "runs", "show", r.ID, "-json")
		run("runs logs "+r.ID, "runs", "logs", r.ID)
		run("runs logs -json "+r.ID, "runs", "logs", r.ID, "-json")
		run("runs report "+r.ID, "runs", "report", r.ID, "-o", r.ID+".html")
		files["report "+r.ID] = r.ID + ".html"
	}
	run("runs logs", "runs", "logs", "latest")
	for name, file := range files {
		b, err := os.ReadFile(filepath.Join(p.dir, file))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		places[name] = string(b)
	}
	return places
}

// noFormIn fails for every form found in a place, quoting it in context
// (a place may be megabytes long).
func noFormIn(t *testing.T, places map[string]string, forms ...string) {
	t.Helper()
	for name, text := range places {
		for _, form := range forms {
			if i := strings.Index(text, form); i >= 0 {
				t.Errorf("%s shows %q: …%q…", name, form, text[max(0, i-60):min(len(text), i+len(form)+60)])
			}
		}
	}
}

// 1. A multi-line secret echoed line by line: each line is a log line.
func TestMultiLineSecretRedactedLineByLine(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
variable "key" {
  type      = string
  sensitive = true
}
stage "s" {
  step "echo" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "printf '%s\n' \"$KEY\""]
    env     = { KEY = var.key }
  }
}`)
	p.env = append(p.env, "PIPECTL_VAR_key=-----BEGIN KEY-----\nLINE1SECRET\nLINE2SECRET\n-----END KEY-----")
	places := everyPlace(t, p)
	if !strings.Contains(places["runs logs stdout"], "(sensitive value)") {
		t.Fatalf("the key was not echoed (nothing redacted):\n%s", places["runs logs stdout"])
	}
	noFormIn(t, places, "LINE1SECRET", "LINE2SECRET")
}

// 3. A secret re-encoded by what echoes it: YAML single-quoted (a chart's
// toJson | squote), JSON-escaped, URL-encoded, base64 inside a larger
// value at offsets 0, 1 and 2. A secret under 4 bytes is masked only as a
// whole token: "42" in "pin=42" but not in "4242", nor every "a".
func TestReEncodedSecretsRedacted(t *testing.T) {
	const secret = `O'Brien"S3c&ret/k+1`
	p := newProject(t, `
pipeline "e2e" {}
variable "token" {
  type      = string
  sensitive = true
}
variable "pin" {
  type      = string
  sensitive = true
}
stage "s" {
  step "echo" {
    action  = std.exec
    command = "sh"
    args    = ["-c", <<-EOT
      printf 'yaml: %s\n' "$(printf '%s' "$S" | sed "s/'/''/g")"
      printf 'json: %s\n' "$(printf '%s' "$S" | sed 's/"/\\"/g; s/&/\\u0026/g')"
      printf 'url: %s\n' "$(printf '%s' "$S" | sed "s/'/%27/g; s/\"/%22/g; s/&/%26/g; s|/|%2F|g; s/+/%2B/g")"
      for pre in '' x xy; do printf 'b64: %s\n' "$(printf '%suser=admin;password=%s;end' "$pre" "$S" | base64 | tr -d '\n')"; done
      echo "pin=$P port 4242 a cat"
    EOT
    ]
    env = { S = var.token, P = var.pin }
  }
}`)
	p.env = append(p.env, "PIPECTL_VAR_token="+secret, "PIPECTL_VAR_pin=42")
	places := everyPlace(t, p)
	logs := places["runs logs stdout"]
	if !strings.Contains(logs, "pin=(sensitive value) port 4242 a cat") {
		t.Errorf("a short secret is masked other than as a whole token:\n%s", logs)
	}
	forms := []string{"Brien", "O%27Brien%22S3c%26ret%2Fk%2B1", "pin=42"}
	for _, pre := range []string{"", "x", "xy"} {
		encoded := base64.StdEncoding.EncodeToString([]byte(pre + "user=admin;password=" + secret + ";end"))
		if !strings.Contains(logs, "b64: ") {
			t.Fatalf("nothing encoded:\n%s", logs)
		}
		forms = append(forms, encoded, encoded[len(encoded)/2:len(encoded)/2+8]) // the secret's alone
	}
	noFormIn(t, places, forms...)
}

// 4. Every part of a sensitive URL is secret: a webhook server that
// answers 404 with the path it was given gets no token printed.
func TestSensitiveURLPartsEchoedByServerRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, fmt.Sprintf("no such hook: %s (query %s)", r.URL.Path, r.URL.RawQuery), http.StatusNotFound)
	}))
	defer srv.Close()
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
	p.env = append(p.env, "PIPECTL_VAR_hook="+srv.URL+"/services/T0/B0/S3cretHookPath?token=Qu3ryT0ken")
	places := everyPlace(t, p)
	if !strings.Contains(places["apply stdout"], "no such hook: (sensitive value)") {
		t.Fatalf("the server's answer is not shown (redacted):\n%s%s", places["apply stdout"], places["apply stderr"])
	}
	noFormIn(t, places, "S3cretHookPath", "Qu3ryT0ken", "T0/B0")
}

// 4. A secret across the 64 KiB cut of a long log line (the plugin's SDK
// cuts it, not knowing the secret) is not printed in two halves.
func TestSecretAcrossLogLineCutRedacted(t *testing.T) {
	const secret = "HalfOneHalfTwo"
	p := newProject(t, `
pipeline "e2e" {}
variable "token" {
  type      = string
  sensitive = true
}
stage "s" {
  step "long" {
    action  = std.exec
    command = "sh"
    # 64 KiB less 7 bytes, then the secret: the cut falls in its middle.
    args    = ["-c", "head -c 65529 /dev/zero | tr '\\0' x; printf '%s tail\\n' \"$S\""]
    env     = { S = var.token }
  }
}`)
	p.env = append(p.env, "PIPECTL_VAR_token="+secret)
	places := everyPlace(t, p)
	if !strings.Contains(places["runs logs stdout"], "(sensitive value) tail") {
		t.Fatalf("the secret is not shown redacted at the end of the line:\n…%s", tail(places["runs logs stdout"], 200))
	}
	noFormIn(t, places, "HalfOne", "HalfTwo")
}

func tail(s string, n int) string { return s[max(0, len(s)-n):] }

// 5. Control sequences printed by a step or in a plugin's summary do not
// reach the terminal: no window title (OSC 0), link (OSC 8), clear screen,
// cursor move, carriage-return overwrite or NUL in plain output (CI logs),
// `runs logs` or `runs show -logs`; SGR colour may stay.
func TestTerminalControlSequencesEscaped(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "hostile" {
    action  = std.exec
    command = "printf"
    args    = ["title\\033]0;pwned\\007 link\\033]8;;http://evil.example\\033\\\\x\\033]8;;\\033\\\\ clear\\033[2J\\033[H overwrite\\rfake-ok nul\\000end \\033[31mred\\033[0m\\n"]
  }
}`)
	places := everyPlace(t, p)
	terminal := map[string]string{}
	for name, text := range places {
		if !strings.Contains(name, "json") && !strings.Contains(name, "report") && name != "runs.db" && name != "plan file" {
			terminal[name] = text
		}
	}
	if !strings.Contains(places["runs logs stdout"], `title\x1b]0;pwned\x07`) || !strings.Contains(places["runs logs stdout"], "\x1b[31mred\x1b[0m") {
		t.Errorf("runs logs does not show the sequences escaped, SGR kept:\n%q", places["runs logs stdout"])
	}
	noFormIn(t, terminal, "\x1b]", "\x1b[2J", "\x1b[H", "\r", "\x00", "\x07")
}
