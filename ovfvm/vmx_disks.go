package ovfvm

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/disk"
)

// vmxDisk is a hard disk a .vmx attaches: <bus><n>:<unit>.fileName.
type vmxDisk struct {
	bus      string // scsi, sata, nvme, ide
	busNum   int
	unit     int
	fileName string
}

func (d vmxDisk) slot() string { return fmt.Sprintf("%s%d:%d", d.bus, d.busNum, d.unit) }

var vmxDiskKeyRE = regexp.MustCompile(`^(scsi|sata|nvme|ide)([0-9]+):([0-9]+)\.filename$`)

// busRank orders buses as vmware-iso attaches its disks: the primary disk
// and disk_additional_size disks all go on the disk_adapter_type bus.
var busRank = map[string]int{"scsi": 0, "sata": 1, "nvme": 2, "ide": 3}

// hardDisks returns the hard disks a .vmx attaches, ordered by bus, bus
// number and unit. A device counts when its .present is TRUE (or absent,
// as VMware treats it for disks) and it is not a CD-ROM.
func (v *VMX) hardDisks() []vmxDisk {
	var out []vmxDisk
	for _, k := range v.keys {
		m := vmxDiskKeyRE.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		prefix := strings.TrimSuffix(k, ".filename")
		if present, ok := v.Bool(prefix + ".present"); ok && !present {
			continue
		}
		if busPresent, ok := v.Bool(m[1] + m[2] + ".present"); ok && !busPresent {
			continue
		}
		if dt, _ := v.Get(prefix + ".deviceType"); strings.Contains(strings.ToLower(dt), "cdrom") {
			continue
		}
		name := v.values[k]
		if !strings.EqualFold(filepath.Ext(name), ".vmdk") {
			continue // an ISO or a device path
		}
		n, _ := strconv.Atoi(m[2])
		u, _ := strconv.Atoi(m[3])
		out = append(out, vmxDisk{bus: m[1], busNum: n, unit: u, fileName: name})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.bus != b.bus {
			return busRank[a.bus] < busRank[b.bus]
		}
		if a.busNum != b.busNum {
			return a.busNum < b.busNum
		}
		return a.unit < b.unit
	})
	return out
}

// classifyVMX reads the .vmx and finds the disks it attaches among the
// artifact's files.
func classifyVMX(in *Input, vmxPath string, candidates []string) (*Input, error) {
	v, err := ReadVMX(vmxPath)
	if err != nil {
		return nil, err
	}
	attached := v.hardDisks()
	if len(attached) == 0 {
		return nil, fmt.Errorf("%s attaches no hard disk (no scsiN:M / sataN:M / nvmeN:M / ideN:M .fileName ending in .vmdk), so there is nothing to pack", vmxPath)
	}
	byPath, byBase := map[string]string{}, map[string][]string{}
	for _, c := range candidates {
		byPath[filepath.Clean(c)] = c
		byBase[filepath.Base(c)] = append(byBase[filepath.Base(c)], c)
	}
	used := map[string]bool{}
	for _, a := range attached {
		want := a.fileName
		if !filepath.IsAbs(want) {
			want = filepath.Join(filepath.Dir(vmxPath), want)
		}
		file, ok := byPath[filepath.Clean(want)]
		if !ok {
			// The artifact may list the files elsewhere than the .vmx says
			// (a copied output directory): match by name when unique.
			if same := byBase[filepath.Base(a.fileName)]; len(same) == 1 {
				file, ok = same[0], true
			}
		}
		if !ok {
			return nil, fmt.Errorf("%s attaches %s as %s, which is not among the artifact's files (%s)", vmxPath, a.fileName, a.slot(), strings.Join(candidates, ", "))
		}
		d, err := probe(file)
		if err != nil {
			return nil, fmt.Errorf("disk %s of %s: %w", a.slot(), vmxPath, err)
		}
		if d.Subformat == disk.SparseExtent {
			return nil, fmt.Errorf("%s attaches %s as %s, but that file is one extent of a split VMDK, not a disk", vmxPath, a.fileName, a.slot())
		}
		if _, err := groupExtents([]disk.Info{d}); err != nil {
			return nil, err
		}
		used[file] = true
		for _, e := range d.Extents {
			used[filepath.Clean(e)] = true
		}
		in.Disks = append(in.Disks, d)
	}
	for _, c := range candidates {
		if !used[c] && !used[filepath.Clean(c)] {
			in.Ignored = append(in.Ignored, IgnoredFile{c, "not attached by " + filepath.Base(vmxPath)})
		}
	}
	in.Kind, in.VMX = KindVMX, v
	return in, nil
}
