package ova

import (
	"bytes"
	"fmt"
	"strconv"
)

const blockSize = 512

// maxOctalSize is the largest size an 11-digit octal field holds (8 GiB - 1);
// larger members use GNU tar's base-256 encoding, which GNU tar, bsdtar,
// Go's archive/tar and VMware's importers all read.
const maxOctalSize = 1<<33 - 1

// ustarHeader builds one 512-byte USTAR header for a regular file. We write
// headers ourselves because archive/tar chooses PAX or GNU formats on its own
// (a PAX header before the .ovf breaks some importers).
func ustarHeader(name string, size, mtime int64) ([blockSize]byte, error) {
	var h [blockSize]byte
	switch {
	case name == "":
		return h, fmt.Errorf("empty tar member name")
	case len(name) > 100:
		return h, fmt.Errorf("file name %q is %d bytes; OVA (USTAR) member names are limited to 100 bytes: rename the file and its href in the .ovf", name, len(name))
	case bytes.IndexByte([]byte(name), 0) >= 0:
		return h, fmt.Errorf("file name %q contains a NUL byte", name)
	case size < 0:
		return h, fmt.Errorf("member %q: negative size %d", name, size)
	case mtime < 0 || mtime > 0o77777777777:
		return h, fmt.Errorf("member %q: modification time %d (Unix seconds) cannot be stored in a USTAR header; set a time between 1970 and 6060", name, mtime)
	}
	copy(h[0:100], name)
	copy(h[100:108], "0000644\x00")
	copy(h[108:116], "0000000\x00") // uid 0
	copy(h[116:124], "0000000\x00") // gid 0
	if size <= maxOctalSize {
		copy(h[124:136], octal(size, 12))
	} else {
		// GNU base-256: high bit of the first byte set, value big-endian in
		// the rest of the 12-byte field.
		f := h[124:136]
		v := uint64(size)
		for i := len(f) - 1; i > 0; i-- {
			f[i] = byte(v)
			v >>= 8
		}
		f[0] = 0x80
	}
	copy(h[136:148], octal(mtime, 12))
	h[156] = '0'
	copy(h[257:263], "ustar\x00")
	copy(h[263:265], "00")
	// uname/gname stay empty; devmajor/devminor as archive/tar writes them.
	copy(h[329:337], "0000000\x00")
	copy(h[337:345], "0000000\x00")
	// Checksum: byte sum with the checksum field read as spaces, written as
	// six octal digits, NUL, space (the POSIX/GNU convention).
	copy(h[148:156], "        ")
	var sum int64
	for _, b := range h {
		sum += int64(b)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return h, nil
}

// octal renders v as a NUL-terminated, zero-padded octal field of width n.
func octal(v int64, n int) string {
	s := strconv.FormatInt(v, 8)
	for len(s) < n-1 {
		s = "0" + s
	}
	return s + "\x00"
}

// padding returns the number of zero bytes that follow a member of size n.
func padding(n int64) int64 {
	if r := n % blockSize; r != 0 {
		return blockSize - r
	}
	return 0
}
