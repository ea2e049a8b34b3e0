package vmdk

import (
	"bytes"
	"errors"
	"io"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zlib"
)

// inflater decompresses grains, reusing its decoders. Grains are zlib
// streams (RFC 1950) in practice, whatever the technote says; a grain that
// does not start with a zlib header is read as raw DEFLATE (RFC 1951).
type inflater struct {
	src  bytes.Reader
	zr   io.ReadCloser
	fr   io.ReadCloser
	over [1]byte
}

var errGrainTooLong = errors.New("inflates to more than a grain")

// inflate decompresses data into dst and returns the bytes produced; data
// that would inflate beyond len(dst) is an error.
func (f *inflater) inflate(dst, data []byte) (int, error) {
	if isZlibHeader(data) {
		n, err := f.run(dst, data, true)
		if err == nil || errors.Is(err, errGrainTooLong) {
			return n, err
		}
		if n2, err2 := f.run(dst, data, false); err2 == nil {
			return n2, nil
		}
		return n, err
	}
	return f.run(dst, data, false)
}

func (f *inflater) run(dst, data []byte, zlibFramed bool) (int, error) {
	f.src.Reset(data)
	var r io.Reader
	if zlibFramed {
		if f.zr == nil {
			zr, err := zlib.NewReader(&f.src)
			if err != nil {
				return 0, err
			}
			f.zr = zr
		} else if err := f.zr.(zlib.Resetter).Reset(&f.src, nil); err != nil {
			return 0, err
		}
		r = f.zr
	} else {
		if f.fr == nil {
			f.fr = flate.NewReader(&f.src)
		} else if err := f.fr.(flate.Resetter).Reset(&f.src, nil); err != nil {
			return 0, err
		}
		r = f.fr
	}
	n := 0
	for n < len(dst) {
		m, err := r.Read(dst[n:])
		n += m
		if err == io.EOF {
			return n, nil // the stream ended within the grain
		}
		if err != nil {
			return n, err // includes io.ErrUnexpectedEOF: truncated stream
		}
	}
	// dst is full: the stream must end here.
	for range 16 { // a decoder may return (0, nil) a few times
		m, err := r.Read(f.over[:])
		if m > 0 {
			return n, errGrainTooLong
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, errGrainTooLong
}

// isZlibHeader checks RFC 1950's CMF/FLG: DEFLATE, window <= 32 KiB, no
// preset dictionary, check bits valid.
func isZlibHeader(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	cmf, flg := b[0], b[1]
	return cmf&0x0f == 8 && cmf>>4 <= 7 && flg&0x20 == 0 && (uint16(cmf)<<8|uint16(flg))%31 == 0
}
