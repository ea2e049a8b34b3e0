package ociarchive

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ctxio"
)

// write writes the archive: the OCI layout, every reference's blobs, then
// index.json, and publishes it under path only once complete.
func (w *writer) write(ctx context.Context, path string) (*Result, error) {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("folder %q for the image archive does not exist; create it first", dir)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("image archive path %q is a folder; give a file name ending in %q", path, Suffix)
	}
	a, err := createArchive(path)
	if err != nil {
		return nil, err
	}
	defer a.abort()
	w.out = a
	for _, f := range []struct {
		name string
		data []byte
	}{{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)}, {"blobs/", nil}, {"blobs/sha256/", nil}} {
		if err := a.file(f.name, f.data); err != nil {
			return nil, err
		}
	}
	res := &Result{Path: path}
	index, err := w.images(ctx, path, res)
	if err != nil {
		return nil, err
	}
	ij, err := json.Marshal(index)
	if err != nil {
		return nil, err
	}
	if err := a.file("index.json", ij); err != nil {
		return nil, err
	}
	if err := a.finish(); err != nil {
		return nil, err
	}
	// Commit publishes nothing when ctx was cancelled meanwhile.
	if err := a.f.Commit(ctx); err != nil {
		return nil, fmt.Errorf("image archive %q: %w", path, err)
	}
	res.Blobs = len(w.written)
	res.Size = a.size.n
	res.TarSize = a.tarSize.n
	w.logf("wrote %s: %d images, %d blobs, %d bytes (%d uncompressed)", path, len(res.Images), res.Blobs, res.Size, res.TarSize)
	return res, nil
}

// images resolves and stores each reference (once, however often listed)
// and returns the index.json that names them.
func (w *writer) images(ctx context.Context, path string, res *Result) (*v1.IndexManifest, error) {
	index := &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	seen := map[string]bool{}
	for _, ref := range w.o.References {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("image archive %q: %w", path, err)
		}
		if seen[ref] {
			w.logf("%s: listed twice, bundled once", ref)
			continue
		}
		seen[ref] = true
		w.logf("%s: resolving for %s", ref, platformString(&w.platform))
		p, err := w.resolve(ref)
		if err != nil {
			return nil, err
		}
		w.logf("%s: %s %s", ref, p.image.MediaType, p.image.Digest)
		if err := w.blobs(ctx, ref, p.blobs); err != nil {
			return nil, err
		}
		index.Manifests = append(index.Manifests, p.entry)
		res.Images = append(res.Images, p.image)
	}
	return index, nil
}

// blobs stores the blobs not yet in the archive, streaming layers from the
// registry and checking each against its digest and size.
func (w *writer) blobs(ctx context.Context, ref string, bs []blob) error {
	var total, done int64
	for _, b := range bs {
		if !w.written[b.desc.Digest] {
			total += b.desc.Size
		}
	}
	for _, b := range bs {
		if w.written[b.desc.Digest] {
			w.logf("%s: blob %s already in the archive (shared)", ref, b.desc.Digest)
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("image %q: %w", ref, err)
		}
		if b.desc.Digest.Algorithm != "sha256" {
			return fmt.Errorf("image %q: blob %s uses %s; only sha256 digests are supported", ref, b.desc.Digest, b.desc.Digest.Algorithm)
		}
		if err := w.out.header("blobs/sha256/"+b.desc.Digest.Hex, b.desc.Size); err != nil {
			return fmt.Errorf("image %q: writing blob %s: %w", ref, b.desc.Digest, err)
		}
		if b.data != nil {
			if int64(len(b.data)) != b.desc.Size {
				return fmt.Errorf("image %q: blob %s is %d bytes, its descriptor says %d", ref, b.desc.Digest, len(b.data), b.desc.Size)
			}
			if _, err := w.out.tw.Write(b.data); err != nil {
				return fmt.Errorf("image %q: writing blob %s: %w", ref, b.desc.Digest, err)
			}
		} else if err := w.layer(ctx, ref, b, done, total); err != nil {
			return err
		}
		w.written[b.desc.Digest] = true
		done += b.desc.Size
		if w.o.Progress != nil {
			w.o.Progress(ref, done, total)
		}
	}
	return nil
}

// layer streams one layer from the registry into the tar.
func (w *writer) layer(ctx context.Context, ref string, b blob, done, total int64) error {
	rc, err := b.open()
	if err != nil {
		return describeErr(ref, refHost(ref), fmt.Errorf("fetching layer %s: %w", b.desc.Digest, err))
	}
	defer rc.Close()
	// remote's requests carry ctx as well; ctxio also stops a copy from
	// data already buffered or a body that ignores the context.
	pr := &progressReader{r: ctxio.Reader(ctx, rc), fn: w.o.Progress, ref: ref, done: done, total: total}
	// remote's Compressed() verifies the digest at EOF; the tar writer
	// rejects a short or long body.
	n, err := io.Copy(w.out.tw, pr)
	if err == nil && n != b.desc.Size {
		err = fmt.Errorf("got %d bytes, the manifest says %d", n, b.desc.Size)
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("image %q: %w", ref, ctx.Err())
		}
		return describeErr(ref, refHost(ref), fmt.Errorf("layer %s: %w", b.desc.Digest, err))
	}
	return nil
}

// archive is the compressed tar stream being written into a temporary file:
// tar -> count -> zstd -> buffer -> count -> file.
type archive struct {
	f       *atomicfile.File
	size    *countingWriter // compressed bytes
	buf     *bufio.Writer
	zw      *zstd.Encoder
	tarSize *countingWriter // uncompressed tar bytes
	tw      *tar.Writer
	closed  bool
}

func createArchive(path string) (*archive, error) {
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return nil, fmt.Errorf("creating the image archive: %w", err)
	}
	a := &archive{f: f, size: &countingWriter{w: f}}
	a.buf = bufio.NewWriterSize(a.size, 1<<20)
	a.zw, err = zstd.NewWriter(a.buf, zstd.WithWindowSize(WindowSize), zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		f.Abort()
		return nil, fmt.Errorf("starting zstd: %w", err)
	}
	a.tarSize = &countingWriter{w: a.zw}
	a.tw = tar.NewWriter(a.tarSize)
	return a, nil
}

var epoch = time.Unix(0, 0)

// header starts a regular file of size bytes in the tar.
func (a *archive) header(name string, size int64) error {
	return a.tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX})
}

// file writes a small file (or a folder, when name ends in "/") to the tar.
func (a *archive) file(name string, data []byte) error {
	h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if strings.HasSuffix(name, "/") {
		h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
	}
	if err := a.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("writing %s to the image archive: %w", name, err)
	}
	if _, err := a.tw.Write(data); err != nil {
		return fmt.Errorf("writing %s to the image archive: %w", name, err)
	}
	return nil
}

// finish ends the tar and the zstd frame and flushes them to the file.
func (a *archive) finish() error {
	if err := a.tw.Close(); err != nil {
		return fmt.Errorf("writing the image archive tar: %w", err)
	}
	a.closed = true
	if err := a.zw.Close(); err != nil {
		return fmt.Errorf("compressing the image archive: %w", err)
	}
	if err := a.buf.Flush(); err != nil {
		return fmt.Errorf("writing the image archive %q: %w", a.f.Name(), err)
	}
	return nil
}

// abort stops the encoder's goroutines and removes the temporary file; a
// no-op for the file once committed.
func (a *archive) abort() {
	if !a.closed {
		a.closed = true
		a.zw.Close()
	}
	a.f.Abort()
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// progressReader reports progress about every 4 MiB, not on each read.
type progressReader struct {
	r                 io.Reader
	fn                func(string, int64, int64)
	ref               string
	done, total, last int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.fn != nil && p.done-p.last >= 4<<20 {
		p.last = p.done
		p.fn(p.ref, p.done, p.total)
	}
	return n, err
}
