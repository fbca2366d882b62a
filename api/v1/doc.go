// Package v1 is pipectl's vocabulary: the words a run, a plan and a record
// are told in — events, statuses, addresses, phases, planned steps and
// gates, run, step and gate records — and the one fold that turns a run's
// events into its state (Summary.Apply).
//
// What is stored (saved plans, run records) and what -json prints is made
// of these types, so they change only compatibly: a field is added, never
// renamed; a stored layout that must change bumps its format version
// (PlanFormatVersion, RecordFormatVersion). The package is a leaf: it
// imports the standard library, cty and hcl, and no pipectl package, so
// that views, the report, records and another runner can share it without
// the engine.
package v1
