package v1

import "testing"

func TestAddr(t *testing.T) {
	for _, c := range []struct {
		addr         Addr
		step, stage  string
		module       string
		isStep, isSt bool
	}{
		{StepAddr("build"), "build", "", "", true, false},
		{StageAddr("deploy"), "", "deploy", "", false, true},
		{Addr("module.eu.step.build"), "build", "", "module.eu", true, false},
		{Addr("module.eu.module.db.stage.migrate"), "", "migrate", "module.eu.module.db", false, true},
	} {
		step, isStep := c.addr.Step()
		stage, isStage := c.addr.Stage()
		if step != c.step || isStep != c.isStep || stage != c.stage || isStage != c.isSt || c.addr.Module() != c.module {
			t.Errorf("%s: step %q %v, stage %q %v, module %q", c.addr, step, isStep, stage, isStage, c.addr.Module())
		}
	}
}

func TestInstanceAddr(t *testing.T) {
	for _, c := range []struct {
		addr       InstanceAddr
		full, name string
	}{
		{StepAddr("build").Instance(""), "step.build", "build"},
		{StepAddr("deploy").Instance("eu-west"), `step.deploy["eu-west"]`, `deploy["eu-west"]`},
		{StepAddr("deploy").Instance(`a"]b`), `step.deploy["a\"]b"]`, `deploy["a\"]b"]`},
		{Addr("module.eu.step.deploy").Instance("x"), `module.eu.step.deploy["x"]`, `deploy["x"]`},
	} {
		if got := c.addr.String(); got != c.full {
			t.Errorf("String() = %s, want %s", got, c.full)
		}
		if got := c.addr.Name(); got != c.name {
			t.Errorf("Name() = %s, want %s", got, c.name)
		}
		back, err := ParseInstanceAddr(c.full)
		if err != nil || back != c.addr {
			t.Errorf("ParseInstanceAddr(%s) = %#v, %v; want %#v", c.full, back, err, c.addr)
		}
	}
	for _, bad := range []string{"build", "stage.deploy", `step.deploy[eu]`, `step.deploy["eu"`, "step."} {
		if _, err := ParseInstanceAddr(bad); err == nil {
			t.Errorf("ParseInstanceAddr(%s) took it", bad)
		}
	}
}
