package records

import (
	"regexp"
	"slices"
	"strings"
)

// difference is a change in what pipectl prints since the fixtures' commit
// that is intended: in the old output (normalized), old is replaced by new
// before it is compared. Each one says why, and is listed in
// testdata/COMMIT/DIFFERENCES.md too; one that matches nothing fails the
// test, so the list never says more than is true.
type difference struct {
	in        string   // "read" (old records read back) or "rerun" (the commands run again)
	pipelines []string // nil: every pipeline
	labels    []string // the commands (commands.txt), nil: every one
	streams   []string // out, err, exit or html; nil: every one
	old       *regexp.Regexp
	new       string
	why       string
}

func (d difference) applies(in, pipeline, label, stream string) bool {
	return d.in == in && within(d.pipelines, pipeline) && within(d.labels, label) && within(d.streams, stream)
}

func within(list []string, s string) bool { return list == nil || slices.Contains(list, s) }

func (d difference) key() string { return d.in + " " + d.old.String() + " " + d.new }

// used records which differences some output needed.
var used = map[string]bool{}

// The commits that made the differences below (on main, after e65b3f1).
const (
	ciExit        = "ef495c6 (issue 20, ci-exit: exit statuses CI can branch on)"
	plainRecord   = "0b159d0 (issue 23, plain-records: records say what steps did)"
	runStartedEnv = "run_started names the run's environment (b9ac5c1, JSON 1.5), as the run record does"
	markdownSafe  = "the report renders Markdown safe by construction, without bluemonday (5e8f219, issue 31): apostrophes in Markdown's text are written as they are, quotes as &quot;, a task's checkbox as ☑ or ☐ (bluemonday left a space where it removed the <input>)"
	jsonContract  = "JSON contract 1.3 (" + ciExit + ": run outcome, gate_stale), 1.4 (b1b576d, issue 24: force_unlocked.reason) and 1.5 (61b4b0a, issue 26: parked runs, took_over, started_by_actor), listed in docs/json-events.md"
)

var differences = slices.Concat([]difference{
	{in: "read", labels: []string{"runs-json", "show-json"}, streams: []string{"out"},
		old: re(`"format_version":"1.2"`), new: `"format_version":"1.5"`,
		why: jsonContract},

	{in: "rerun", streams: []string{"out"},
		old: re(`"format_version":"1.2"`), new: `"format_version":"1.5"`,
		why: jsonContract},
	{in: "read", pipelines: []string{"flagship"}, labels: []string{"report"}, streams: []string{"html"},
		old: re(`(?m)^(<li>(?:Checks: |The secrets themselves .*)trivy|^<li> Values validate .*pipeline|^<li> Chart configuration .*chart)&#39;(s )`), new: `$1'$2`,
		why: markdownSafe},
	{in: "read", pipelines: []string{"flagship"}, labels: []string{"report"}, streams: []string{"html"},
		old: re(`(?m)^(<p>.*: logs unavailable: an error on the server \()&#34;unknown&#34;(\) has prevented .*</p>)$`), new: `$1&quot;unknown&quot;$2`,
		why: markdownSafe},
	{in: "read", pipelines: []string{"flagship"}, labels: []string{"report"}, streams: []string{"html"},
		old: re(`(?m)^<li> `), new: `<li>☑ `,
		why: markdownSafe},
	{in: "read", pipelines: []string{"simple"}, labels: []string{"show-json"}, streams: []string{"out"},
		old: re(`("type":"run_started","time":"TIME","pipeline":"simple")`), new: `$1,"environment":"dev"`,
		why: runStartedEnv},
	{in: "read", pipelines: []string{"flagship"}, labels: []string{"show-json"}, streams: []string{"out"},
		old: re(`("type":"run_started","time":"TIME","pipeline":"alpha-members")`), new: `$1,"environment":"staging"`,
		why: runStartedEnv},
	{in: "rerun", pipelines: []string{"simple"}, labels: []string{"apply-json", "show-json"}, streams: []string{"out"},
		old: re(`("type":"run_started","time":"TIME","pipeline":"simple")`), new: `$1,"environment":"dev"`,
		why: runStartedEnv},
	{in: "rerun", labels: []string{"plan", "plan-out"},
		old: re(`(?m)^(On failure of .*)$`), new: `$1 (may run)`,
		why: "a failure handler's heading says it runs only if something fails (" + ciExit + ")"},
	{in: "rerun", pipelines: []string{"gated"}, labels: []string{"plan", "plan-out"},
		old: re(`(?m)^Stage deploy\n`), new: "Stage deploy\n ⏸ stage.deploy waits here before it starts:\n approval: \"Roll out the release?\" (1 approval)\n",
		why: "the plan shows a gate in its stage, where it waits (" + plainRecord + ")"},
	{in: "rerun", pipelines: []string{"gated"}, labels: []string{"plan", "plan-out"},
		old: re(`Gates \(the stage or step waits here before it starts\):\n stage.deploy\n approval: "Roll out the release\?" \(1 approval\)\n\n`), new: "",
		why: "the plan's separate list of gates went: each gate is shown in its stage (" + plainRecord + ")"},
	{in: "rerun", pipelines: []string{"gated"}, labels: []string{"plan", "plan-out", "plan-json"},
		old: re(`(Plan: [^"\n]*finally steps)\.`), new: `$1; 1 gate to pass.`,
		why: "the plan's summary counts the gates (" + plainRecord + ")"},
	{in: "rerun", pipelines: []string{"gated"}, labels: []string{"apply", "apply-json"}, streams: []string{"exit"},
		old: re(`^5\n$`), new: "7\n",
		why: "exit status 7: the run failed before any step that changes the target ran; 5 is now only for a run whose handlers restored every change (" + ciExit + ")"},
	{in: "rerun", pipelines: []string{"gated"}, labels: []string{"apply-json", "runs-json", "show-json"},
		old: re(`"status":"failed","(counts|started)"`), new: `"status":"failed","outcome":"unchanged","$1"`,
		why: "a finished run says what it left the target as: outcome unchanged (" + ciExit + ")"},
	{in: "rerun", pipelines: []string{"gated"}, labels: []string{"apply"},
		old: re(`(?m)^(Run failed\. .*\n)`), new: "${1}Nothing was changed: the run stopped before any step that changes the target ran.\n",
		why: "apply says what a failed run left the target as (" + ciExit + ")"},
	{in: "rerun", pipelines: []string{"gated"}, labels: []string{"show", "show-logs"},
		old: re(`^(Run RUN_ID of pipeline "gated": failed, .*\n)`), new: "${1}Nothing was changed: the run stopped before any step that changes the target ran.\n",
		why: "runs show says what a failed run left the target as (" + ciExit + ")"},
},
	// What a succeeded step did: the std plugin reports it, the record
	// keeps it, every view shows it (plainRecord). At e65b3f1 a succeeded
	// step had no message: apply repeated what the plan said it would do.
	didWhat("simple", "compile", "", "ran sh -c echo compiling 1.2.3; echo build ok: exit status 0", ""),
	didWhat("simple", "notes", `"changed":true`, "wrote RELEASE.md (4 lines)", ""),
	didWhat("simple", "notes", `"changed":false`, "RELEASE.md was up to date", ""),
	didWhat("simple", "announce", "", "did nothing", ""),
	didWhat("gated", "compile", "", "ran sh -c echo compiling; echo using token $TOKEN; echo build ok: exit status 0",
		"ran sh -c echo compiling; echo using token $TOKEN; echo bui…"),
	didWhat("gated", "rollback", "", "ran sh -c echo rolling back: exit status 0", ""),
	didWhat("gated", "notify", "", "did nothing", ""),
	didWhat("gated", "cleanup", "", "did nothing", ""),
)

// didWhat lists where a succeeded step's message appears now and did not
// at e65b3f1: its step_finished event, its record, apply's line and
// summary (note: the summary's cut), runs show's table and -logs, the
// report. outputs, when set, is how the step's outputs begin in the runs
// that say msg (a step may say different things in two runs).
func didWhat(pipeline, step, outputs, msg, note string) []difference {
	if note == "" {
		note = msg
	}
	q, m, n := regexp.QuoteMeta(step), strings.ReplaceAll(msg, "$", "$$"), strings.ReplaceAll(note, "$", "$$")
	jm := strings.ReplaceAll(m, `"`, `\"`)
	why := "a succeeded step says what it did (" + plainRecord + ")"
	d := func(labels []string, old, new string) difference {
		return difference{in: "rerun", pipelines: []string{pipeline}, labels: labels, old: re(old), new: new, why: why}
	}
	o := regexp.QuoteMeta(`"outputs":{` + outputs)
	all := []difference{
		d([]string{"apply-json", "show-json"}, `("step":"`+q+`","action":"[^"]+","attempt":\d+,)("status":"succeeded","duration_ms":DUR,`+o+`)`,
			`${1}"message":"`+jm+`",$2`),
		d([]string{"runs-json", "show-json"}, `("step":"`+q+`","phase":"\w+","action":"[^"]+","status":"succeeded","attempts":\d+,"started":"TIME","finished":"TIME",)(`+o+`)`,
			`${1}"message":"`+jm+`",$2`),
	}
	if outputs == `"changed":false` {
		return all // the second run: only in its JSON
	}
	return append(all,
		d([]string{"apply"}, `(?m)^(HH:MM:SS ✓ `+q+` DUR) .*$`, `$1 `+m),
		d([]string{"apply"}, `(?m)^(✓ `+q+` \S+ succeeded DUR) .*$`, `$1 `+n),
		d([]string{"show", "show-logs"}, `(?m)^(`+q+` \w+ std\.\w+ succeeded .*) $`, `$1 `+m),
		d([]string{"show-logs"}, `(?m)^(HH:MM:SS step_finished `+q+`) $`, `$1 `+m),
		d([]string{"report"}, `(<title>`+q+` attempt 1: DUR, succeeded)(</title>)`, `$1: `+m+`$2`),
		d([]string{"report"}, `(<span class="s-name">`+q+`</span>(?s:.*?)</p>\n) \n`, `$1 <pre class="message">`+m+"</pre>\n"),
		d([]string{"report"}, `(<span class="s-name">`+q+`</span>(?s:.*?) — succeeded)(</li>)`, `$1: `+m+`$2`),
	)
}

func re(s string) *regexp.Regexp { return regexp.MustCompile(s) }
