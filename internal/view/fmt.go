package view

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// FmtView is what `pipectl fmt` reports: each file whose formatting
// differs (with its diff when asked), files that do not parse, and a
// closing count.
type FmtView interface {
	Diagnostics(hcl.Diagnostics)
	// Unformatted is a file whose formatting differs; written says whether
	// it was rewritten (not with -check), diff is its unified diff ("" when
	// not asked for).
	Unformatted(file string, written bool, diff string)
	Result(checked, unformatted int)
}

var (
	_ FmtView = (*FmtHuman)(nil)
	_ FmtView = (*FmtJSON)(nil)
)

// NewFmt picks fmt's view; list is -list (human output only).
func NewFmt(base Base, list bool) FmtView {
	if base.JSON {
		return &FmtJSON{base}
	}
	return &FmtHuman{Base: base, list: list}
}

// FmtHuman lists the files, like gofmt -l, and prints the diffs.
type FmtHuman struct {
	Base
	list bool
}

func (v *FmtHuman) Unformatted(file string, _ bool, diff string) {
	if v.list {
		fmt.Fprintln(v.Out, file)
	}
	fmt.Fprint(v.Out, diff)
}

func (v *FmtHuman) Result(int, int) {}

// FmtJSON is fmt as JSON lines: file_formatted a file, then fmt_result.
type FmtJSON struct{ Base }

// FileFormattedMessage is one file whose formatting differs.
type FileFormattedMessage struct {
	envelope
	File    string `json:"file"`
	Written bool   `json:"written"`
	Diff    string `json:"diff,omitempty"`
}

// FmtResultMessage closes `pipectl fmt -json`.
type FmtResultMessage struct {
	envelope
	Checked     int `json:"checked"`
	Unformatted int `json:"unformatted"`
}

func (v *FmtJSON) Unformatted(file string, written bool, diff string) {
	v.emit(MsgFileFormatted, &FileFormattedMessage{File: file, Written: written, Diff: diff})
}

func (v *FmtJSON) Result(checked, unformatted int) {
	v.emit(MsgFmtResult, &FmtResultMessage{Checked: checked, Unformatted: unformatted})
}
