package records

import (
	"regexp"
	"slices"
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

var differences = []difference{}
