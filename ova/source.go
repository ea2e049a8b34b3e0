package ova

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// This file is the plan's input: an export folder (Options.OVFPath, the
// referenced files beside the descriptor) or an OVA (Options.Source, its
// members read in place as sections of the archive, never extracted). With
// an OVA whose manifest lists every disk in the OVA's manifest algorithm,
// each disk is read once: the write pass verifies it against that manifest
// while it copies it into every output (the verify sink).

// checkInput sets the descriptor's folder and name from the input.
func (p *plan) checkInput() error {
	o := p.o
	name := o.OVFPath
	switch {
	case o.Source != nil && (o.OVFPath != "" || o.ExportManifest != ""):
		return errors.New("set either Source (an OVA) or OVFPath and ExportManifest (an export), not both")
	case o.Source != nil:
		name = o.Source.DescriptorName()
		if strings.Contains(name, "/") {
			return fmt.Errorf("%s: the descriptor %q is in a folder of the archive; an OVA's descriptor must be its first, top-level member", o.Source.Path(), name)
		}
	case o.OVFPath == "":
		return errors.New("no OVF descriptor given")
	}
	p.dir, p.base = filepath.Dir(name), filepath.Base(name)
	if !strings.EqualFold(filepath.Ext(p.base), ".ovf") {
		return fmt.Errorf("descriptor %s does not end in .ovf; importers find the descriptor by that extension", name)
	}
	return nil
}

// inputName names the input in messages: the .ovf or the .ova.
func (p *plan) inputName() string {
	if p.o.Source != nil {
		return p.o.Source.Path()
	}
	return p.o.OVFPath
}

// readDescriptor reads and parses the input's descriptor and sets rawDesc
// and metaMtime. An OVA's descriptor is verified against its manifest when
// listed there.
func (p *plan) readDescriptor() (*ovf.Descriptor, error) {
	if src := p.o.Source; src != nil {
		raw, err := src.DescriptorBytes()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src.Path(), err)
		}
		p.rawDesc = raw
		m, _ := src.member(src.DescriptorName())
		p.metaMtime = p.unix(m.ModTime)
		desc, err := ovf.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", src.Path(), p.base, err)
		}
		return desc, nil
	}
	raw, err := os.ReadFile(p.o.OVFPath)
	if err != nil {
		return nil, fmt.Errorf("reading OVF descriptor: %w", err)
	}
	p.rawDesc = raw
	desc, err := ovf.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.o.OVFPath, err)
	}
	fi, err := os.Stat(p.o.OVFPath)
	if err != nil {
		return nil, fmt.Errorf("reading OVF descriptor: %w", err)
	}
	p.metaMtime = p.mtime(fi)
	return desc, nil
}

// statMember is statDisk for an OVA's member.
func (p *plan) statMember(f ovf.File) (*disk, error) {
	src := p.o.Source
	if err := ovf.CheckHref(f.Href); err != nil {
		return nil, fmt.Errorf("%s: %s: File %q: %w", src.Path(), p.base, f.ID, err)
	}
	m, ok := src.member(f.Href)
	if !ok {
		return nil, fmt.Errorf("%s: %s references %q (File id %q), but the OVA has no such member; rebuild the OVA with all its disks", src.Path(), p.base, f.Href, f.ID)
	}
	return &disk{name: f.Href, path: src.Path(), member: &m, size: m.Size, mtime: p.unix(m.ModTime)}, nil
}

// unix is an mtime for a member: the given one, or ModTime when set.
func (p *plan) unix(sec int64) int64 {
	if p.o.ModTime != nil {
		return p.o.ModTime.Unix()
	}
	return sec
}

// sourceManifest is the OVA's own manifest for loadExportManifest: the
// descriptor was verified against it when read.
func (p *plan) sourceManifest() *ovf.Manifest {
	mf, _ := p.o.Source.Manifest()
	return mf
}

// openDisk opens a disk for one sequential read. An OVA's member is
// verified against the OVA's manifest at its end (see drainDisk) unless
// the verify sink does it (p.reused).
func (p *plan) openDisk(d *disk) (io.ReadCloser, error) {
	if d.member != nil {
		mf := p.sourceManifest()
		if p.reused {
			mf = nil
		}
		rc, _, err := p.o.Source.open(d.name, mf)
		return rc, err
	}
	f, err := os.Open(d.path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", d.name, err)
	}
	adviseSequential(f)
	return f, nil
}

// drainDisk ends the read of a member: the verifying reader reports a
// digest mismatch (*ovf.DigestError) only when it reaches the end.
func drainDisk(d *disk, r io.Reader) error {
	if d.member == nil {
		return nil
	}
	var b [1]byte
	n, err := r.Read(b[:])
	switch {
	case n > 0:
		return fmt.Errorf("%s: member %s is longer than its %d-byte tar entry", d.path, d.name, d.size)
	case errors.Is(err, io.EOF):
		return nil
	case err == nil:
		return drainDisk(d, r)
	}
	return fmt.Errorf("%s: %w (no OVA written)", d.path, err)
}

// member finds a member by name.
func (a *Archive) member(name string) (Member, bool) {
	for _, m := range a.members {
		if m.Name == name {
			return m, true
		}
	}
	return Member{}, false
}

// manifestName is whose manifest the verify sink checks disks against.
func (p *plan) manifestName() string {
	if p.o.Source != nil {
		return "the manifest of " + p.o.Source.Path()
	}
	return "the export's manifest"
}
