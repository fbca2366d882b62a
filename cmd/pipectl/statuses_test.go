package main

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	v1 "github.com/pipectl/pipectl/api/v1"
)

// The statuses are one closed set (v1.Statuses): every one a record or a
// message can carry is in the JSON contract's schema, and the schema
// names no other. gate_blocked is the scheduler's alone, never written.
func TestSchemaNamesEveryStatus(t *testing.T) {
	raw, err := os.ReadFile("../../docs/json-events.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if st, ok := v["status"].(map[string]any); ok {
				if enum, ok := st["enum"].([]any); ok && slices.Contains(enum, any("succeeded")) {
					for _, s := range enum {
						named[s.(string)] = true
					}
				}
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(schema)
	for _, s := range v1.Statuses {
		if s != v1.StatusGateBlocked && !named[string(s)] {
			t.Errorf("status %s is not in docs/json-events.schema.json", s)
		}
		delete(named, string(s))
	}
	for s := range named {
		t.Errorf("the schema names status %q, which is not in v1.Statuses", s)
	}
}
