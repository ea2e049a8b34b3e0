package ovfvm

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Format is a disk image format.
type Format string

// Disk image formats Classify recognizes.
const (
	FormatRaw   Format = "raw"
	FormatQCOW2 Format = "qcow2"
	FormatVMDK  Format = "vmdk"
)

// DiskFile is a disk image of the artifact as Classify found it.
type DiskFile struct {
	// Path is the file the artifact lists (for a VMDK split into extents,
	// its descriptor).
	Path string
	// Format is what the file's first bytes say, whatever its extension.
	Format Format
	// Subformat is a VMDK's createType (streamOptimized, monolithicSparse,
	// monolithicFlat, twoGbMaxExtentSparse, ...) or a qcow2's version
	// ("v2", "v3"); "" for raw.
	Subformat string
	// Capacity is the virtual disk's size in bytes, from the image's
	// header (raw: the file's size).
	Capacity int64
	// Extents are the files a VMDK descriptor names, in order, as paths
	// beside the descriptor. They belong to this disk.
	Extents []string
	// Backing is the parent image of a differencing disk (a qcow2 backing
	// file, a VMDK parentFileNameHint), "" for a self-contained disk. Such
	// a disk must be converted by a reader that follows the chain
	// (qemu-img).
	Backing string
}

// StreamOptimized reports whether the disk can go into an OVA as it is.
func (d DiskFile) StreamOptimized() bool {
	return d.Format == FormatVMDK && d.Subformat == "streamOptimized" && d.Backing == ""
}

// Magic numbers (first bytes of the file).
var (
	qcow2Magic      = []byte("QFI\xfb")
	vmdkSparseMagic = []byte("KDMV") // SparseExtentHeader.magicNumber 0x564d444b, little-endian
	vmdkCOWDMagic   = []byte("COWD") // ESX 2/3 sparse, which no current tool writes
	descriptorMagic = []byte("# Disk DescriptorFile")
)

// sparseExtent is the Subformat of a KDMV file without an embedded
// descriptor: one extent of a split VMDK (twoGbMaxExtentSparse).
const sparseExtent = "sparse extent"

// maxDescriptor bounds a text descriptor or an embedded one: VMware writes
// one sector or a few; 1 MiB is far beyond any real one.
const maxDescriptor = 1 << 20

// ProbeDisk reads a file's header and says which disk format it holds:
// qcow2 ("QFI\xfb"), VMDK (a "KDMV" sparse header or a "# Disk
// DescriptorFile" text descriptor) or, failing both, raw. Raw images must
// be a non-zero multiple of 512 bytes.
func ProbeDisk(path string) (DiskFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return DiskFile{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return DiskFile{}, err
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return DiskFile{}, fmt.Errorf("%s: read header: %w", path, err)
	}
	head = head[:n]
	d := DiskFile{Path: path}
	switch {
	case bytes.HasPrefix(head, qcow2Magic):
		return d, probeQCOW2(f, head, &d)
	case bytes.HasPrefix(head, vmdkSparseMagic):
		return d, probeSparse(f, head, &d)
	case bytes.HasPrefix(head, vmdkCOWDMagic):
		return d, fmt.Errorf("%s: an ESX 3 sparse (COWD) VMDK, which this post-processor does not read; convert it with `vmkfstools -i` or `qemu-img convert -O vmdk`", path)
	case bytes.HasPrefix(head, descriptorMagic):
		return d, probeDescriptor(f, &d)
	}
	d.Format, d.Capacity = FormatRaw, fi.Size()
	if fi.Size() == 0 || fi.Size()%512 != 0 {
		return d, fmt.Errorf("%s: %d bytes is not a raw disk image (a non-zero multiple of 512 bytes), and it has no qcow2 or VMDK header", path, fi.Size())
	}
	return d, nil
}

// probeQCOW2 reads the header fields QEMU's docs/interop/qcow2.txt
// defines: version (4), backing_file_offset (8), backing_file_size (16),
// size (24), crypt_method (32); v3: incompatible_features (72).
func probeQCOW2(f *os.File, h []byte, d *DiskFile) error {
	d.Format = FormatQCOW2
	if len(h) < 48 {
		return fmt.Errorf("%s: qcow2 header is truncated (%d bytes)", d.Path, len(h))
	}
	be := binary.BigEndian
	version := be.Uint32(h[4:])
	if version != 2 && version != 3 {
		return fmt.Errorf("%s: qcow2 version %d; only versions 2 and 3 exist", d.Path, version)
	}
	d.Subformat = fmt.Sprintf("v%d", version)
	size := be.Uint64(h[24:])
	if size == 0 || size > 1<<62 {
		return fmt.Errorf("%s: qcow2 virtual size %d is not a usable disk size", d.Path, size)
	}
	d.Capacity = int64(size)
	if m := be.Uint32(h[32:]); m != 0 {
		return fmt.Errorf("%s: an encrypted qcow2 (crypt_method %d); decrypt it first (qemu-img convert with --object secret)", d.Path, m)
	}
	if version == 3 && len(h) >= 80 {
		if be.Uint64(h[72:])&2 != 0 {
			return fmt.Errorf("%s: the qcow2 is marked corrupt; repair it with `qemu-img check -r all` first", d.Path)
		}
	}
	off, n := be.Uint64(h[8:]), be.Uint32(h[16:])
	if off != 0 && n > 0 {
		if n > 1023 { // the spec's limit
			return fmt.Errorf("%s: qcow2 backing file name of %d bytes (the format allows 1023)", d.Path, n)
		}
		name := make([]byte, n)
		if _, err := f.ReadAt(name, int64(off)); err != nil {
			return fmt.Errorf("%s: read qcow2 backing file name: %w", d.Path, err)
		}
		d.Backing = string(name)
	}
	return nil
}

// probeSparse reads a hosted sparse extent header (VMware "Virtual Disk
// Format 5.0": version at 4, capacity at 12 in sectors, descriptorOffset
// at 28 and descriptorSize at 36, little-endian).
func probeSparse(f *os.File, h []byte, d *DiskFile) error {
	d.Format = FormatVMDK
	if len(h) < 512 {
		return fmt.Errorf("%s: VMDK sparse header is truncated (%d bytes)", d.Path, len(h))
	}
	le := binary.LittleEndian
	if v := le.Uint32(h[4:]); v < 1 || v > 3 {
		return fmt.Errorf("%s: VMDK sparse header version %d; VMware defines 1 to 3", d.Path, v)
	}
	capacity := le.Uint64(h[12:])
	if capacity == 0 || capacity > 1<<53 {
		return fmt.Errorf("%s: VMDK capacity of %d sectors is not a usable disk size", d.Path, capacity)
	}
	d.Capacity = int64(capacity) * 512
	descOff, descSize := le.Uint64(h[28:]), le.Uint64(h[36:])
	if descOff == 0 || descSize == 0 {
		d.Subformat = sparseExtent
		return nil
	}
	if descSize*512 > maxDescriptor || descOff > 1<<40 {
		return fmt.Errorf("%s: embedded descriptor of %d sectors at sector %d is beyond any real VMDK's", d.Path, descSize, descOff)
	}
	buf := make([]byte, descSize*512)
	n, err := f.ReadAt(buf, int64(descOff)*512)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: read embedded descriptor: %w", d.Path, err)
	}
	buf = buf[:n]
	if i := bytes.IndexByte(buf, 0); i >= 0 {
		buf = buf[:i]
	}
	if len(bytes.TrimSpace(buf)) == 0 {
		// qemu-img reserves a descriptor area in split extents and leaves
		// it empty: an extent all the same.
		d.Subformat = sparseExtent
		return nil
	}
	desc, err := parseDescriptor(buf)
	if err != nil {
		return fmt.Errorf("%s: embedded descriptor: %w", d.Path, err)
	}
	d.Subformat, d.Backing = desc.createType, desc.parent
	return nil
}

// probeDescriptor reads a text descriptor and the extents it names.
func probeDescriptor(f *os.File, d *DiskFile) error {
	d.Format = FormatVMDK
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxDescriptor+1))
	if err != nil {
		return fmt.Errorf("%s: %w", d.Path, err)
	}
	if len(data) > maxDescriptor {
		return fmt.Errorf("%s: a VMDK descriptor larger than %d bytes; is this a descriptor?", d.Path, maxDescriptor)
	}
	desc, err := parseDescriptor(data)
	if err != nil {
		return fmt.Errorf("%s: %w", d.Path, err)
	}
	if len(desc.extents) == 0 {
		return fmt.Errorf("%s: the VMDK descriptor names no extents", d.Path)
	}
	d.Subformat, d.Backing = desc.createType, desc.parent
	dir := filepath.Dir(d.Path)
	for _, e := range desc.extents {
		d.Capacity += e.sectors * 512
		if e.file != "" {
			d.Extents = append(d.Extents, filepath.Join(dir, e.file))
		}
	}
	return nil
}

type descriptor struct {
	createType string
	parent     string // parentFileNameHint when parentCID is not ffffffff
	extents    []extent
}

type extent struct {
	sectors int64
	kind    string // SPARSE, FLAT, ZERO, VMFS, ...
	file    string // "" for ZERO
}

// extentRE is an extent line: access, size in sectors, type, then a quoted
// file name and an offset, or nothing (ZERO).
var extentRE = regexp.MustCompile(`^(RW|RDONLY|NOACCESS)\s+([0-9]+)\s+([A-Z]+)(?:\s+"([^"]*)"(?:\s+[0-9]+)?)?\s*$`)

func parseDescriptor(data []byte) (descriptor, error) {
	var d descriptor
	parentCID := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxDescriptor)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		if m := extentRE.FindStringSubmatch(s); m != nil {
			n, err := strconv.ParseInt(m[2], 10, 64)
			if err != nil || n <= 0 || n > 1<<53 {
				return d, fmt.Errorf("line %d: extent size %q is not a sector count", line, m[2])
			}
			if m[4] != "" && (strings.ContainsAny(m[4], `/\`) || m[4] == ".." || m[4] == ".") {
				return d, fmt.Errorf("line %d: extent file %q is not a plain file name beside the descriptor", line, m[4])
			}
			if m[3] != "ZERO" && m[4] == "" {
				return d, fmt.Errorf("line %d: %s extent without a file name", line, m[3])
			}
			d.extents = append(d.extents, extent{sectors: n, kind: m[3], file: m[4]})
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			continue // ddb lines and others we do not need are all key=value
		}
		k, v = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"`)
		switch strings.ToLower(k) {
		case "createtype":
			d.createType = v
		case "parentcid":
			parentCID = strings.ToLower(v)
		case "parentfilenamehint":
			d.parent = v
		}
	}
	if err := sc.Err(); err != nil {
		return d, err
	}
	if d.createType == "" {
		return d, errors.New("no createType")
	}
	if parentCID == "" || parentCID == "ffffffff" {
		d.parent = ""
	} else if d.parent == "" {
		d.parent = "(parent " + parentCID + ")"
	}
	return d, nil
}
