// Package exportdir writes the export folder both builders produce (an OVF,
// its disks and other files, and a manifest, as a vSphere export looks):
// every file is written atomically (internal/atomicfile) with mode 0644 (an
// export is for sharing, like the OVA made from it), its manifest digest
// computed while it is written, and everything written is removed again when
// the build fails or is cancelled. It also checks the `export {}` options
// that shape the folder (options.go). It has no Packer imports.
//
// The builders publish differently, on purpose: `vsphere-ova` commits each
// file as its download from vSphere ends (Put), `vsphere-ova-qemu` writes
// every file under a temporary name and publishes them together (CommitAll),
// so a failure leaves nothing under a final name.
package exportdir

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ctxio"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/writeback"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// Dir is an export folder being written. Its files may be written on
// several goroutines at once (one File each).
type Dir struct {
	mu        sync.Mutex // guards files and published
	path      string
	manifest  string   // "none", or the digest algorithm
	madeDir   bool     // Open created the folder, so Remove removes it
	files     []*File  // created and not aborted, in creation order
	published []string // final paths, in publication order
	// Stale lists what Open removed: the temporary files that runs killed
	// before they could clean up left in the folder (atomicfile.RemoveStale).
	Stale []atomicfile.Removed
}

// Open creates the folder path (and its parents) when it is missing, and
// removes what killed runs left in it (Stale).
// manifest is the export's manifest algorithm (ovf.NewHash), or "none".
func Open(path, manifest string) (*Dir, error) {
	_, err := os.Stat(path)
	made := os.IsNotExist(err)
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, err
	}
	stale, err := atomicfile.RemoveStale(path)
	if err != nil {
		return nil, err
	}
	return &Dir{path: path, manifest: manifest, madeDir: made, Stale: stale}, nil
}

// File is one file of the export, written under a temporary name until it
// is published.
type File struct {
	d    *Dir
	f    *atomicfile.File
	name string
	h    hash.Hash // nil without a manifest
	n    int64
}

// Create starts the file name in the folder. name must be a plain file name
// (ovf.CheckHref): it comes from an OVF or from the export's name.
func (d *Dir) Create(name string) (*File, error) {
	if err := ovf.CheckHref(name); err != nil {
		return nil, fmt.Errorf("refusing to write export file %q: %w", name, err)
	}
	var h hash.Hash
	if d.manifest != "none" {
		var err error
		if h, err = ovf.NewHash(d.manifest); err != nil {
			return nil, err
		}
	}
	f, err := atomicfile.Create(filepath.Join(d.path, name), 0o644)
	if err != nil {
		return nil, err
	}
	file := &File{d: d, f: f, name: name, h: h}
	d.mu.Lock()
	d.files = append(d.files, file)
	d.mu.Unlock()
	return file, nil
}

// Copy writes all of r into the file, which nothing else has written: the
// file (its writeback kept going, internal/writeback) and the hash each on a
// goroutine of its own (ctxio.Tee), so a large file is read once and hashed
// on another core while it is written (issue 8). It stops when ctx is done.
func (f *File) Copy(ctx context.Context, r io.Reader) (int64, error) {
	pw := writeback.New(f.f.File)
	ws := []io.Writer{pw}
	if f.h != nil {
		ws = append(ws, f.h)
	}
	n, err := ctxio.Tee(ctx, r, ws...)
	pw.Close()
	f.n += n
	if err != nil {
		return n, fmt.Errorf("writing %s: %w", f.f.Final(), err)
	}
	return n, nil
}

// Write writes p to the file and the hash in turn, for a producer that
// pushes its output (vmdk.Write) rather than being read.
func (f *File) Write(p []byte) (int, error) {
	n, err := f.f.Write(p)
	if f.h != nil {
		f.h.Write(p[:n])
	}
	f.n += int64(n)
	return n, err
}

// Name is the file's name in the folder.
func (f *File) Name() string { return f.name }

// Size is the number of bytes written so far.
func (f *File) Size() int64 { return f.n }

// Digest is the hex manifest digest of what was written, "" without a
// manifest.
func (f *File) Digest() string {
	if f.h == nil {
		return ""
	}
	return fmt.Sprintf("%x", f.h.Sum(nil))
}

// Abort removes the temporary file; a no-op once the file is published. An
// aborted file is no longer part of the export (nor of its manifest).
func (f *File) Abort() {
	if f == nil {
		return
	}
	d := f.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.isPublished(f) {
		return
	}
	f.f.Abort()
	d.files = slices.DeleteFunc(d.files, func(g *File) bool { return g == f })
}

// isPublished needs d.mu.
func (d *Dir) isPublished(f *File) bool { return slices.Contains(d.published, f.f.Final()) }

// Put writes r into the file name and publishes it at once (fsync, rename):
// Create, Copy, Commit. On error nothing of the file remains.
func (d *Dir) Put(ctx context.Context, name string, r io.Reader) (*File, error) {
	f, err := d.Create(name)
	if err != nil {
		return nil, err
	}
	defer f.Abort()
	if _, err := f.Copy(ctx, r); err != nil {
		return nil, err
	}
	if err := d.CommitAll(ctx, f); err != nil {
		return nil, err
	}
	return f, nil
}

// CommitAll publishes files together (atomicfile.CommitAll), or with no
// arguments (once every file is written) all files created and not yet
// published. A cancelled ctx publishes nothing.
func (d *Dir) CommitAll(ctx context.Context, files ...*File) error {
	d.mu.Lock()
	if len(files) == 0 {
		for _, f := range d.files {
			if !d.isPublished(f) {
				files = append(files, f)
			}
		}
	}
	d.mu.Unlock()
	afs := make([]*atomicfile.File, len(files))
	for i, f := range files {
		afs[i] = f.f
	}
	// Not under d.mu: the fsyncs of files written at once overlap.
	if err := atomicfile.CommitAll(ctx, afs...); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, f := range files {
		d.published = append(d.published, f.f.Final())
	}
	return nil
}

// Manifest is the manifest of the files created so far: first's entry (the
// descriptor), then the others in creation order, as ovftool writes it.
// Write it with Bytes.
func (d *Dir) Manifest(first *File) *ovf.Manifest {
	d.mu.Lock()
	defer d.mu.Unlock()
	mf := &ovf.Manifest{}
	add := func(f *File) {
		mf.Entries = append(mf.Entries, ovf.ManifestEntry{Algorithm: d.manifest, Name: f.name, Digest: f.Digest()})
	}
	add(first)
	for _, f := range d.files {
		if f != first {
			add(f)
		}
	}
	return mf
}

// Published lists the final paths of the published files, in the order they
// were published.
func (d *Dir) Published() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.published...)
}

// Abort removes the temporary files of every file not yet published; a
// deferred Abort ends an export that stopped half way.
func (d *Dir) Abort() {
	d.mu.Lock()
	files := slices.Clone(d.files)
	d.mu.Unlock()
	for _, f := range files {
		f.Abort()
	}
}

// Remove undoes the export: the temporary files, the published files, and
// the folder if Open created it and it is empty now (files the export did
// not write stay, and so does their folder).
func (d *Dir) Remove() error {
	d.Abort()
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for _, p := range d.published {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	d.published = nil
	d.files = nil
	if d.madeDir {
		_ = os.Remove(d.path) // only if empty
	}
	return errors.Join(errs...)
}
