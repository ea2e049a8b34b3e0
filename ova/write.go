package ova

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/writeback"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// maxOutputs bounds PackAll's outputs: a chunk names its outputs in a bit set.
const maxOutputs = 64

// written is an output's archive in its temporary file, not yet published.
type written struct {
	file   *atomicfile.File
	size   int64
	hash   hash.Hash // of the whole archive, in the plan's digestAlg
	digest string
}

// diskCheck verifies one disk against the export's manifest while it is copied.
type diskCheck struct {
	name, want, alg string
	where           string // whose manifest, for the DigestError
	h               hash.Hash
}

// write streams every output's archive into a temporary file beside its
// final path. Each disk is read once for all outputs; the chunks go to one
// writer and one hasher per output and, when the digests came from the
// export's manifest, to a verifier, each sink on its own goroutine.
func (p *plan) write(ctx context.Context) error {
	if len(p.outs) > maxOutputs {
		return fmt.Errorf("%d outputs: at most %d OVAs can be written in one pass", len(p.outs), maxOutputs)
	}
	var sinks []func(*chunk) error
	var writers []*writeback.Writer
	defer func() {
		for _, w := range writers {
			w.Close()
		}
	}()
	if err := p.removeStale(); err != nil {
		return err
	}
	for k, out := range p.outs {
		f, err := atomicfile.Create(out.path, 0o644)
		if err != nil {
			return err
		}
		h, _ := ovf.NewHash(p.digestAlg)
		out.written = &written{file: f, size: archiveSize(p.members(out)), hash: h}
		preallocate(f.File, out.size)
		bit := uint64(1) << k
		w := writeback.New(f.File)
		writers = append(writers, w)
		sinks = append(sinks,
			func(c *chunk) error {
				if c.outs&bit == 0 {
					return nil
				}
				if _, err := w.Write(c.data); err != nil {
					return fmt.Errorf("writing OVA %s: %w", out.path, err)
				}
				return nil
			},
			func(c *chunk) error {
				if c.outs&bit != 0 {
					h.Write(c.data)
				}
				return nil
			})
	}
	if p.reused {
		sinks = append(sinks, verify)
	}
	f := newFanout(ctx, p.bufs, sinks...)
	if err := errors.Join(p.stream(f), f.close()); err != nil {
		return err
	}
	for _, out := range p.outs {
		out.digest = hex.EncodeToString(out.hash.Sum(nil))
	}
	return nil
}

// verify is the sink that checks disks against the export's manifest.
func verify(c *chunk) error {
	dc := c.check
	switch {
	case dc == nil:
	case c.end:
		if got := hex.EncodeToString(dc.h.Sum(nil)); !strings.EqualFold(got, dc.want) {
			return fmt.Errorf("%w (no OVA written)",
				&ovf.DigestError{Name: dc.name, Where: dc.where, Algorithm: dc.alg, Expected: dc.want, Actual: got})
		}
	default:
		dc.h.Write(c.data)
	}
	return nil
}

// stream sends every archive's bytes in order: per output its .ovf, .mf
// (and .cert) members, then each disk once (header and padding to the outputs that
// contain it), then per output the end-of-archive marker.
func (p *plan) stream(f *fanout) error {
	zeros := make([]byte, 2*blockSize)
	for k, out := range p.outs {
		for _, m := range p.metaMembers(out) {
			if err := sendMember(f, m, route{outs: 1 << k}, zeros); err != nil {
				return err
			}
		}
	}
	for _, d := range p.usedDisks() {
		var to route
		for k, out := range p.outs {
			if out.includes(d) {
				to.outs |= 1 << k
			}
		}
		if err := p.sendDisk(f, d, to, zeros); err != nil {
			return err
		}
	}
	all := uint64(1)<<len(p.outs) - 1
	return f.small(zeros, route{outs: all})
}

// sendMember sends an in-memory member: header, data, padding.
func sendMember(f *fanout, m member, to route, zeros []byte) error {
	hdr, err := ustarHeader(m.name, m.size, m.mtime)
	if err != nil {
		return err
	}
	if err := f.small(hdr[:], to); err != nil {
		return err
	}
	if err := f.small(m.data, to); err != nil {
		return err
	}
	return f.small(zeros[:padding(m.size)], to)
}

// sendDisk reads one disk once and sends it to the outputs in to.outs,
// verifying it when its digest came from the export's manifest.
func (p *plan) sendDisk(f *fanout, d *disk, to route, zeros []byte) error {
	hdr, err := ustarHeader(d.name, d.size, d.mtime)
	if err != nil {
		return err
	}
	if err := f.small(hdr[:], to); err != nil {
		return err
	}
	if p.reused {
		h, err := ovf.NewHash(p.mfAlg)
		if err != nil {
			return err
		}
		to.check = &diskCheck{name: d.name, want: d.digest, alg: p.mfAlg, where: p.manifestName(), h: h}
	}
	r, err := p.openDisk(d)
	if err != nil {
		return err
	}
	to.meter = progress.Start(p.o.Progress, d.name, d.size)
	err = f.copyN(r, d.size, d.name, to)
	if err == nil {
		err = drainDisk(d, r)
	}
	r.Close()
	if err != nil {
		to.meter.Stop()
		return err
	}
	// Marks the disk's end in stream order: the verifier compares, and the
	// last sink to release it closes the progress bar at exactly d.size.
	f.send(&chunk{check: to.check, meter: to.meter, end: true})
	return f.small(zeros[:padding(d.size)], route{outs: to.outs})
}

// removeStale creates the output folders and removes from them what runs
// killed before they could clean up left there (atomicfile.RemoveStale),
// saying what it removed.
func (p *plan) removeStale() error {
	done := map[string]bool{}
	for _, out := range p.outs {
		dir := filepath.Dir(out.path)
		if done[dir] {
			continue
		}
		done[dir] = true
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating output folder: %w", err)
		}
		gone, err := atomicfile.RemoveStale(dir)
		for _, r := range gone {
			p.logf("removed %s, left by an interrupted run", r)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
