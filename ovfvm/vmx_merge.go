package ovfvm

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/hardware"
)

// mergeVMX fills the options c leaves unset from the .vmx, as the VM was
// built: displayName, numvcpus, cpuid.coresPerSocket, memsize, guestOS,
// firmware, uefi.secureBoot.enabled, virtualHW.version, the disks' bus
// (scsiN.virtualDev, sata, nvme) and ethernetN.virtualDev/networkName. It
// returns a note for each value taken and for each it could not take.
// Options the user set always win. It is long because each .vmx key gets
// its own short block, in the order of the Config fields.
func (c *Config) mergeVMX(v *VMX) []string {
	src := filepath.Base(v.Path)
	if src == "." || src == "" {
		src = "the .vmx"
	}
	var notes []string
	took := func(option, value, key string) {
		notes = append(notes, fmt.Sprintf("%s = %s (from %s in %s)", option, value, key, src))
	}
	skip := func(format string, args ...any) {
		notes = append(notes, fmt.Sprintf(format, args...)+" in "+src)
	}

	if s, ok := v.Get("displayName"); ok && c.Name == "" {
		if checkText(s) == nil && s != "" {
			c.Name = s
			took("name", strconv.Quote(s), "displayName")
		} else {
			skip("displayName %q is not usable as a VM name; kept the default", s)
		}
	}
	if c.CPUs == 0 {
		if n, ok, err := v.Int("numvcpus"); err != nil {
			skip("%v; kept the default", err)
		} else if ok && n >= 1 && n <= MaxCPUs {
			c.CPUs = n
			took("CPUs", strconv.Itoa(n), "numvcpus")
		}
	}
	if c.CoresPerSocket == 0 {
		if n, ok, err := v.Int("cpuid.coresPerSocket"); err != nil {
			skip("%v; kept the default", err)
		} else if ok && n >= 1 {
			cpus := c.CPUs
			if cpus == 0 {
				cpus = DefaultCPUs
			}
			if cpus%n == 0 {
				c.CoresPerSocket = n
				took("cpu_cores", strconv.Itoa(n), "cpuid.coresPerSocket")
			} else {
				skip("cpuid.coresPerSocket = %d does not divide CPUs (%d); kept 1", n, cpus)
			}
		}
	}
	if c.Memory == 0 {
		if n, ok, err := v.Int("memsize"); err != nil {
			skip("%v; kept the default", err)
		} else if ok {
			if err := checkMemory(n); err != nil {
				skip("memsize: %v; kept the default", err)
			} else {
				c.Memory = n
				took("RAM", strconv.Itoa(n), "memsize")
			}
		}
	}
	if c.OSType == "" {
		if s, ok := v.Get("guestOS"); ok {
			if g, ok := vmxGuestToVSphere(s); ok {
				c.OSType = g
				took("guest_os_type", strconv.Quote(g), fmt.Sprintf("guestOS %q", s))
			} else {
				skip("guestOS %q has no vSphere guest id; kept guest_os_type %s (set vm.guest_os_type)", s, DefaultOSType)
			}
		}
	}
	if c.Firmware == "" {
		notes = append(notes, c.mergeFirmware(v, src)...)
	}
	hwFromVMX := ""
	if c.HardwareVersion == "" {
		if n, ok, err := v.Int("virtualHW.version"); err != nil {
			skip("%v; kept the default", err)
		} else if ok {
			hw := hardware.FormatVersion(n)
			if _, err := hardware.ParseVMX(hw); err == nil {
				c.HardwareVersion, hwFromVMX = hw, hw
				took("vm_version", hw, "virtualHW.version")
			}
		}
	}
	if c.DiskController() == "" {
		notes = append(notes, c.mergeController(v, src)...)
	}
	if len(c.Networks) == 0 {
		notes = append(notes, c.mergeNetworks(v, src)...)
	}
	// A version the .vmx gave may be below what devices the user chose
	// need; raise it rather than fail on a value the user did not write.
	if hwFromVMX != "" {
		have := mustHW(hwFromVMX)
		if need, what := c.resolved().minHardwareVersion(); need > have {
			c.HardwareVersion = hardware.FormatVersion(need)
			skip("virtualHW.version %d is below vmx-%02d, which %s needs; wrote vmx-%02d", have, need, what, need)
		}
	}
	return notes
}

func mustHW(s string) int { n, _ := hardware.ParseVMX(s); return n }

// mergeController takes the bus of the .vmx's first disk.
func (c *Config) mergeController(v *VMX, src string) []string {
	disks := v.hardDisks()
	if len(disks) == 0 {
		return nil
	}
	d := disks[0]
	key := fmt.Sprintf("%s%d.virtualDev", d.bus, d.busNum)
	switch d.bus {
	case "sata", "nvme":
		c.DiskControllerType = []string{d.bus}
		return []string{fmt.Sprintf("disk_controller_type = %q (the first disk, %s, in %s)", d.bus, d.slot(), src)}
	case "ide":
		c.DiskControllerType = []string{ControllerSATA}
		return []string{fmt.Sprintf("disk_controller_type = %q: the first disk (%s) is on IDE, which vSphere exports do not offer for new disks; SATA is the closest (the guest needs the ahci driver) - set vm.disk_controller_type to choose (%s)", ControllerSATA, d.slot(), src)}
	}
	dev, ok := v.Get(key)
	// scsiN.virtualDev names the controller as disk_controller_type does.
	if ctl, known := lookupDiskController(dev); ok && known && ctl.ResourceType == hardware.TypeSCSIHBA {
		ctrl := ctl.Name
		c.DiskControllerType = []string{ctrl}
		return []string{fmt.Sprintf("disk_controller_type = %q (from %s in %s)", ctrl, key, src)}
	}
	if !ok {
		return []string{fmt.Sprintf("%s is not set in %s; kept disk_controller_type %q - set vm.disk_controller_type if the guest lacks its driver", key, src, DefaultDiskController)}
	}
	return []string{fmt.Sprintf("%s = %q is not offered (pvscsi, lsilogic, sata, nvme); kept disk_controller_type %q - set vm.disk_controller_type if the guest lacks its driver (%s)", key, dev, DefaultDiskController, src)}
}

// mergeFirmware takes firmware and uefi.secureBoot.enabled as one
// firmware value.
func (c *Config) mergeFirmware(v *VMX, src string) []string {
	s, ok := v.Get("firmware")
	if !ok {
		return nil
	}
	fw := strings.ToLower(strings.TrimSpace(s))
	secure, _ := v.Bool("uefi.secureBoot.enabled")
	switch {
	case fw == FirmwareEFI && secure:
		c.Firmware = FirmwareEFISecure
		return []string{fmt.Sprintf("firmware = %q (from firmware and uefi.secureBoot.enabled in %s)", c.Firmware, src)}
	case fw == FirmwareBIOS && secure:
		c.Firmware = fw
		return []string{fmt.Sprintf("firmware = %q (from firmware in %s); uefi.secureBoot.enabled is TRUE but the firmware is BIOS, so Secure Boot is left off", fw, src)}
	case fw == FirmwareBIOS || fw == FirmwareEFI:
		c.Firmware = fw
		return []string{fmt.Sprintf("firmware = %q (from firmware in %s)", fw, src)}
	}
	return []string{fmt.Sprintf("firmware %q is neither bios nor efi; kept the default in %s", s, src)}
}

var ethernetRE = regexp.MustCompile(`^ethernet([0-9]+)\.present$`)

// mergeNetworks takes the present ethernetN adapters, in N order.
func (c *Config) mergeNetworks(v *VMX, src string) []string {
	var idx []int
	for _, k := range v.keys {
		if m := ethernetRE.FindStringSubmatch(k); m != nil {
			if on, _ := v.Bool(k); on {
				n, _ := strconv.Atoi(m[1])
				idx = append(idx, n)
			}
		}
	}
	sort.Ints(idx)
	if len(idx) > MaxNetworks {
		idx = idx[:MaxNetworks]
	}
	var notes []string
	for _, n := range idx {
		p := fmt.Sprintf("ethernet%d", n)
		net := NetworkAdapter{}
		if name, ok := v.Get(p + ".networkName"); ok && checkText(name) == nil && name != "" {
			net.Network = name
		}
		dev, _ := v.Get(p + ".virtualDev")
		switch d := strings.ToLower(dev); d {
		case AdapterVMXNET3, AdapterE1000E:
			net.NetworkCard = d
		case "e1000":
			net.NetworkCard = AdapterE1000E
			notes = append(notes, fmt.Sprintf("%s.virtualDev e1000 became e1000e (same Intel driver family; e1000 is not offered) in %s", p, src))
		case "":
			notes = append(notes, fmt.Sprintf("%s.virtualDev is not set in %s; used %s", p, src, DefaultAdapter))
		default:
			notes = append(notes, fmt.Sprintf("%s.virtualDev %q is not offered (vmxnet3, e1000e); used %s in %s", p, dev, DefaultAdapter, src))
		}
		// A static address (Workstation's "ethernetN.addressType = static")
		// stays the adapter's; generated ones are the importer's to make.
		if t, _ := v.Get(p + ".addressType"); strings.EqualFold(t, "static") {
			addr, _ := v.Get(p + ".address")
			if mac, err := normalizeMAC(addr); err == nil {
				net.MACAddress = mac
			} else {
				notes = append(notes, fmt.Sprintf("%s.address %q is not a usable static MAC address; left it to the importer (%s)", p, addr, src))
			}
		}
		c.Networks = append(c.Networks, net)
	}
	if len(c.Networks) > 0 {
		notes = append(notes, fmt.Sprintf("network_adapters: %d adapter(s) from %s", len(c.Networks), src))
	}
	return notes
}
