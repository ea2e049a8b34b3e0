// Package ova writes OVA archives from an OVF export and reads them back
// without extracting. It has no Packer imports so the post-processor and the
// builder share it.
package ova

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// ProgressTracker reports copy progress; packersdk.Ui satisfies it.
type ProgressTracker interface {
	TrackProgress(src string, currentSize, totalSize int64, stream io.ReadCloser) io.ReadCloser
}

// Options configures Pack.
type Options struct {
	OVFPath           string          // the descriptor; referenced files must sit beside it
	Output            string          // final .ova path
	ManifestAlgorithm string          // "sha256" (default when ""), "sha512", "sha1"
	ChecksumAlgorithm string          // "sha256" (default), "sha512", "none"
	ExportManifest    string          // optional path of the export's own .mf; "" = auto-detect <ovf base>.mf beside the ovf
	Force             bool            // overwrite an existing Output
	ModTime           *time.Time      // nil: each file's own mtime (whole seconds); set => reproducible
	Progress          ProgressTracker // may be nil
	Logf              func(format string, args ...any)
}

// SizeFix records an ovf:size corrected to the file's real size.
type SizeFix struct {
	Href             string
	Declared, Actual int64
}

// Result describes a written OVA.
type Result struct {
	Path, ChecksumPath string // ChecksumPath "" when ChecksumAlgorithm is "none"
	Size               int64
	Digest             string // hex digest of the whole OVA in DigestAlgorithm
	DigestAlgorithm    string
	Members            []string // tar member names in order
	SizeFixes          []SizeFix
	ReusedManifest     bool // disk digests came from the export's .mf (each disk read once)
}

type member struct {
	name   string
	path   string // "" for in-memory members
	data   []byte // in-memory members (.ovf, .mf)
	size   int64
	mtime  int64
	digest string // manifest digest (disks)
}

// Pack writes the OVA for o.OVFPath to o.Output: the .ovf first, a fresh .mf
// second, then the referenced files in References order. The output and the
// checksum file appear atomically or not at all.
func Pack(ctx context.Context, o Options) (res *Result, err error) {
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	mfAlg := strings.ToLower(o.ManifestAlgorithm)
	if mfAlg == "" {
		mfAlg = "sha256"
	}
	if mfAlg != "sha256" && mfAlg != "sha512" && mfAlg != "sha1" {
		return nil, fmt.Errorf("manifest algorithm %q is not supported: use \"sha256\" (default), \"sha512\" or \"sha1\"", o.ManifestAlgorithm)
	}
	sumAlg := strings.ToLower(o.ChecksumAlgorithm)
	if sumAlg == "" {
		sumAlg = "sha256"
	}
	if sumAlg != "sha256" && sumAlg != "sha512" && sumAlg != "none" {
		return nil, fmt.Errorf("checksum algorithm %q is not supported: use \"sha256\" (default), \"sha512\" or \"none\"", o.ChecksumAlgorithm)
	}
	if o.OVFPath == "" {
		return nil, errors.New("no OVF descriptor given")
	}
	if o.Output == "" {
		return nil, errors.New("no output path given for the OVA")
	}
	base := filepath.Base(o.OVFPath)
	if !strings.EqualFold(filepath.Ext(base), ".ovf") {
		return nil, fmt.Errorf("descriptor %s does not end in .ovf; importers find the descriptor by that extension", o.OVFPath)
	}
	digestAlg := sumAlg
	if digestAlg == "none" {
		digestAlg = "sha256"
	}
	checksumPath := ""
	if sumAlg != "none" {
		checksumPath = o.Output + "." + sumAlg
	}
	// Refuse before reading anything, so a forgotten -force costs nothing.
	if !o.Force {
		for _, p := range []string{o.Output, checksumPath} {
			if p == "" {
				continue
			}
			if _, err := os.Lstat(p); err == nil {
				return nil, fmt.Errorf("%s exists; set force = true or run packer with -force to overwrite it", p)
			} else if !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("checking output %s: %w", p, err)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	dir := filepath.Dir(o.OVFPath)
	raw, err := os.ReadFile(o.OVFPath)
	if err != nil {
		return nil, fmt.Errorf("reading OVF descriptor: %w", err)
	}
	desc, err := ovf.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.OVFPath, err)
	}
	ovfInfo, err := os.Stat(o.OVFPath)
	if err != nil {
		return nil, fmt.Errorf("reading OVF descriptor: %w", err)
	}
	mtimeOf := func(fi os.FileInfo) int64 {
		if o.ModTime != nil {
			return o.ModTime.Unix()
		}
		return fi.ModTime().Unix()
	}

	res = &Result{Path: o.Output, ChecksumPath: checksumPath, DigestAlgorithm: digestAlg}
	mfName := strings.TrimSuffix(base, filepath.Ext(base)) + ".mf"
	names := map[string]bool{base: true, mfName: true}
	var disks []*member
	for _, f := range desc.Files() {
		if names[f.Href] {
			return nil, fmt.Errorf("%s: References/File %q (href %q) has the same name as the OVA's descriptor or manifest; rename the file and its href", o.OVFPath, f.ID, f.Href)
		}
		names[f.Href] = true
		p := filepath.Join(dir, f.Href)
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s references %q (File id %q), but there is no such file in %s; export the VM again or fix the References section", base, f.Href, f.ID, dir)
		}
		if err != nil {
			return nil, fmt.Errorf("referenced file %q: %w", f.Href, err)
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("referenced file %q in %s is not a regular file (%s)", f.Href, dir, fi.Mode().Type())
		}
		if f.Size >= 0 && f.Size != fi.Size() {
			if err := desc.SetFileSize(f.Href, fi.Size()); err != nil {
				return nil, err
			}
			res.SizeFixes = append(res.SizeFixes, SizeFix{Href: f.Href, Declared: f.Size, Actual: fi.Size()})
			logf("%s: ovf:size of %q was %d but the file has %d bytes; corrected the descriptor in the OVA", base, f.Href, f.Size, fi.Size())
		}
		disks = append(disks, &member{name: f.Href, path: p, size: fi.Size(), mtime: mtimeOf(fi)})
	}
	if outInfo, err := os.Stat(o.Output); err == nil {
		for _, p := range append([]string{o.OVFPath}, pathsOf(disks)...) {
			if in, err := os.Stat(p); err == nil && os.SameFile(in, outInfo) {
				return nil, fmt.Errorf("output %s is the input file %s; choose another output path", o.Output, p)
			}
		}
	}
	descBytes := desc.Bytes()

	// The export's manifest, if usable, spares the first read of every disk.
	exportMF, err := loadExportManifest(o, dir, base, mfAlg, raw, disks, logf)
	if err != nil {
		return nil, err
	}
	if exportMF != nil {
		res.ReusedManifest = true
		for _, d := range disks {
			e, _ := exportMF.Lookup(d.name)
			d.digest = e.Digest
		}
	} else if err := hashDisks(ctx, disks, mfAlg, o.Progress); err != nil {
		return nil, err
	}

	h, _ := ovf.NewHash(mfAlg)
	h.Write(descBytes)
	mf := &ovf.Manifest{Entries: []ovf.ManifestEntry{{Algorithm: mfAlg, Name: base, Digest: hex.EncodeToString(h.Sum(nil))}}}
	for _, d := range disks {
		mf.Entries = append(mf.Entries, ovf.ManifestEntry{Algorithm: mfAlg, Name: d.name, Digest: d.digest})
	}
	mfBytes := mf.Bytes()
	members := append([]*member{
		{name: base, data: descBytes, size: int64(len(descBytes)), mtime: mtimeOf(ovfInfo)},
		{name: mfName, data: mfBytes, size: int64(len(mfBytes)), mtime: mtimeOf(ovfInfo)},
	}, disks...)
	for _, m := range members {
		if _, err := ustarHeader(m.name, m.size, m.mtime); err != nil {
			return nil, err // before creating anything
		}
		res.Members = append(res.Members, m.name)
	}

	outDir := filepath.Dir(o.Output)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating output folder: %w", err)
	}
	tmp, err := os.CreateTemp(outDir, "."+filepath.Base(o.Output)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("creating temporary OVA in %s: %w", outDir, err)
	}
	var tmpSum string
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			if tmpSum != "" {
				os.Remove(tmpSum)
			}
			res = nil
		}
	}()

	var want int64 = 2 * blockSize
	for _, m := range members {
		want += blockSize + m.size + padding(m.size)
	}
	preallocate(tmp, want)
	ovaHash, _ := ovf.NewHash(digestAlg)
	size, err := writeArchive(ctx, tmp, ovaHash, members, mfAlg, res.ReusedManifest, o.Progress)
	if err != nil {
		return nil, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return nil, fmt.Errorf("writing OVA: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return nil, fmt.Errorf("writing OVA: flushing to disk: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("writing OVA: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.Size = size
	res.Digest = hex.EncodeToString(ovaHash.Sum(nil))

	if checksumPath != "" {
		line := fmt.Sprintf("%s  %s\n", res.Digest, filepath.Base(o.Output))
		if tmpSum, err = writeTemp(outDir, filepath.Base(checksumPath), []byte(line)); err != nil {
			return nil, fmt.Errorf("writing checksum file: %w", err)
		}
	}
	if err := os.Rename(tmp.Name(), o.Output); err != nil {
		return nil, fmt.Errorf("moving the finished OVA into place: %w", err)
	}
	if tmpSum != "" {
		if err := os.Rename(tmpSum, checksumPath); err != nil {
			os.Remove(o.Output) // an OVA without its checksum file is half a result
			return nil, fmt.Errorf("moving the checksum file into place: %w", err)
		}
		tmpSum = ""
	}
	syncDir(outDir)
	return res, nil
}

func pathsOf(ms []*member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.path)
	}
	return out
}

// loadExportManifest returns the export's manifest when it can replace the
// first pass over the disks: same algorithm, every referenced file listed.
// An unusable one is ignored with a warning; a descriptor that does not match
// its own manifest is an error, since the export is then inconsistent.
func loadExportManifest(o Options, dir, base, alg string, origDesc []byte, disks []*member, logf func(string, ...any)) (*ovf.Manifest, error) {
	path := o.ExportManifest
	explicit := path != ""
	if !explicit {
		path = filepath.Join(dir, strings.TrimSuffix(base, filepath.Ext(base))+".mf")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading the export's manifest: %w", err)
	}
	mf, err := ovf.ParseManifest(data)
	if err != nil {
		logf("ignoring the export's manifest %s (digests will be computed instead): %v", path, err)
		return nil, nil
	}
	if e, ok := mf.Lookup(base); ok {
		h, err := ovf.NewHash(e.Algorithm)
		if err == nil {
			h.Write(origDesc)
			if got := hex.EncodeToString(h.Sum(nil)); got != e.Digest {
				return nil, fmt.Errorf("%s does not match the export's manifest %s: %s expected %s, actual %s; the export is damaged or was edited after export (fix or delete the .mf)",
					base, path, strings.ToUpper(e.Algorithm), e.Digest, got)
			}
		}
	}
	for _, d := range disks {
		e, ok := mf.Lookup(d.name)
		if !ok {
			logf("not reusing the export's manifest %s: it does not list %q; digests will be computed (each disk is read twice)", path, d.name)
			return nil, nil
		}
		if e.Algorithm != alg {
			logf("not reusing the export's manifest %s: it uses %s, the OVA's manifest uses %s; digests will be computed (each disk is read twice)", path, strings.ToUpper(e.Algorithm), strings.ToUpper(alg))
			return nil, nil
		}
	}
	return mf, nil
}

// hashDisks computes each disk's digest, several disks at once.
func hashDisks(ctx context.Context, disks []*member, alg string, progress ProgressTracker) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	errs := make([]error, len(disks))
	for i, d := range disks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			digest, err := hashFile(ctx, d, alg, progress)
			if err != nil {
				errs[i] = err
				cancel()
				return
			}
			d.digest = digest
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	return errors.Join(errs...)
}

func hashFile(ctx context.Context, d *member, alg string, progress ProgressTracker) (string, error) {
	h, err := ovf.NewHash(alg)
	if err != nil {
		return "", err
	}
	r, err := openTracked(d, progress, "hashing ")
	if err != nil {
		return "", err
	}
	defer r.Close()
	// Reading (a copy out of the page cache) and hashing overlap on two goroutines.
	f := newFanout(ctx, func(c *chunk) error { h.Write(c.data); return nil })
	cerr := f.copyN(r, d.size, d.name, nil)
	if err := errors.Join(cerr, f.close()); err != nil {
		return "", fmt.Errorf("hashing %s: %w", d.name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type trackedFile struct {
	io.Reader
	closers []io.Closer
}

func (t *trackedFile) Close() error {
	var errs []error
	for _, c := range t.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

func openTracked(d *member, progress ProgressTracker, label string) (io.ReadCloser, error) {
	f, err := os.Open(d.path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", d.name, err)
	}
	if progress == nil {
		return f, nil
	}
	rc := progress.TrackProgress(label+d.name, 0, d.size, f)
	// The tracker's Close may or may not close f; closing twice is harmless.
	return &trackedFile{Reader: rc, closers: []io.Closer{rc, closeOnce(f)}}, nil
}

type onceCloser struct {
	once sync.Once
	c    io.Closer
}

func (o *onceCloser) Close() error { o.once.Do(func() { o.c.Close() }); return nil }

func closeOnce(c io.Closer) io.Closer { return &onceCloser{c: c} }

// writebackEvery is how much written data may stay dirty before the kernel
// is asked to start writing it out.
const writebackEvery = 32 << 20

// diskCheck verifies one disk against the export's manifest while it is copied.
type diskCheck struct {
	name, want, alg string
	h               hash.Hash
	last            bool
}

// writeArchive streams the members into out, hashing the whole stream, and
// (reuse) verifying each disk against its expected digest, each in its own
// goroutine; every disk byte is read once.
func writeArchive(ctx context.Context, out io.Writer, ovaHash hash.Hash, members []*member, alg string, verify bool, progress ProgressTracker) (int64, error) {
	var total int64
	// Writeback requests run in their own goroutine: sync_file_range can
	// block on a busy disk queue, and the writer must keep draining chunks.
	var written, flushed int64
	wbRanges := make(chan [2]int64, 4)
	wbDone := make(chan struct{})
	outFile, isFile := out.(*os.File)
	go func() {
		defer close(wbDone)
		for r := range wbRanges {
			startWriteback(outFile, r[0], r[1])
		}
	}()
	defer func() { close(wbRanges); <-wbDone }()
	sinks := []func(*chunk) error{
		func(c *chunk) error {
			if _, err := out.Write(c.data); err != nil {
				return fmt.Errorf("writing OVA: %w", err)
			}
			written += int64(len(c.data))
			if isFile && written-flushed >= writebackEvery {
				select {
				case wbRanges <- [2]int64{flushed, written - flushed}:
					flushed = written
				default: // still busy: the next request covers this range too
				}
			}
			return nil
		},
		func(c *chunk) error { ovaHash.Write(c.data); return nil },
	}
	if verify {
		sinks = append(sinks, func(c *chunk) error {
			dc, ok := c.tag.(*diskCheck)
			if !ok {
				return nil
			}
			if dc.last {
				if got := hex.EncodeToString(dc.h.Sum(nil)); got != dc.want {
					return fmt.Errorf("%s does not match the export's manifest: %s expected %s, actual %s; the disk is damaged or was changed after export (no OVA written)",
						dc.name, strings.ToUpper(dc.alg), dc.want, got)
				}
				return nil
			}
			dc.h.Write(c.data)
			return nil
		})
	}
	f := newFanout(ctx, sinks...)
	werr := func() error {
		zeros := make([]byte, 2*blockSize)
		for _, m := range members {
			hdr, err := ustarHeader(m.name, m.size, m.mtime)
			if err != nil {
				return err
			}
			if err := f.small(hdr[:], nil); err != nil {
				return err
			}
			if m.path == "" {
				if err := f.small(m.data, nil); err != nil {
					return err
				}
			} else {
				var dc *diskCheck
				if verify {
					h, err := ovf.NewHash(alg)
					if err != nil {
						return err
					}
					dc = &diskCheck{name: m.name, want: m.digest, alg: alg, h: h}
				}
				r, err := openTracked(m, progress, "")
				if err != nil {
					return err
				}
				err = f.copyN(r, m.size, m.name, dc)
				r.Close()
				if err != nil {
					return err
				}
				if dc != nil {
					// Marks the disk's end for the verifier, in stream order.
					f.send(&chunk{tag: &diskCheck{name: dc.name, want: dc.want, alg: dc.alg, h: dc.h, last: true}})
				}
			}
			total += blockSize + m.size
			if p := padding(m.size); p > 0 {
				if err := f.small(zeros[:p], nil); err != nil {
					return err
				}
				total += p
			}
		}
		total += 2 * blockSize
		return f.small(zeros, nil)
	}()
	if err := errors.Join(werr, f.close()); err != nil {
		if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
			return 0, fmt.Errorf("packing cancelled: %w", cerr)
		}
		return 0, err
	}
	return total, nil
}

// writeTemp writes data to a new temporary file beside name in dir, synced.
func writeTemp(dir, name string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// syncDir makes the renames durable; best effort, as not every filesystem
// supports fsync on a directory.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
