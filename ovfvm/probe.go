package ovfvm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
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
		return d, probeSparse(f, fi.Size(), &d)
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

// probeSparse reads a hosted sparse extent's header and embedded
// descriptor with the vmdk package's reader (the one the conversion uses).
func probeSparse(f *os.File, size int64, d *DiskFile) error {
	d.Format = FormatVMDK
	hdr, desc, err := vmdk.ReadHeader(f, size)
	if err != nil {
		return fmt.Errorf("%s: %w", d.Path, err)
	}
	d.Capacity = int64(hdr.Capacity) * vmdk.SectorSize
	if desc == nil || len(desc.Extents) == 0 {
		// No descriptor, or qemu-img's empty descriptor area in split
		// extents: one extent of a split VMDK.
		d.Subformat = sparseExtent
		return nil
	}
	if desc.CreateType == "" {
		return fmt.Errorf("%s: embedded descriptor: no createType", d.Path)
	}
	d.Subformat, d.Backing = desc.CreateType, parent(desc)
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
	desc, err := vmdk.ParseDescriptor(string(data))
	if err != nil {
		return fmt.Errorf("%s: %w", d.Path, err)
	}
	if desc.CreateType == "" {
		return fmt.Errorf("%s: the VMDK descriptor has no createType", d.Path)
	}
	if len(desc.Extents) == 0 {
		return fmt.Errorf("%s: the VMDK descriptor names no extents", d.Path)
	}
	d.Subformat, d.Backing = desc.CreateType, parent(desc)
	dir := filepath.Dir(d.Path)
	for i, e := range desc.Extents {
		if e.Sectors == 0 || e.Sectors > 1<<53 {
			return fmt.Errorf("%s: extent %d: %d sectors is not a usable size", d.Path, i+1, e.Sectors)
		}
		d.Capacity += int64(e.Sectors) * vmdk.SectorSize
		if e.Type != "ZERO" && e.File == "" {
			return fmt.Errorf("%s: extent %d: %s extent without a file name", d.Path, i+1, e.Type)
		}
		if e.File != "" {
			if !plainName(e.File) {
				return fmt.Errorf("%s: extent %d: file %q is not a plain file name beside the descriptor", d.Path, i+1, e.File)
			}
			d.Extents = append(d.Extents, filepath.Join(dir, e.File))
		}
	}
	return nil
}

// plainName reports whether name is a file name without any folder part.
func plainName(name string) bool {
	return !strings.ContainsAny(name, `/\`) && name != ".." && name != "."
}

// parent is a delta disk's parent as the descriptor names it, "" for a
// self-contained disk (parentCID ffffffff or absent).
func parent(desc *vmdk.Descriptor) string {
	if desc.ParentCID == "" || strings.EqualFold(desc.ParentCID, "ffffffff") {
		return ""
	}
	if desc.ParentFileNameHint != "" {
		return desc.ParentFileNameHint
	}
	return "(parent " + strings.ToLower(desc.ParentCID) + ")"
}
