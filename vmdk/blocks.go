package vmdk

import (
	"fmt"
	"io"
)

// readBlocks is io.ReaderAt over a disk of size bytes stored in fixed blocks
// (VMDK grains, qcow2 clusters): it splits p at block boundaries and lets
// read fill each piece from block idx, starting in bytes into it.
func readBlocks(format string, p []byte, off, size, block int64, read func(idx uint64, in int64, dst []byte) error) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%s: negative offset %d", format, off)
	}
	if off >= size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && off < size {
		in := off % block
		chunk := p[n:min(len(p), n+int(min(block-in, size-off)))]
		if err := read(uint64(off/block), in, chunk); err != nil {
			return n, err
		}
		n += len(chunk)
		off += int64(len(chunk))
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
