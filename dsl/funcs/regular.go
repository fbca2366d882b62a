package funcs

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxFileSize bounds every file a pipeline reads: its .hcl files, var
// files, and files read by functions. A pipeline is text; anything bigger
// is a mistake (or a symlink to /dev/zero), not something to read until
// the memory runs out.
const MaxFileSize = 16 << 20

// ReadRegular reads a regular file of at most MaxFileSize bytes. A FIFO, a
// device or a directory — even behind a symlink — is refused at once
// rather than read forever or waited on.
func ReadRegular(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: path,
			Err: fmt.Errorf("not a regular file (it is a %s): only regular files are read", fileKind(info.Mode()))}
	}
	if info.Size() > MaxFileSize {
		return nil, &fs.PathError{Op: "read", Path: path,
			Err: fmt.Errorf("%d bytes, larger than the %d MiB a pipeline reads from one file", info.Size(), MaxFileSize>>20)}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err == nil && len(data) > MaxFileSize {
		err = &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("larger than the %d MiB a pipeline reads from one file", MaxFileSize>>20)}
	}
	return data, err
}

func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&os.ModeNamedPipe != 0:
		return "FIFO"
	case m&os.ModeSocket != 0:
		return "socket"
	case m&os.ModeDevice != 0:
		return "device"
	}
	return "special file"
}
