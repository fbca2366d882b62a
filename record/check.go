package record

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
	"io"
	"os"
)

// bbolt's file header, as bbolt 1.4 writes it (internal/common/meta.go):
// two meta pages, at offset 0 and at one page size, each a 16-byte page
// header then magic, version, page size, flags, root bucket (pgid,
// sequence), freelist pgid, pgid (the high-water mark: pages in use),
// txid, and an FNV-64a checksum of the fields before it. bbolt reads them
// itself, but maps the rest of the file in memory without checking that
// it is there: a truncated file crashes the process when a missing page is
// touched. highWaterMark lets us check first.
const (
	metaOffset   = 16
	metaMagic    = 0xED0CDAED
	metaSumBytes = 56 // the fields the checksum covers
)

// highWaterMark is the file size the newest valid meta page says the
// database needs.
func highWaterMark(f *os.File) (int64, error) {
	var best struct {
		txid, size uint64
		ok         bool
	}
	pageSize := int64(4096)
	for i := int64(0); i < 2; i++ {
		buf := make([]byte, metaOffset+metaSumBytes+8)
		if _, err := f.ReadAt(buf, i*pageSize); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		m := buf[metaOffset:]
		le := binary.LittleEndian
		if le.Uint32(m[0:]) != metaMagic {
			continue
		}
		h := fnv.New64a()
		h.Write(m[:metaSumBytes])
		if h.Sum64() != le.Uint64(m[metaSumBytes:]) {
			continue
		}
		ps := uint64(le.Uint32(m[8:]))
		if i == 0 && ps > 0 {
			pageSize = int64(ps) // the second meta page is one page further
		}
		pgid, txid := le.Uint64(m[40:]), le.Uint64(m[48:])
		if !best.ok || txid > best.txid {
			best.txid, best.size, best.ok = txid, pgid*ps, true
		}
	}
	if !best.ok {
		return 0, errors.New("no valid header: it is not a bbolt database, or its header is damaged")
	}
	return int64(best.size), nil
}
