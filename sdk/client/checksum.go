package client

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// A locked plugin's binary is hashed before it runs, which for a large one
// (the helm plugin is 91 MB) is most of a launch, at every command. A
// SumCache lets a host skip the hash of a binary it verified before and
// that has not changed since: the same file (device and inode), with the
// same size and modification and change times. Replacing the file changes
// its inode; writing it, or changing its times, sets its change time to
// the present, which no one but root can set back. A file is remembered
// only once its change time is a while in the past, so that a change made
// within the file system's timestamp granularity of the hash cannot leave
// it looking the same (git's "racy" index entries).

// SumCache remembers the files found to have a SHA-256. It is as trusted
// as the lock file the checksums come from: keep it beside it.
type SumCache interface {
	// Verified reports whether id was found to have sum.
	Verified(id FileID, sum []byte) bool
	// Remember records that id has sum.
	Remember(id FileID, sum []byte)
}

// FileID is what a file is: its path, device, inode, size, and
// modification and change times (nanoseconds since the epoch).
type FileID struct {
	Path     string `json:"path"`
	Device   uint64 `json:"device"`
	Inode    uint64 `json:"inode"`
	Size     int64  `json:"size"`
	Modified int64  `json:"modified"`
	Changed  int64  `json:"changed"`
}

// settleTime is how old a file's change time must be for it to be
// remembered; now is the clock (tests move it).
var (
	settleTime = 2 * time.Second
	now        = time.Now
)

// checkSum refuses a binary whose SHA-256 is not the locked one, naming
// both checksums; nil when it is, or when sums verified the same file
// before.
func checkSum(path string, want []byte, sums SumCache) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	id, identified := fileID(f, path)
	if identified && sums != nil && sums.Verified(id, want) {
		return nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("plugin %s: reading for checksum: %w", filepath.Base(path), err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, want) {
		return fmt.Errorf("plugin %s: checksum mismatch: the binary's SHA-256 is %s but %s was expected; "+
			"the plugin changed since it was locked (run `pipectl init` to re-lock it if the change is intended)",
			path, hex.EncodeToString(got), hex.EncodeToString(want))
	}
	// What was hashed is what id names if the file did not change while it
	// was read: the same identity after as before.
	if after, ok := fileID(f, path); identified && ok && after == id && sums != nil &&
		now().Sub(time.Unix(0, id.Changed)) > settleTime {
		sums.Remember(id, want)
	}
	return nil
}
