package view

import (
	"reflect"
	"testing"
	"time"

	v1 "github.com/pipectl/pipectl/api/v1"
)

// The JSON messages are the contract's own types: no struct of another
// package (the vocabulary's records, the engine's, the record's) sits in
// one, so that changing those never changes the -json output unnoticed.
// Named strings (v1.Status) and time.Time encode as what they are.
func TestJSONMessagesHoldOnlyTheirOwnTypes(t *testing.T) {
	allowed := map[reflect.Type]string{
		reflect.TypeFor[time.Time]():     "encodes as RFC 3339",
		reflect.TypeFor[v1.Diagnostic](): "the diagnostic format of validate -json, dsl.DiagnosticJSON, documented with the contract",
	}
	messages := []any{VersionMessage{}, DiagnosticMessage{}, ValidateResultMessage{}, StepPlannedMessage{}, PlanMessage{},
		StepMessage{}, RunMessage{}, RunRecordMessage{}, ArtifactMessage{}, GateMessage{}, GatePlannedMessage{},
		PluginLockedMessage{}, InitResultMessage{}, FileFormattedMessage{}, FmtResultMessage{}, pluginJSON{}}
	own := reflect.TypeFor[envelope]().PkgPath()
	seen := map[reflect.Type]bool{}
	var walk func(path string, ty reflect.Type)
	walk = func(path string, ty reflect.Type) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice || ty.Kind() == reflect.Map {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || seen[ty] {
			return
		}
		seen[ty] = true
		if _, ok := allowed[ty]; ok {
			return
		}
		if ty.PkgPath() != own {
			t.Errorf("%s is %s: a JSON message holds its own types, converted from the vocabulary", path, ty)
			return
		}
		for i := range ty.NumField() {
			f := ty.Field(i)
			walk(path+"."+f.Name, f.Type)
		}
	}
	for _, m := range messages {
		walk(reflect.TypeOf(m).Name(), reflect.TypeOf(m))
	}
}
