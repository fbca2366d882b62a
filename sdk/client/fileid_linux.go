package client

import (
	"os"
	"path/filepath"
	"syscall"
)

// fileID identifies an open file; false where it cannot.
func fileID(f *os.File, path string) (FileID, bool) {
	info, err := f.Stat()
	if err != nil {
		return FileID{}, false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	abs, err := filepath.Abs(path)
	if !ok || err != nil {
		return FileID{}, false
	}
	return FileID{Path: abs, Device: st.Dev, Inode: st.Ino, Size: st.Size,
		Modified: st.Mtim.Nano(), Changed: st.Ctim.Nano()}, true
}
