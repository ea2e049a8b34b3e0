package ova

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// plan is everything Pack decides before it reads a disk byte: algorithms,
// the export's files, and the members of every OVA it will write. The later
// steps fill in digests (hash), temporary files (write) and results (publish).
type plan struct {
	o                        Options
	logf                     func(string, ...any)
	mfAlg, sumAlg, digestAlg string // digestAlg: the whole-OVA digest (sumAlg, or sha256 for "none")
	dir, base, mfName        string // export folder, descriptor and manifest member names
	certName                 string // signature member name, for outputs with Sign
	rawDesc                  []byte // the export's descriptor as read, for its own manifest's check
	metaMtime                int64  // mtime of the .ovf and .mf members
	disks                    []*disk
	sizeFixes                []SizeFix
	outs                     []*output
	reused                   bool // digests from the export's .mf: verified while writing
	bufs                     *bufPool
}

// disk is one file the export references, read once for every output.
type disk struct {
	name, path  string  // path: the file, or the OVA holding member
	member      *Member // set when the input is an OVA
	size, mtime int64
	digest      string // manifest digest (hex), from the export's .mf or hashed
}

// output is one OVA being made.
type output struct {
	path, checksumPath string
	desc               []byte  // the .ovf member
	disks              []*disk // members after .ovf and .mf, in archive order
	mf                 []byte  // the .mf member, set by hash
	sign               func(string, []byte) ([]byte, error)
	cert               []byte // the .cert member (signed outputs), set by hash
	*written                  // set by write
}

// newPlan checks the options and the export and lays out every OVA. It
// refuses existing outputs before reading anything, so a forgotten -force
// costs nothing.
func newPlan(o Options) (*plan, error) {
	p := &plan{o: o, logf: o.Logf, bufs: newBufPool()}
	if p.logf == nil {
		p.logf = func(string, ...any) {}
	}
	if err := p.checkOptions(); err != nil {
		return nil, err
	}
	if err := p.refuseExisting(); err != nil {
		return nil, err
	}
	desc, err := p.readExport()
	if err != nil {
		return nil, err
	}
	if err := p.planOutputs(desc); err != nil {
		return nil, err
	}
	return p, p.checkNotInputs()
}

func (p *plan) checkOptions() error {
	o := p.o
	p.mfAlg = strings.ToLower(o.ManifestAlgorithm)
	if p.mfAlg == "" {
		p.mfAlg = "sha256"
	}
	if p.mfAlg != "sha256" && p.mfAlg != "sha512" && p.mfAlg != "sha1" {
		return fmt.Errorf("manifest algorithm %q is not supported: use \"sha256\" (default), \"sha512\" or \"sha1\"", o.ManifestAlgorithm)
	}
	p.sumAlg = strings.ToLower(o.ChecksumAlgorithm)
	if p.sumAlg == "" {
		p.sumAlg = "sha256"
	}
	if p.sumAlg != "sha256" && p.sumAlg != "sha512" && p.sumAlg != "none" {
		return fmt.Errorf("checksum algorithm %q is not supported: use \"sha256\" (default), \"sha512\" or \"none\"", o.ChecksumAlgorithm)
	}
	p.digestAlg = p.sumAlg
	if p.digestAlg == "none" {
		p.digestAlg = "sha256"
	}
	if err := p.checkInput(); err != nil {
		return err
	}
	p.mfName = strings.TrimSuffix(p.base, filepath.Ext(p.base)) + ".mf"
	p.certName = strings.TrimSuffix(p.base, filepath.Ext(p.base)) + ".cert"
	outs := o.Outputs
	if len(outs) == 0 && o.Output != "" {
		outs = []Output{{Path: o.Output}}
	} else if len(outs) > 0 && o.Output != "" {
		return errors.New("set either Output or Outputs, not both")
	}
	if len(outs) == 0 {
		return errors.New("no output path given for the OVA")
	}
	seen := map[string]bool{}
	for i, out := range outs {
		if out.Path == "" {
			return fmt.Errorf("output %d has no path", i+1)
		}
		clean := filepath.Clean(out.Path)
		if seen[clean] {
			return fmt.Errorf("output %s is given twice; each OVA needs its own path", out.Path)
		}
		seen[clean] = true
		op := &output{path: out.Path, sign: out.Sign}
		if p.sumAlg != "none" {
			op.checksumPath = out.Path + "." + p.sumAlg
		}
		p.outs = append(p.outs, op)
	}
	return nil
}

// refuseExisting fails when an output or its checksum file exists and Force
// is not set.
func (p *plan) refuseExisting() error {
	if p.o.Force {
		return nil
	}
	for _, out := range p.outs {
		for _, f := range []string{out.path, out.checksumPath} {
			if f == "" {
				continue
			}
			if _, err := os.Lstat(f); err == nil {
				return fmt.Errorf("%s exists; set force = true or run packer with -force to overwrite it", f)
			} else if !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("checking output %s: %w", f, err)
			}
		}
	}
	return nil
}

// readExport reads the export's descriptor and stats every file it
// references; an ovf:size that does not match its file is corrected in the
// returned descriptor (and reported in sizeFixes).
func (p *plan) readExport() (*ovf.Descriptor, error) {
	desc, err := p.readDescriptor()
	if err != nil {
		return nil, err
	}
	names := map[string]bool{p.base: true, p.mfName: true}
	if p.signs() {
		names[p.certName] = true
	}
	for _, f := range desc.Files() {
		if names[f.Href] {
			return nil, fmt.Errorf("%s: References/File %q (href %q) has the same name as the OVA's descriptor, manifest or signature; rename the file and its href", p.inputName(), f.ID, f.Href)
		}
		names[f.Href] = true
		d, err := p.statDisk(f)
		if err != nil {
			return nil, err
		}
		if f.Size >= 0 && f.Size != d.size {
			if err := desc.SetFileSize(f.Href, d.size); err != nil {
				return nil, err
			}
			p.sizeFixes = append(p.sizeFixes, SizeFix{Href: f.Href, Declared: f.Size, Actual: d.size})
			p.logf("%s: ovf:size of %q was %d but the file has %d bytes; corrected the descriptor in the OVA", p.base, f.Href, f.Size, d.size)
		}
		p.disks = append(p.disks, d)
	}
	return desc, nil
}

// signs reports whether any output is signed.
func (p *plan) signs() bool {
	return slices.ContainsFunc(p.outs, func(out *output) bool { return out.sign != nil })
}

func (p *plan) statDisk(f ovf.File) (*disk, error) {
	if p.o.Source != nil {
		return p.statMember(f)
	}
	path := filepath.Join(p.dir, f.Href)
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s references %q (File id %q), but there is no such file in %s; export the VM again or fix the References section", p.base, f.Href, f.ID, p.dir)
	}
	if err != nil {
		return nil, fmt.Errorf("referenced file %q: %w", f.Href, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("referenced file %q in %s is not a regular file (%s)", f.Href, p.dir, fi.Mode().Type())
	}
	return &disk{name: f.Href, path: path, size: fi.Size(), mtime: p.mtime(fi)}, nil
}

func (p *plan) mtime(fi os.FileInfo) int64 {
	if p.o.ModTime != nil {
		return p.o.ModTime.Unix()
	}
	return fi.ModTime().Unix()
}

// planOutputs gives every output its descriptor and disks. An output with a
// descriptor of its own may leave files out, never add or reorder them: the
// disks are read once, in the export's order, for all outputs.
func (p *plan) planOutputs(exportDesc *ovf.Descriptor) error {
	specs := p.o.Outputs
	if len(specs) == 0 {
		specs = []Output{{Path: p.o.Output}}
	}
	for i, spec := range specs {
		out := p.outs[i]
		if spec.Descriptor == nil {
			if len(spec.Drop) > 0 {
				return fmt.Errorf("output %s drops %q but has no descriptor of its own; give the edited descriptor that no longer references them", out.path, spec.Drop)
			}
			out.desc, out.disks = exportDesc.Bytes(), p.disks
		} else if err := p.ownDescriptor(out, spec); err != nil {
			return err
		}
		for _, m := range p.members(out) {
			if _, err := ustarHeader(m.name, m.size, m.mtime); err != nil {
				return err // before creating anything
			}
		}
	}
	return nil
}

func (p *plan) ownDescriptor(out *output, spec Output) error {
	desc, err := ovf.Parse(spec.Descriptor)
	if err != nil {
		return fmt.Errorf("descriptor for %s: %w", out.path, err)
	}
	next := 0 // index into p.disks: files must come in the export's order
	for _, f := range desc.Files() {
		i := slices.IndexFunc(p.disks, func(d *disk) bool { return d.name == f.Href })
		switch {
		case i < 0:
			return fmt.Errorf("descriptor for %s references %q, which the export %s does not; an output can only leave files out", out.path, f.Href, p.base)
		case slices.Contains(spec.Drop, f.Href):
			return fmt.Errorf("descriptor for %s still references %q, which it was meant to drop", out.path, f.Href)
		case i < next:
			return fmt.Errorf("descriptor for %s lists %q out of the export's order (or twice); keep the export's References order", out.path, f.Href)
		}
		next = i + 1
		d := p.disks[i]
		if f.Size >= 0 && f.Size != d.size {
			if err := desc.SetFileSize(f.Href, d.size); err != nil {
				return err
			}
		}
		out.disks = append(out.disks, d)
	}
	for _, href := range spec.Drop {
		if !slices.ContainsFunc(p.disks, func(d *disk) bool { return d.name == href }) {
			return fmt.Errorf("output %s drops %q, which the export %s does not reference", out.path, href, p.base)
		}
	}
	out.desc = desc.Bytes()
	return nil
}

// checkNotInputs refuses an output that is one of the input files (possible
// with Force and a hard link or a careless path).
func (p *plan) checkNotInputs() error {
	inputs := []string{p.inputName()}
	for _, d := range p.disks {
		inputs = append(inputs, d.path)
	}
	for _, out := range p.outs {
		outInfo, err := os.Stat(out.path)
		if err != nil {
			continue
		}
		for _, in := range inputs {
			if fi, err := os.Stat(in); err == nil && os.SameFile(fi, outInfo) {
				return fmt.Errorf("output %s is the input file %s; choose another output path", out.path, in)
			}
		}
	}
	return nil
}

// member is one tar member of an output, in archive order.
type member struct {
	name  string
	data  []byte // in-memory members (.ovf, .mf); nil for disks
	disk  *disk
	size  int64
	mtime int64
}

// members lists out's tar members: .ovf, .mf, .cert when signed, then the
// disks. The in-memory members come first (see metaMembers).
func (p *plan) members(out *output) []member {
	ms := []member{
		{name: p.base, data: out.desc, size: int64(len(out.desc)), mtime: p.metaMtime},
		{name: p.mfName, data: out.mf, size: int64(len(out.mf)), mtime: p.metaMtime},
	}
	if out.sign != nil {
		ms = append(ms, member{name: p.certName, data: out.cert, size: int64(len(out.cert)), mtime: p.metaMtime})
	}
	for _, d := range out.disks {
		ms = append(ms, member{name: d.name, disk: d, size: d.size, mtime: d.mtime})
	}
	return ms
}

// metaMembers are out's in-memory members (.ovf, .mf, .cert), which precede
// its disks.
func (p *plan) metaMembers(out *output) []member {
	ms := p.members(out)
	return ms[:len(ms)-len(out.disks)]
}

// archiveSize is the size of the tar stream of these members.
func archiveSize(ms []member) int64 {
	n := int64(2 * blockSize) // end-of-archive marker
	for _, m := range ms {
		n += blockSize + m.size + padding(m.size)
	}
	return n
}
