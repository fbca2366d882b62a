package operation

import "github.com/pipectl/pipectl/internal/gcfloor"

// heapFloor is the heap a command grows to before it collects (gcfloor):
// an apply of a saved plan of 1,000 steps collects twice, not eleven times.
const heapFloor = 64 << 20

// SetHeapFloor lets the command's heap grow to heapFloor before the garbage
// collector paces it; GOGC or GOMEMLIMIT, when set, win. A command calls
// it once, first.
func SetHeapFloor() { gcfloor.Set(heapFloor) }

// validatePacing paces validate's heap once past the floor: it collects
// when the heap has grown half again over what is live (GOGC=50), not
// doubled. Validate holds a whole pipeline for little CPU; what a CI
// runner validating a large one runs short of is memory (issue 31: ≤ 3 KB
// a step). At 100,000 steps: 238–242 MB at its peak rather than 287–296,
// in 4.5–4.7 s rather than 4.1–4.7, 1 s more CPU (docs/architecture.md,
// Performance).
const validatePacing = 50

// PaceValidate makes the collector keep validate's heap closer to what is
// live, once it outgrows the floor; GOGC or GOMEMLIMIT still win.
func PaceValidate() { gcfloor.SetAbove(validatePacing) }
