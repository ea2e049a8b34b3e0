package ovfvm

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/disk"
	"github.com/ovakit/packer-plugin-vsphere-ova/hardware"
)

// Plan is what to generate for an artifact without an OVF.
type Plan struct {
	// VM is the vm block with what the artifact supplies filled in: the
	// .vmx's settings for options left unset, and the name. Options still
	// unset take their defaults in Generate.
	VM Config
	// Disks are the artifact's disks the OVA carries, in the order the VM
	// sees them: vm.disks, else Input's order.
	Disks []disk.Info
	// Notes say, for the build log, where values came from and what could
	// not be carried over from the .vmx.
	Notes []string
}

// Resolve plans the OVF for an artifact Classify found to be disks or a
// VMware VM. c must have passed Prepare.
func (c *Config) Resolve(in *Input) (*Plan, error) {
	if in == nil || (in.Kind != KindDisks && in.Kind != KindVMX) {
		return nil, errors.New("ovfvm: Resolve needs an artifact of disk images or a .vmx; an OVF export is packed as it is")
	}
	p := &Plan{VM: *c}
	p.VM.Networks = append([]NetworkAdapter(nil), c.Networks...)
	p.VM.Disks = append([]string(nil), c.Disks...)
	p.VM.DiskControllerType = append([]string(nil), c.DiskControllerType...)
	if in.VMX != nil {
		p.Notes = p.VM.mergeVMX(in.VMX)
	}
	disks, left, err := orderDisks(in.Disks, c.Disks)
	if err != nil {
		return nil, err
	}
	for _, d := range left {
		p.Notes = append(p.Notes, fmt.Sprintf("left out disk %s: vm.disks does not list it", d.Path))
	}
	p.Disks = disks
	if p.VM.Name == "" {
		base := filepath.Base(disks[0].Path)
		p.VM.Name = strings.TrimSuffix(base, base[len(base)-len(extension(base)):])
		if err := checkText(p.VM.Name); err != nil || p.VM.Name == "" {
			return nil, fmt.Errorf("vm.name: not set, and the first disk's name %q cannot be a VM name; set vm.name", base)
		}
		p.Notes = append(p.Notes, fmt.Sprintf("name = %q (from the first disk's file name; set vm.name to change it)", p.VM.Name))
	}
	if errs := p.VM.Prepare(); len(errs) > 0 {
		return nil, fmt.Errorf("the vm block with the .vmx's settings is not valid: %w", errors.Join(errs...))
	}
	return p, nil
}

// orderDisks applies vm.disks: each entry names one found disk by path or
// by file name; the result holds those disks in that order. With no
// entries, found is returned as it is.
func orderDisks(found []disk.Info, names []string) (ordered, left []disk.Info, err error) {
	if len(found) == 0 {
		return nil, nil, errors.New("ovfvm: the artifact has no disks")
	}
	if len(names) == 0 {
		return found, nil, nil
	}
	var all []string
	for _, d := range found {
		all = append(all, d.Path)
	}
	taken := map[int]bool{}
	for i, n := range names {
		match := -1
		for j, d := range found {
			if filepath.Clean(d.Path) == filepath.Clean(n) {
				match = j
			}
		}
		if match < 0 {
			var same []int
			for j, d := range found {
				if filepath.Base(d.Path) == filepath.Base(n) {
					same = append(same, j)
				}
			}
			switch len(same) {
			case 0:
				return nil, nil, fmt.Errorf("vm.disks[%d]: %q is none of the artifact's disks (%s)", i, n, strings.Join(all, ", "))
			case 1:
				match = same[0]
			default:
				return nil, nil, fmt.Errorf("vm.disks[%d]: %q names %d of the artifact's disks; give the path", i, n, len(same))
			}
		}
		if taken[match] {
			return nil, nil, fmt.Errorf("vm.disks[%d]: %q is the same disk as an earlier entry", i, n)
		}
		taken[match] = true
		ordered = append(ordered, found[match])
	}
	for j, d := range found {
		if !taken[j] {
			left = append(left, d)
		}
	}
	return ordered, left, nil
}

// Summary describes the VM Generate writes, with defaults applied, for
// the build log: "2 vCPUs (1 per socket), 2048 MiB, BIOS, ...".
func (c *Config) Summary() string {
	v := c.resolved()
	fw := strings.ToUpper(v.firmware)
	if v.secureBoot {
		fw += " with Secure Boot"
	}
	var nics []string
	for _, n := range v.networks {
		nics = append(nics, fmt.Sprintf("%s on %q", n.NetworkCard, n.Network))
	}
	return fmt.Sprintf("%q: %d vCPUs (%d per socket), %d MiB, %s, %s (CIM OS %d), %s, %s, NICs: %s",
		v.name, v.cpus, v.cores, v.memory, fw, v.guest.id, v.guest.cim, hardware.FormatVersion(v.hwVersion), v.controllerName, strings.Join(nics, ", "))
}
