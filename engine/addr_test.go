package engine

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
