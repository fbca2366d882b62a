package records

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// oldCommit is the commit the fixtures were captured at (issue 24: the
// last commit before the record layer's rework).
const oldCommit = "e65b3f1"

// fixture is what capture.sh recorded for one pipeline.
type fixture struct {
	name, dir string
	oldDir    string             // where the pipeline ran at capture time
	oldBin    string             // where the old binaries were
	commands  map[string]command // by label
	runIDs    map[string]string  // RUN1 -> its id
}

// command is one line of commands.txt: what ran, with which exit status.
type command struct {
	label string
	code  int
	args  []string
}

// fixtures loads every pipeline captured at oldCommit.
func fixtures(t *testing.T) []*fixture {
	t.Helper()
	base := filepath.Join("testdata", oldCommit)
	entries, err := os.ReadDir(base)
	if err != nil {
		t.Fatal(err)
	}
	var all []*fixture
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(base, e.Name())
		if err := runDatabase(dir); err != nil {
			t.Fatal(err)
		}
		capture := fields(t, filepath.Join(dir, "capture.txt"))
		f := &fixture{
			name: e.Name(), dir: dir, oldDir: capture["workdir"][0], oldBin: capture["bindir"][0],
			commands: map[string]command{}, runIDs: map[string]string{},
		}
		for _, line := range lines(t, filepath.Join(f.dir, "commands.txt")) {
			parts := strings.SplitN(line, "\t", 3)
			code, err := strconv.Atoi(parts[1])
			if err != nil || len(parts) != 3 {
				t.Fatalf("%s/commands.txt: bad line %q", f.dir, line)
			}
			f.commands[parts[0]] = command{label: parts[0], code: code, args: strings.Fields(parts[2])}
		}
		for k, v := range fields(t, filepath.Join(f.dir, "run-ids.txt")) {
			f.runIDs[k] = v[0]
		}
		all = append(all, f)
	}
	if len(all) == 0 {
		t.Fatalf("no fixtures in %s (test/records/capture.sh %s %s)", base, oldCommit, base)
	}
	return all
}

// runDatabase says what is wrong when a fixture's store has no run
// database, or one git would not commit: the root .gitignore ignores
// .pipectl/ everywhere but in these stores (issue 24: the fixtures were
// once committed without theirs, and every read-back failed on a clone).
func runDatabase(dir string) error {
	db := filepath.Join(dir, "store", ".pipectl", "runs.db.gz")
	if _, err := os.Stat(db); err != nil {
		return fmt.Errorf("%s: no run database (%v): the fixture is incomplete; "+
			"the root .gitignore must keep its exception for test/records/testdata/**/store/.pipectl/, "+
			"and the fixture be captured again (test/records/capture.sh %s test/records/%s)", dir, err, oldCommit, filepath.Dir(dir))
	}
	cmd := exec.Command("git", "check-ignore", "-v", filepath.Base(db))
	cmd.Dir = filepath.Dir(db)
	out, err := cmd.Output()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return fmt.Errorf("%s is ignored by git (%s): it would not be committed; "+
			"restore the root .gitignore's exception for test/records/testdata/**/store/.pipectl/", db, strings.TrimSpace(string(out)))
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return nil // not ignored
	default:
		return nil // not in a git checkout (an unpacked source archive): the file is there
	}
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if sc.Text() != "" {
			out = append(out, sc.Text())
		}
	}
	return out
}

// fields reads "key value..." lines.
func fields(t *testing.T, path string) map[string][]string {
	t.Helper()
	m := map[string][]string{}
	for _, l := range lines(t, path) {
		f := strings.Fields(l)
		m[f[0]] = f[1:]
	}
	return m
}

// golden is what the old pipectl printed for a command.
func (f *fixture) golden(t *testing.T, label, stream string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, "golden", label+"."+stream))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// args gives a command's arguments with the run ids put back.
func (f *fixture) args(c command) []string {
	args := make([]string, len(c.args))
	for i, a := range c.args {
		if strings.HasPrefix(a, "$") {
			if id, ok := f.runIDs[a[1:]]; ok {
				a = id
			}
		}
		args[i] = a
	}
	return args
}

// copyStore copies the fixture's store (the pipeline's directory after the
// old runs) into a fresh directory, which it returns: no test writes into
// the fixtures.
func (f *fixture) copyStore(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), f.name)
	copyDir(t, filepath.Join(f.dir, "store"), dst)
	return dst
}

// copyDir copies a directory tree.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		target := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if name, ok := strings.CutSuffix(target, ".db.gz"); ok { // kept gzipped (capture.sh)
			return gunzipFile(path, name+".db")
		}
		return copyFileErr(path, target)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// gunzipFile writes the file gzipped at from, as it was, to to.
func gunzipFile(from, to string) error {
	f, err := os.Open(from)
	if err != nil {
		return err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, z); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	if err := copyFileErr(from, to); err != nil {
		t.Fatal(err)
	}
}

func copyFileErr(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	info, err := os.Stat(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, info.Mode().Perm())
}

// result is what the current pipectl printed.
type result struct {
	stdout, stderr string
	code           int
}

// pipectl runs the current pipectl in dir, as capture.sh ran the old one.
func pipectl(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(filepath.Join(bins, "pipectl"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PIPECTL_PLUGIN_PATH="+bins, "NO_COLOR=1", "PIPECTL_USER=capture", "TZ=UTC")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("pipectl %v: %v", args, err)
	}
	return result{out.String(), errOut.String(), code}
}

// What changes from run to run, and nothing else: a difference in what is
// left is a difference in behaviour, to be listed in differences.go.
var (
	runIDRE     = regexp.MustCompile(`\d{8}T\d{6}Z-[0-9a-f]{4}`)
	timestampRE = regexp.MustCompile(`\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?`)
	clockRE     = regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d(\.\d+)? `)
	durationRE  = regexp.MustCompile(`\b(\d+(\.\d+)?(h|ms|µs|ns|m|s))+\b`)
	durationMS  = regexp.MustCompile(`"duration_ms":\d+`)
	// The report's timeline places bars by their times.
	barRE    = regexp.MustCompile(`(x|width)="\d+(\.\d+)?%"`)
	spacesRE = regexp.MustCompile(` {2,}`)
)

// normalize replaces, in what pipectl printed, what varies between runs:
// the directories it ran in, run ids, times, durations (and the column
// widths they change).
func normalize(s string, dirs map[string]string) string {
	for dir, name := range dirs {
		s = strings.ReplaceAll(s, dir, name)
	}
	s = runIDRE.ReplaceAllString(s, "RUN_ID")
	s = timestampRE.ReplaceAllString(s, "TIME")
	s = clockRE.ReplaceAllString(s, "HH:MM:SS ")
	s = durationMS.ReplaceAllString(s, `"duration_ms":DUR`)
	s = durationRE.ReplaceAllString(s, "DUR")
	s = barRE.ReplaceAllString(s, `$1="PCT"`)
	return spacesRE.ReplaceAllString(s, " ")
}
