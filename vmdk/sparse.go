package vmdk

import (
	"io"
	"os"
)

// SparseReaderAt is an io.ReaderAt that knows where its data is, so that a
// conversion can skip holes without reading them. Bytes outside the ranges
// NextData returns read as zeros.
type SparseReaderAt interface {
	io.ReaderAt
	// NextData returns the first range [start, end) at or after off that may
	// hold non-zero bytes, or io.EOF when there is none before the end.
	NextData(off int64) (start, end int64, err error)
}

// dataRanges returns the NextData function for src: its own, SEEK_DATA and
// SEEK_HOLE for files on filesystems that support them, or "everything is
// data" for any other reader.
func dataRanges(src io.ReaderAt, size int64) func(off int64) (int64, int64, error) {
	if s, ok := src.(SparseReaderAt); ok {
		return s.NextData
	}
	if f, ok := src.(*os.File); ok {
		if fn := fileDataRanges(f, size); fn != nil {
			return fn
		}
	}
	return func(off int64) (int64, int64, error) {
		if off >= size {
			return 0, 0, io.EOF
		}
		return off, size, nil
	}
}
