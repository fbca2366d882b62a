//go:build linux

package record

import (
	"errors"
	"os"
	"syscall"
)

// allocate gives f its size with every block allocated, so that writes
// within it need no free space: fallocate where the file system has it.
func allocate(f *os.File, size int64) error {
	err := syscall.Fallocate(int(f.Fd()), 0, 0, size)
	if errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS) {
		return writeZeros(f, size)
	}
	return err
}
