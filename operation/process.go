package operation

import "github.com/pipectl/pipectl/internal/gcfloor"

// heapFloor is the heap a command grows to before it collects (gcfloor):
// an apply of a saved plan of 1,000 steps collects twice, not eleven times.
const heapFloor = 64 << 20

// SetHeapFloor lets the command's heap grow to heapFloor before the garbage
// collector paces it; GOGC or GOMEMLIMIT, when set, win. A command calls
// it once, first.
func SetHeapFloor() { gcfloor.Set(heapFloor) }
