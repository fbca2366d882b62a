package records

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// replay runs the fixture's commands labelled labels with the current
// pipectl in dir and compares each one's exit status, stdout and stderr
// (and the report it writes) with what the old pipectl printed, allowing
// only the differences of the test named in.
func replay(t *testing.T, in string, f *fixture, dir string, labels ...string) {
	t.Helper()
	dirs := map[string]string{f.oldDir: "$DIR", dir: "$DIR", f.oldBin: "$BIN", bins: "$BIN"}
	for _, label := range labels {
		c, ok := f.commands[label]
		if !ok {
			t.Fatalf("%s: no command %q in commands.txt", f.name, label)
		}
		r := pipectl(t, dir, f.args(c)...)
		if label == "apply-json" {
			f.runIDs = runIDs(t, dir) // the runs show and report that follow
		}
		where := fmt.Sprintf("%s %s (pipectl %s)", f.name, label, strings.Join(c.args, " "))
		compare(t, in, f, label, "exit", where+": exit status", fmt.Sprintln(c.code), fmt.Sprintln(r.code), dirs)
		compare(t, in, f, label, "out", where+": stdout", f.golden(t, label, "out"), r.stdout, dirs)
		compare(t, in, f, label, "err", where+": stderr", f.golden(t, label, "err"), r.stderr, dirs)
		if label == "report" {
			html, err := os.ReadFile(filepath.Join(dir, "report.html"))
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			compare(t, in, f, label, "html", where+": report.html", f.golden(t, label, "html"), string(html), dirs)
		}
	}
}

// runIDs reads the runs recorded in dir, oldest first, as RUN1, RUN2...
func runIDs(t *testing.T, dir string) map[string]string {
	t.Helper()
	r := pipectl(t, dir, "runs", "-json")
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var m struct{ Type, ID string }
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("runs -json: %v in %q", err, line)
		}
		if m.Type == "run" {
			ids = append(ids, m.ID)
		}
	}
	slices.Reverse(ids)
	out := map[string]string{}
	for i, id := range ids {
		out[fmt.Sprintf("RUN%d", i+1)] = id
	}
	return out
}

// compare fails the test unless got is old once both are normalized and
// the differences listed for this output are applied to old.
func compare(t *testing.T, in string, f *fixture, label, stream, where, old, got string, dirs map[string]string) {
	t.Helper()
	want := normalize(old, dirs)
	for _, d := range differences {
		if d.applies(in, f.name, label, stream) && d.old.MatchString(want) {
			used[d.key()] = true
			want = d.old.ReplaceAllString(want, d.new)
		}
	}
	if got = normalize(got, dirs); got != want {
		t.Errorf("%s differs from what pipectl %s printed, beyond the differences listed in differences_test.go:\n%s",
			where, oldCommit, lineDiff(want, got))
	}
}

// lineDiff shows the lines only in want (-) and only in got (+), in order,
// with the longest common subsequence of lines between them left out.
func lineDiff(want, got string) string {
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			i, j = i+1, j+1
		case j < len(b) && (i == len(a) || lcs[i][j+1] >= lcs[i+1][j]):
			fmt.Fprintf(&out, "+ %s\n", b[j])
			j++
		default:
			fmt.Fprintf(&out, "- %s\n", a[i])
			i++
		}
	}
	return out.String()
}

// requireAllUsed fails the test for every difference of the test named in
// that no output needed: the list says only what is true.
func requireAllUsed(t *testing.T, in string) {
	t.Helper()
	if t.Failed() {
		return // a difference may have gone unused because a comparison stopped early
	}
	for _, d := range differences {
		if d.in == in && !used[d.key()] {
			t.Errorf("difference %q (%s) matched nothing: remove it from differences_test.go and DIFFERENCES.md", d.old, d.why)
		}
	}
}
