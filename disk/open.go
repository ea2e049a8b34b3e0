package disk

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
	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
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
	// VMware's readers expect (vmdk.CheckStreamLayout passed): it is
	// shipped unchanged by WriteStreamOptimized.
	VMwareStream bool
	// LayoutProblem says why a streamOptimized VMDK is re-encoded (e.g.
	// qemu-img's directory in front); empty otherwise.
	LayoutProblem string
	// ViaQemuImg is set when the native readers refused the input and
	// qemu-img converted it to a temporary raw file (RawCopy).
	ViaQemuImg bool
	// RawCopy is that temporary file, removed by Close.
	RawCopy string
	// Path is the file Open was given.
	Path string

	image   *vmdk.Image // the sparse extent, for a standalone VMDK
	files   []*os.File
	cleanup []func()
}

// OpenOptions configure Open.
type OpenOptions struct {
	// QemuImg is the qemu-img program used for inputs the native readers
	// refuse (qcow2 with a backing file or encryption, VHD, VHDX, VDI, ...):
	// "" looks "qemu-img" up on PATH, "-" disables the fallback.
	QemuImg string
	// TempDir receives qemu-img's raw copy (sparse; it needs room for the
	// disk's data); "" means the input's folder.
	TempDir string
}

// Open opens a disk image for conversion, deciding its format as Probe
// does: a sparse VMDK extent (streamOptimized, monolithicSparse), a VMDK
// descriptor file with flat, sparse or zero extents (monolithicFlat,
// twoGbMaxExtentSparse/Flat, vmfs), qcow2, or raw. Inputs the native
// readers refuse, and the formats only qemu-img reads, go through
// `qemu-img convert -O raw` to a temporary file, unless opts disables it.
func Open(ctx context.Context, path string, opts OpenOptions) (*Disk, error) {
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
	head, err := readHead(f, path)
	if err != nil {
		return nil, err
	}
	if len(head) == 0 {
		return nil, Info{Path: path, Format: FormatRaw}.CheckSectors()
	}
	switch d.Format = sniff(f, head, size); {
	case d.Format == FormatQCOW2:
		q, err := vmdk.OpenQCOW2(f, size)
		if errors.Is(err, vmdk.ErrUnsupportedQCOW2) {
			return nil, &unsupportedError{FormatQCOW2, fmt.Errorf("%s: %w", path, err)}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		d.ReaderAt, d.Size = q, q.Size()
	case d.Format == FormatVMDK && bytes.HasPrefix(head, []byte("KDMV")):
		return d, d.openSparseVMDK(f, size)
	case d.Format == FormatVMDK && bytes.HasPrefix(head, []byte("COWD")):
		return nil, &unsupportedError{FormatVMDK, fmt.Errorf("%s is an ESX 3 sparse (COWD) VMDK extent, which only qemu-img reads here", path)}
	case d.Format == FormatVMDK:
		return d, d.openDescriptorFile(f, size)
	case d.Format == FormatRaw:
		d.ReaderAt, d.Size = f, size
	default:
		return nil, &unsupportedError{d.Format, fmt.Errorf("%s is a %s image, which only qemu-img reads here", path, d.Format)}
	}
	return d, nil
}

// openDescriptorFile opens the extents a VMDK text descriptor names.
func (d *Disk) openDescriptorFile(f *os.File, size int64) error {
	text := make([]byte, size)
	if _, err := f.ReadAt(text, 0); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading %s: %w", d.Path, err)
	}
	x, err := vmdk.OpenExtents(d.Path, text)
	if err != nil {
		return err
	}
	d.cleanup = append(d.cleanup, func() { x.Close() })
	d.ReaderAt, d.Size, d.CreateType = x, x.Size(), x.CreateType
	return nil
}

func (d *Disk) openSparseVMDK(f *os.File, size int64) error {
	im, err := vmdk.Open(f, size)
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
		if _, err := vmdk.CheckStreamLayout(f, size); err != nil {
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
// re-encoding); anything else is encoded with vmdk.Write.
func (d *Disk) WriteStreamOptimized(ctx context.Context, dst io.Writer, o vmdk.Options) (vmdk.Stats, error) {
	if !d.VMwareStream {
		return vmdk.Write(ctx, dst, d.ReaderAt, d.Size, o)
	}
	f := d.files[0]
	fi, err := f.Stat()
	if err != nil {
		return vmdk.Stats{}, err
	}
	grains, populated, err := d.image.Allocated()
	if err != nil {
		return vmdk.Stats{}, err
	}
	n, err := ctxio.Copy(ctx, dst, io.NewSectionReader(f, 0, fi.Size()))
	if err != nil {
		return vmdk.Stats{}, fmt.Errorf("copying %s: %w", d.Path, err)
	}
	if o.Progress != nil {
		o.Progress(d.Size, d.Size)
	}
	return vmdk.Stats{Size: n, Capacity: d.Size, AllocatedGrains: grains, PopulatedSize: populated}, nil
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
