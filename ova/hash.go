package ova

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// hash gives every disk its manifest digest and every output its manifest.
// The export's own manifest, when usable, spares a pass over the disks (its
// digests are then verified while writing); otherwise the disks are hashed.
func (p *plan) hash(ctx context.Context) error {
	exportMF, err := p.loadExportManifest()
	if err != nil {
		return err
	}
	used := p.usedDisks()
	if exportMF != nil {
		p.reused = true
		for _, d := range used {
			e, _ := exportMF.Lookup(d.name)
			d.digest = e.Digest
		}
	} else if err := hashDisks(ctx, used, p.mfAlg, p.o.Progress, p.bufs, p.openDisk); err != nil {
		return err
	}
	for _, out := range p.outs {
		h, _ := ovf.NewHash(p.mfAlg)
		h.Write(out.desc)
		mf := &ovf.Manifest{Entries: []ovf.ManifestEntry{{Algorithm: p.mfAlg, Name: p.base, Digest: hex.EncodeToString(h.Sum(nil))}}}
		for _, d := range out.disks {
			mf.Entries = append(mf.Entries, ovf.ManifestEntry{Algorithm: p.mfAlg, Name: d.name, Digest: d.digest})
		}
		out.mf = mf.Bytes()
		if out.sign != nil {
			cert, err := out.sign(p.mfName, out.mf)
			if err != nil {
				return fmt.Errorf("signing the manifest of %s: %w", out.path, err)
			}
			out.cert = cert
		}
	}
	return nil
}

// usedDisks are the export's disks that at least one output contains, in
// the export's order.
func (p *plan) usedDisks() []*disk {
	var used []*disk
	for _, d := range p.disks {
		for _, out := range p.outs {
			if out.includes(d) {
				used = append(used, d)
				break
			}
		}
	}
	return used
}

func (out *output) includes(d *disk) bool {
	for _, od := range out.disks {
		if od == d {
			return true
		}
	}
	return false
}

// loadExportManifest returns the export's manifest when it can replace the
// first pass over the disks: same algorithm, every referenced file listed.
// An unusable one is ignored with a warning; a descriptor that does not match
// its own manifest is an error, since the export is then inconsistent.
func (p *plan) loadExportManifest() (*ovf.Manifest, error) {
	if p.o.Source != nil {
		mf := p.sourceManifest()
		if mf == nil {
			p.logf("%s has no manifest: its members cannot be checked; digests will be computed (each disk is read twice)", p.o.Source.Path())
			return nil, nil
		}
		return p.usableManifest(mf, p.o.Source.Path()+" (its manifest)"), nil
	}
	path := p.o.ExportManifest
	explicit := path != ""
	if !explicit {
		path = filepath.Join(p.dir, p.mfName)
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
		p.logf("ignoring the export's manifest %s (digests will be computed instead): %v", path, err)
		return nil, nil
	}
	if e, ok := mf.Lookup(p.base); ok {
		h, err := ovf.NewHash(e.Algorithm)
		if err == nil {
			h.Write(p.rawDesc)
			if got := hex.EncodeToString(h.Sum(nil)); got != e.Digest {
				return nil, fmt.Errorf("%s does not match the export's manifest %s: %s expected %s, actual %s; the export is damaged or was edited after export (fix or delete the .mf)",
					p.base, path, strings.ToUpper(e.Algorithm), e.Digest, got)
			}
		}
	}
	return p.usableManifest(mf, path), nil
}

// usableManifest returns mf when it lists every disk in the OVA's manifest
// algorithm, or nil (the disks are then hashed in a first pass).
func (p *plan) usableManifest(mf *ovf.Manifest, path string) *ovf.Manifest {
	for _, d := range p.disks {
		e, ok := mf.Lookup(d.name)
		if !ok {
			p.logf("not reusing the export's manifest %s: it does not list %q; digests will be computed (each disk is read twice)", path, d.name)
			return nil
		}
		if e.Algorithm != p.mfAlg {
			p.logf("not reusing the export's manifest %s: it uses %s, the OVA's manifest uses %s; digests will be computed (each disk is read twice)", path, strings.ToUpper(e.Algorithm), strings.ToUpper(p.mfAlg))
			return nil
		}
	}
	return mf
}

// hashDisks computes each disk's digest, several disks at once.
func hashDisks(ctx context.Context, disks []*disk, alg string, tracker ProgressTracker, bufs *bufPool, open diskOpener) error {
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
			digest, err := hashFile(ctx, d, alg, tracker, bufs, open)
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

// diskOpener opens a disk for one sequential read (plan.openDisk).
type diskOpener func(*disk) (io.ReadCloser, error)

func hashFile(ctx context.Context, d *disk, alg string, tracker ProgressTracker, bufs *bufPool, open diskOpener) (string, error) {
	h, err := ovf.NewHash(alg)
	if err != nil {
		return "", err
	}
	r, err := open(d)
	if err != nil {
		return "", err
	}
	defer r.Close()
	m := progress.Start(tracker, "hashing "+d.name, d.size)
	defer m.Stop()
	// Reading (a copy out of the page cache) and hashing overlap on two goroutines.
	f := newFanout(ctx, bufs, func(c *chunk) error { h.Write(c.data); return nil })
	cerr := f.copyN(r, d.size, d.name, route{meter: m})
	if cerr == nil {
		cerr = drainDisk(d, r)
	}
	if err := errors.Join(cerr, f.close()); err != nil {
		return "", fmt.Errorf("hashing %s: %w", d.name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
