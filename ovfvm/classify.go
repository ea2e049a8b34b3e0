package ovfvm

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/disk"
)

// Kind is what an artifact holds.
type Kind int

// Kinds of artifact.
const (
	// KindOVF: the artifact has an .ovf; pack it, nothing to generate.
	KindOVF Kind = iota + 1
	// KindVMX: a VMware VM (vmware-iso): a .vmx and the VMDKs it attaches.
	KindVMX
	// KindDisks: disk images only (qemu, file, artifice).
	KindDisks
	// KindOVA: an .ova and no .ovf (a builder's `output_format = "ova"`,
	// artifice of a vendor's OVA): re-packed as it is, nothing to generate.
	KindOVA
)

func (k Kind) String() string {
	switch k {
	case KindOVF:
		return "OVF export"
	case KindVMX:
		return "VMware VM (.vmx)"
	case KindDisks:
		return "disk images"
	case KindOVA:
		return "OVA"
	}
	return "unknown"
}

// Input is what Classify found in an artifact's files.
type Input struct {
	Kind Kind
	// OVFs are the .ovf files (KindOVF). With more than one, the caller
	// picks (the post-processor's `ovf` option).
	OVFs []string
	// OVAs are the .ova files (KindOVA), picked the same way.
	OVAs []string
	// VMX is the parsed .vmx (KindVMX).
	VMX *VMX
	// Disks are the disk images (KindVMX, KindDisks), in the .vmx's order
	// (bus, then unit) or else in the natural order of their file names.
	Disks []disk.Info
	// Ignored are the files that are neither descriptor nor disk, with why.
	Ignored []IgnoredFile
}

// IgnoredFile is an artifact file Classify left out.
type IgnoredFile struct {
	Path, Reason string
}

// ignoredExt are extensions of files builders leave beside their disks
// that are never disks (qemu: efivars.fd; vmware-iso: .nvram, .vmsd,
// .vmxf, .log, .scoreboard; everyone: checksums, manifests).
var ignoredExt = map[string]string{
	".fd": "UEFI variable store", ".nvram": "VMware NVRAM (EFI variables)",
	".vmsd": "VMware snapshot list", ".vmxf": "VMware team file", ".vmss": "VMware suspend state",
	".vmem": "VMware memory file", ".scoreboard": "VMware scoreboard", ".log": "log",
	".lck": "lock", ".mf": "manifest", ".cert": "certificate", ".sha256": "checksum",
	".sha512": "checksum", ".sha1": "checksum", ".md5": "checksum", ".sum": "checksum",
	".json": "metadata", ".txt": "text", ".xml": "metadata", ".plist": "metadata",
	".iso": "installation media", ".sig": "signature", ".asc": "signature",
}

// probedExt are the extensions whose files are probed as disks; so are
// files without an extension (the qemu builder's default vm_name). The
// probe, not the extension, says what a file holds (package disk).
var probedExt = map[string]bool{
	".raw": true, ".img": true, ".qcow2": true, ".qcow": true, ".vmdk": true, ".bin": true,
	".vhd": true, ".vhdx": true, ".vdi": true, ".qed": true, ".hdd": true, ".hds": true,
}

// Classify looks at an artifact's files and says what they hold: an .ovf
// (nothing to generate), a .vmx with the VMDKs it attaches, or disk images
// (recognized by their first bytes: raw, qcow2, VMDK, and the formats
// disk.Open reads through qemu-img). Other files are
// listed in Ignored. It fails, saying which files it saw, when there is
// nothing to pack, when the set is ambiguous (two .vmx files), or when a
// disk cannot be used.
func Classify(files []string) (*Input, error) {
	in := &Input{}
	var vmxs, ovas, candidates []string
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return nil, fmt.Errorf("artifact file %s: %w", f, err)
		}
		if fi.IsDir() {
			in.Ignored = append(in.Ignored, IgnoredFile{f, "directory"})
			continue
		}
		ext := extension(f)
		switch {
		case ext == ".ovf":
			in.OVFs = append(in.OVFs, f)
		case ext == ".vmx":
			vmxs = append(vmxs, f)
		case ext == ".ova":
			ovas = append(ovas, f)
		case ext == "" || probedExt[ext]:
			candidates = append(candidates, f)
		default:
			reason := ignoredExt[ext]
			if reason == "" {
				reason = "not a disk image extension (" + ext + ")"
			}
			in.Ignored = append(in.Ignored, IgnoredFile{f, reason})
		}
	}
	switch {
	case len(in.OVFs) > 0:
		in.Kind = KindOVF
		return in, nil
	case len(ovas) > 0:
		in.Kind, in.OVAs = KindOVA, ovas
		return in, nil
	case len(vmxs) > 1:
		return nil, fmt.Errorf("the artifact has %d .vmx files (%s); the vsphere-ova post-processor packs one VM: keep one VM per artifact", len(vmxs), strings.Join(vmxs, ", "))
	case len(vmxs) == 1:
		return classifyVMX(in, vmxs[0], candidates)
	}
	return classifyDisks(in, files, candidates)
}

// extension is a file's extension in lower case, where "packer-ubuntu-22.04"
// has none: only a letter-led extension counts.
func extension(path string) string {
	ext := strings.ToLower(filepath.Ext(path))
	if len(ext) < 2 || ext[1] < 'a' || ext[1] > 'z' {
		return ""
	}
	return ext
}

func classifyDisks(in *Input, files, candidates []string) (*Input, error) {
	var disks []disk.Info
	for _, f := range candidates {
		d, err := probe(f)
		if err != nil {
			if extension(f) == "" {
				// An extension-less file that is no disk: leave it out.
				in.Ignored = append(in.Ignored, IgnoredFile{f, "no disk image header and not a multiple of 512 bytes"})
				continue
			}
			return nil, fmt.Errorf("artifact disk: %w", err)
		}
		disks = append(disks, d)
	}
	disks, err := groupExtents(disks)
	if err != nil {
		return nil, err
	}
	if len(disks) == 0 {
		return nil, fmt.Errorf("the artifact has no .ovf, no .vmx and no disk image (raw, qcow2 or VMDK), so there is nothing to pack; its files are: %s", listFiles(files))
	}
	sort.SliceStable(disks, func(i, j int) bool { return diskNameLess(disks[i].Path, disks[j].Path) })
	in.Kind, in.Disks = KindDisks, disks
	return in, nil
}

// groupExtents removes the files a VMDK descriptor names from the list of
// disks (they are that disk's extents) and checks they exist.
func groupExtents(disks []disk.Info) ([]disk.Info, error) {
	owned := map[string]string{}
	for _, d := range disks {
		for _, e := range d.Extents {
			if _, err := os.Stat(e); err != nil {
				return nil, fmt.Errorf("VMDK %s names extent %s, which is missing: %w", d.Path, filepath.Base(e), err)
			}
			owned[filepath.Clean(e)] = d.Path
		}
	}
	var out []disk.Info
	for _, d := range disks {
		if _, ok := owned[filepath.Clean(d.Path)]; ok {
			continue
		}
		if d.Subformat == disk.SparseExtent {
			return nil, fmt.Errorf("%s is one extent of a split VMDK (no descriptor inside), but no descriptor among the artifact's files names it; add the descriptor .vmdk to the artifact", d.Path)
		}
		out = append(out, d)
	}
	return out, nil
}

// probe probes a candidate disk file. A raw image must be a non-zero
// multiple of 512 bytes: anything else is a file that merely has no
// header, not a disk.
func probe(path string) (disk.Info, error) {
	d, err := disk.Probe(path)
	if err == nil {
		err = d.CheckSectors()
	}
	return d, err
}

func listFiles(files []string) string {
	if len(files) == 0 {
		return "(none)"
	}
	return strings.Join(files, ", ")
}

// diskNameLess orders disk paths by their names without extension, so
// that disk.qcow2 comes before disk-1.qcow2.
func diskNameLess(a, b string) bool {
	sa, sb := a[:len(a)-len(extension(a))], b[:len(b)-len(extension(b))]
	if sa != sb {
		return naturalLess(sa, sb)
	}
	return naturalLess(a, b)
}

// naturalLess orders names with their digit runs compared as numbers:
// disk < disk-1 < disk-2 < disk-10.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := isDigit(a[0]), isDigit(b[0])
		if da && db {
			na, ra := digits(a)
			nb, rb := digits(b)
			ta, tb := strings.TrimLeft(na, "0"), strings.TrimLeft(nb, "0")
			if len(ta) != len(tb) {
				return len(ta) < len(tb)
			}
			if ta != tb {
				return ta < tb
			}
			a, b = ra, rb
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digits(s string) (run, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}
