package vmdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ctxio"
)

// Format is a disk image format OpenDisk recognises.
type Format string

const (
	FormatRaw   Format = "raw"
	FormatQCOW2 Format = "qcow2"
	FormatVMDK  Format = "vmdk"
	// Formats read only through qemu-img.
	FormatVHD  Format = "vpc"
	FormatVHDX Format = "vhdx"
	FormatVDI  Format = "vdi"
)

// Disk is a virtual disk opened for conversion. Close it when done.
type Disk struct {
	// ReaderAt reads the virtual disk's bytes; it also implements
	// SparseReaderAt when the disk knows where its data is.
	io.ReaderAt
	// Size is the virtual disk size in bytes.
	Size int64
	// Format is the input's format, detected by its magic.
	Format Format
	// CreateType is a VMDK's createType ("streamOptimized",
	// "monolithicSparse", "twoGbMaxExtentSparse", "monolithicFlat", ...).
	CreateType string
	// VMwareStream is set for a streamOptimized VMDK laid out the way
	// VMware's readers expect (CheckStreamLayout passed): it is shipped
	// unchanged by WriteStreamOptimized.
	VMwareStream bool
	// LayoutProblem says why a streamOptimized VMDK is re-encoded (e.g.
	// qemu-img's directory in front); empty otherwise.
	LayoutProblem string
	// ViaQemuImg is set when the native readers refused the input and
	// qemu-img converted it to a temporary raw file (RawCopy).
	ViaQemuImg bool
	// RawCopy is that temporary file, removed by Close.
	RawCopy string
	// Path is the file OpenDisk was given.
	Path string

	image   *Image // the sparse extent, for a standalone VMDK
	files   []*os.File
	cleanup []func()
}

// OpenOptions configure OpenDisk.
type OpenOptions struct {
	// QemuImg is the qemu-img program used for inputs the native readers
	// refuse (qcow2 with a backing file or encryption, VHD, VHDX, VDI, ...):
	// "" looks "qemu-img" up on PATH, "-" disables the fallback.
	QemuImg string
	// TempDir receives qemu-img's raw copy (sparse; it needs room for the
	// disk's data); "" means the input's folder.
	TempDir string
}

// OpenDisk opens a disk image for conversion, detecting its format by magic:
// a sparse VMDK extent (streamOptimized, monolithicSparse), a VMDK
// descriptor file with flat, sparse or zero extents (monolithicFlat,
// twoGbMaxExtentSparse/Flat, vmfs), qcow2, or raw. Inputs the native readers
// refuse go through `qemu-img convert -O raw` to a temporary file, unless
// opts disables it.
func OpenDisk(ctx context.Context, path string, opts OpenOptions) (*Disk, error) {
	d, err := openNative(path)
	if err == nil {
		return d, nil
	}
	var unsupported *unsupportedError
	if !errors.As(err, &unsupported) || opts.QemuImg == "-" {
		return nil, err
	}
	prog := opts.QemuImg
	if prog == "" {
		if prog, err = exec.LookPath("qemu-img"); err != nil {
			return nil, fmt.Errorf("%w; qemu-img, which could read it, is not installed", unsupported)
		}
	}
	return openViaQemuImg(ctx, path, unsupported.format, prog, opts.TempDir, unsupported)
}

// unsupportedError marks inputs qemu-img may still read.
type unsupportedError struct {
	format Format
	err    error
}

func (e *unsupportedError) Error() string { return e.err.Error() }
func (e *unsupportedError) Unwrap() error { return e.err }

func openNative(path string) (_ *Disk, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	d := &Disk{Path: path, files: []*os.File{f}}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	size := fi.Size()
	head := make([]byte, 4096)
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	head = head[:n]
	switch {
	case n == 0:
		return nil, fmt.Errorf("%s is empty", path)
	case bytes.HasPrefix(head, []byte("KDMV")):
		d.Format = FormatVMDK
		return d, d.openSparseVMDK(f, size)
	case bytes.HasPrefix(head, []byte("QFI\xfb")):
		d.Format = FormatQCOW2
		q, err := OpenQCOW2(f, size)
		if errors.Is(err, ErrUnsupportedQCOW2) {
			return nil, &unsupportedError{FormatQCOW2, fmt.Errorf("%s: %w", path, err)}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		d.ReaderAt, d.Size = q, q.Size()
		return d, nil
	case isDescriptorFile(head, size):
		d.Format = FormatVMDK
		return d, d.openDescriptorFile(f, size)
	case bytes.HasPrefix(head, []byte("COWD")):
		return nil, &unsupportedError{FormatVMDK, fmt.Errorf("%s is an ESX 3 sparse (COWD) VMDK extent, which only qemu-img reads here", path)}
	}
	if fm, ok := otherFormat(f, head, size); ok {
		return nil, &unsupportedError{fm, fmt.Errorf("%s is a %s image, which only qemu-img reads here", path, fm)}
	}
	d.Format, d.ReaderAt, d.Size = FormatRaw, f, size
	return d, nil
}

// otherFormat recognises images that must not be taken for raw disks.
func otherFormat(f *os.File, head []byte, size int64) (Format, bool) {
	switch {
	case bytes.HasPrefix(head, []byte("vhdxfile")):
		return FormatVHDX, true
	case bytes.HasPrefix(head, []byte("conectix")):
		return FormatVHD, true // dynamic VHD: footer copy at the start
	case len(head) >= 68 && bytes.Equal(head[64:68], []byte{0x7f, 0x10, 0xda, 0xbe}):
		return FormatVDI, true
	}
	// A fixed VHD is raw data plus a 512-byte "conectix" footer.
	if size >= 512 {
		foot := make([]byte, 8)
		if n, _ := f.ReadAt(foot, size-512); n == 8 && string(foot) == "conectix" {
			return FormatVHD, true
		}
	}
	return "", false
}

func isDescriptorFile(head []byte, size int64) bool {
	if size > maxDescriptorBytes {
		return false
	}
	s := string(head)
	// qemu-img pads its descriptor files with NULs to a sector.
	return (strings.HasPrefix(s, "# Disk DescriptorFile") || strings.Contains(s, "\ncreateType=")) &&
		!bytes.ContainsRune(bytes.TrimRight(head, "\x00"), 0)
}

func (d *Disk) openSparseVMDK(f *os.File, size int64) error {
	im, err := Open(f, size)
	if err != nil {
		return fmt.Errorf("%s: %w", d.Path, err)
	}
	if im.Descriptor() == nil || len(im.Descriptor().Extents) == 0 {
		return fmt.Errorf("%s is one extent of a split VMDK (no embedded descriptor): open the descriptor .vmdk that lists its extents", d.Path)
	}
	d.image, d.ReaderAt, d.Size = im, im, im.Size()
	d.CreateType = im.Descriptor().CreateType
	if n := len(im.Descriptor().Extents); n != 1 {
		return fmt.Errorf("%s: embedded descriptor lists %d extents; a sparse VMDK file holds exactly one", d.Path, n)
	}
	if e := im.Descriptor().Extents[0]; e.Sectors != im.Header().Capacity {
		return fmt.Errorf("%s: descriptor says %d sectors, header %d", d.Path, e.Sectors, im.Header().Capacity)
	}
	if strings.EqualFold(d.CreateType, "streamOptimized") {
		if _, err := CheckStreamLayout(f, size); err != nil {
			d.LayoutProblem = err.Error()
		} else {
			d.VMwareStream = true
		}
	}
	return nil
}

// Close releases the disk's files and removes a qemu-img raw copy.
func (d *Disk) Close() error {
	var first error
	for _, f := range d.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	d.files = nil
	for _, c := range d.cleanup {
		c()
	}
	d.cleanup = nil
	return first
}

// WriteStreamOptimized writes the disk to dst as a streamOptimized VMDK.
// A VMDK already laid out as VMware's readers expect (VMwareStream) is
// copied byte for byte, keeping its descriptor (o only matters when
// re-encoding); anything else is encoded with Write.
func (d *Disk) WriteStreamOptimized(ctx context.Context, dst io.Writer, o Options) (Stats, error) {
	if !d.VMwareStream {
		return Write(ctx, dst, d.ReaderAt, d.Size, o)
	}
	f := d.files[0]
	fi, err := f.Stat()
	if err != nil {
		return Stats{}, err
	}
	grains, populated, err := d.image.Allocated()
	if err != nil {
		return Stats{}, err
	}
	n, err := ctxio.Copy(ctx, dst, io.NewSectionReader(f, 0, fi.Size()))
	if err != nil {
		return Stats{}, fmt.Errorf("copying %s: %w", d.Path, err)
	}
	if o.Progress != nil {
		o.Progress(d.Size, d.Size)
	}
	return Stats{Size: n, Capacity: d.Size, AllocatedGrains: grains, PopulatedSize: populated}, nil
}

// openViaQemuImg converts the input to a sparse raw file with qemu-img and
// opens that.
func openViaQemuImg(ctx context.Context, path string, format Format, prog, tempDir string, why error) (*Disk, error) {
	if tempDir == "" {
		tempDir = filepath.Dir(path)
	}
	tmp, err := os.CreateTemp(tempDir, "."+filepath.Base(path)+".ovakit-raw-*")
	if err != nil {
		return nil, fmt.Errorf("%w; creating a temporary raw copy for qemu-img: %v", why, err)
	}
	name := tmp.Name()
	tmp.Close()
	args := []string{"convert", "-q"}
	if format != "" {
		args = append(args, "-f", string(format))
	}
	args = append(args, "-O", "raw", path, name)
	cmd := exec.CommandContext(ctx, prog, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		os.Remove(name)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w; qemu-img convert failed too: %v: %s", why, err, strings.TrimSpace(stderr.String()))
	}
	f, err := os.Open(name)
	if err != nil {
		os.Remove(name)
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		os.Remove(name)
		return nil, err
	}
	return &Disk{
		ReaderAt: f, Size: fi.Size(), Format: format, ViaQemuImg: true, RawCopy: name, Path: path,
		files: []*os.File{f}, cleanup: []func(){func() { os.Remove(name) }},
	}, nil
}
