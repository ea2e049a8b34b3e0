package disk

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

// Info is what Probe found in a disk image file.
type Info struct {
	// Path is the file probed (for a VMDK split into extents, its
	// descriptor).
	Path string
	// Format is what the file's first bytes say, whatever its extension.
	Format Format
	// Subformat is a VMDK's createType (streamOptimized, monolithicSparse,
	// monolithicFlat, twoGbMaxExtentSparse, ...), SparseExtent for one
	// extent of a split VMDK, or a qcow2's version ("v2", "v3"); "" for
	// the others.
	Subformat string
	// Capacity is the virtual disk's size in bytes, from the image's
	// header (raw: the file's size); 0 when only qemu-img can tell.
	Capacity int64
	// Extents are the files a VMDK descriptor names, in order, as paths
	// beside the descriptor. They belong to this disk.
	Extents []string
	// Backing is the parent image of a differencing disk (a qcow2 backing
	// file, a VMDK parentFileNameHint), "" for a self-contained disk. Such
	// a disk is converted by a reader that follows the chain (qemu-img).
	Backing string
}

// SparseExtent is the Subformat of a KDMV file without an embedded
// descriptor: one extent of a split VMDK (twoGbMaxExtentSparse), not a disk
// by itself.
const SparseExtent = "sparse extent"

// StreamOptimized reports whether the disk can go into an OVA as it is.
func (d Info) StreamOptimized() bool {
	return d.Format == FormatVMDK && d.Subformat == "streamOptimized" && d.Backing == ""
}

// CheckSectors refuses a raw image that is not a non-zero multiple of 512
// bytes: such a file merely has no header, it is no disk. Open reads one
// anyway (its last sector is padded); Classify leaves it out.
func (d Info) CheckSectors() error {
	if d.Format == FormatRaw && (d.Capacity == 0 || d.Capacity%512 != 0) {
		return fmt.Errorf("%s: %d bytes is not a raw disk image (a non-zero multiple of 512 bytes), and it has no qcow2 or VMDK header", d.Path, d.Capacity)
	}
	return nil
}

// Probe reads a file's header and says which disk format it holds (see
// sniff) and what the header says about the disk. It reads no data: Open
// does that, deciding the format the same way.
func Probe(path string) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Info{}, err
	}
	head, err := readHead(f, path)
	if err != nil {
		return Info{}, err
	}
	d := Info{Path: path, Format: sniff(f, head, fi.Size())}
	switch {
	case d.Format == FormatQCOW2:
		return d, probeQCOW2(f, &d)
	case d.Format == FormatVMDK && strings.HasPrefix(string(head), "KDMV"):
		return d, probeSparse(f, fi.Size(), &d)
	case d.Format == FormatVMDK && strings.HasPrefix(string(head), "COWD"):
		return d, fmt.Errorf("%s: an ESX 3 sparse (COWD) VMDK, which this post-processor does not read; convert it with `vmkfstools -i` or `qemu-img convert -O vmdk`", path)
	case d.Format == FormatVMDK:
		return d, probeDescriptor(f, &d)
	case d.Format == FormatRaw:
		d.Capacity = fi.Size()
		if fi.Size() == 0 {
			return d, d.CheckSectors()
		}
	default:
		d.Capacity = qemuImgCapacity(f, d.Format, head, fi.Size())
	}
	return d, nil
}

// readHead reads the first headSize bytes (fewer for a short file).
func readHead(f *os.File, path string) ([]byte, error) {
	head := make([]byte, headSize)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return head[:n], nil
}

// probeQCOW2 reads the header with the qcow2 reader's own header parser,
// refusing what no reader converts (encrypted or corrupt images).
func probeQCOW2(f *os.File, d *Info) error {
	h, err := vmdk.ReadQCOW2Header(f)
	if err != nil {
		return fmt.Errorf("%s: %w", d.Path, err)
	}
	d.Subformat, d.Capacity, d.Backing = fmt.Sprintf("v%d", h.Version), h.Size, h.BackingFile
	if h.Size == 0 {
		return fmt.Errorf("%s: qcow2 virtual size 0 is not a usable disk size", d.Path)
	}
	if h.CryptMethod != 0 {
		return fmt.Errorf("%s: an encrypted qcow2 (crypt_method %d); decrypt it first (qemu-img convert with --object secret)", d.Path, h.CryptMethod)
	}
	if h.Corrupt() {
		return fmt.Errorf("%s: the qcow2 is marked corrupt; repair it with `qemu-img check -r all` first", d.Path)
	}
	return nil
}

// probeSparse reads a hosted sparse extent's header and embedded
// descriptor with the vmdk package's reader (the one the conversion uses).
func probeSparse(f *os.File, size int64, d *Info) error {
	hdr, desc, err := vmdk.ReadHeader(f, size)
	if err != nil {
		return fmt.Errorf("%s: %w", d.Path, err)
	}
	d.Capacity = int64(hdr.Capacity) * vmdk.SectorSize
	if desc == nil || len(desc.Extents) == 0 {
		// No descriptor, or qemu-img's empty descriptor area in split
		// extents: one extent of a split VMDK.
		d.Subformat = SparseExtent
		return nil
	}
	if desc.CreateType == "" {
		return fmt.Errorf("%s: embedded descriptor: no createType", d.Path)
	}
	d.Subformat, d.Backing = desc.CreateType, parent(desc)
	return nil
}

// probeDescriptor reads a text descriptor and the extents it names.
func probeDescriptor(f *os.File, d *Info) error {
	data, err := io.ReadAll(io.NewSectionReader(f, 0, maxDescriptor+1))
	if err != nil {
		return fmt.Errorf("%s: %w", d.Path, err)
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
