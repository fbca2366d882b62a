package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Plugin settings, end to end with the real std plugin: the default
// configuration and an alias each get their own process and settings.
func TestPluginSettingsAndAliases(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
variable "greeting" {
  type    = string
  default = "hello"
}
plugin "std" {
  working_dir = "${path.root}/home"
  env         = { GREETING = var.greeting, WHERE = "default" }
}
plugin "std" {
  alias = "eu"
  env   = { WHERE = "eu" }
}
stage "s" {
  step "here" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "echo $GREETING from $WHERE in $(basename $(pwd))"]
  }
  step "there" {
    action  = std.exec
    plugin  = std.eu
    command = "sh"
    args    = ["-c", "echo $${GREETING:-none} from $WHERE in $(basename $(pwd))"]
  }
  step "mine" {
    action  = std.exec
    command = "sh"
    args    = ["-c", "echo $WHERE"]
    env     = { WHERE = "the step" }
  }
}`)
	if err := os.Mkdir(filepath.Join(p.dir, "home"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := p.run("apply", "-auto-approve", "-json", "-var", "greeting=ahoy")
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	logs := map[string]string{}
	for _, e := range events(t, out) {
		if e.Type == "step_log" {
			logs[e.Step] = e.Message
		}
	}
	want := map[string]string{
		"here":  "ahoy from default in home",
		"there": "none from eu in " + filepath.Base(p.dir), // the alias has its own settings only
		"mine":  "the step",                                // a step's env wins over the settings
	}
	for step, w := range want {
		if logs[step] != w {
			t.Errorf("step %s printed %q, want %q", step, logs[step], w)
		}
	}
}

func TestPluginSettingsErrorsPointAtTheBlock(t *testing.T) {
	cases := []struct{ name, block, want string }{
		{"unknown setting", `plugin "std" {
  workdir = "x"
}`, `on pipeline.hcl line 3, in plugin "std"`},
		{"wrong type", `plugin "std" {
  env = "x"
}`, `map of string required`},
		{"unknown alias", `plugin "std" {
  alias = "eu"
}`, `Plugin "std" has no configuration with alias "us"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := "pipeline \"e2e\" {}\n" + c.block + `
stage "s" {
  step "a" {
    action = std.noop
  }
  step "b" {
    action = std.noop
    plugin = std.us
  }
}`
			if c.name != "unknown alias" {
				src = strings.Replace(src, "    plugin = std.us\n", "", 1)
			}
			p := &project{t: t, dir: t.TempDir(), env: append(os.Environ(), "PIPECTL_PLUGIN_PATH="+binDir, "NO_COLOR=1")}
			p.write("pipeline.hcl", src)
			for _, cmd := range [][]string{{"init"}, {"validate"}, {"plan"}} {
				if cmd[0] == "init" {
					p.run(cmd...) // refuses the unknown alias; locks std otherwise
					continue
				}
				out, errOut, code := p.run(cmd...)
				if code == 0 || !strings.Contains(errOut, c.want) {
					t.Errorf("%s: exit %d, want an error with %q\n%s%s", cmd[0], code, c.want, out, errOut)
				}
			}
		})
	}
}

// A config that would crash the plugin at apply (a bad regexp) is refused
// by plan at its line, and apply runs nothing.
func TestValidateConfigGuardsPlanAndApply(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "first" {
    action   = std.render
    template = "x"
    output   = "first.txt"
  }
  step "check" {
    action     = std.http_check
    url        = "http://127.0.0.1:1/"
    body_match = "("
    depends_on = [step.first]
  }
}`)
	out, errOut, code := p.run("plan")
	if code == 0 || !strings.Contains(errOut, "on pipeline.hcl line 12") {
		t.Errorf("plan: exit %d, want the error at line 12\n%s%s", code, out, errOut)
	}
	out, errOut, code = p.run("apply", "-auto-approve")
	if code == 0 || !strings.Contains(errOut, "on pipeline.hcl line 12") {
		t.Errorf("apply: exit %d, want the error at line 12\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(p.dir, "first.txt")); err == nil {
		t.Error("apply ran a step despite an invalid config")
	}
}

// An error an action returns at apply names its attribute's line, with a
// snippet, as plan-time errors do; the run record keeps the location.
func TestApplyTimeErrorHasItsLocation(t *testing.T) {
	p := newProject(t, `
pipeline "e2e" {}
stage "s" {
  step "run" {
    action  = std.exec
    command = "/no/such/program"
  }
}`)
	out, errOut, code := p.run("apply", "-auto-approve")
	if code == 0 {
		t.Fatalf("apply succeeded:\n%s", out)
	}
	if !strings.Contains(out, "on pipeline.hcl line 6") || !strings.Contains(out, `command = "/no/such/program"`) {
		t.Errorf("no location and snippet in the failure:\n%s%s", out, errOut)
	}
	list, _, _ := p.run("runs", "-json")
	var runsList []struct{ ID string }
	if err := runsJSON(list, &runsList); err != nil || len(runsList) != 1 {
		t.Fatalf("runs: %v %s", err, list)
	}
	shown, _, _ := p.run("runs", "show", runsList[0].ID)
	if !strings.Contains(shown, "pipeline.hcl:6:") {
		t.Errorf("the run record lost the location:\n%s", shown)
	}
	jsonOut, _, _ := p.run("apply", "-auto-approve", "-json")
	if !strings.Contains(jsonOut, `"diagnostics":[{`) || !strings.Contains(jsonOut, `"line":6`) {
		t.Errorf("-json has no diagnostics with a range:\n%s", jsonOut)
	}
	// The record renders the failure as apply did, with the source as it
	// was: the file has changed since.
	p.write("pipeline.hcl", "pipeline \"e2e\" {}\nstage \"s\" {\n  step \"other\" {\n    action = std.noop\n  }\n}\n")
	shown, _, _ = p.run("runs", "show", runsList[0].ID)
	if !strings.Contains(shown, "on pipeline.hcl line 6:") || !strings.Contains(shown, `6:     command = "/no/such/program"`) {
		t.Errorf("runs show does not render the recorded diagnostic:\n%s", shown)
	}
	shownJSON, _, _ := p.run("runs", "show", runsList[0].ID, "-json")
	if !strings.Contains(shownJSON, `"diagnostics":[{`) || !strings.Contains(shownJSON, `"code":"    command = \"/no/such/program\""`) {
		t.Errorf("runs show -json has no recorded diagnostics:\n%s", shownJSON)
	}
}
