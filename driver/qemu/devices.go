package qemu

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/hardware"
)

// Controller types, named as vSphere names them (the hardware
// catalog). Each runs as the QEMU device the catalog gives, the closest to
// what the guest sees on vSphere, so its drivers and device names do not
// change between the QEMU build and the deployed VM.
const (
	// PVSCSI is VMware Paravirtual SCSI: QEMU's pvscsi (Linux vmw_pvscsi).
	PVSCSI = hardware.PVSCSI
	// LSILogic is VMware's LSI Logic parallel SCSI, run as lsi53c895a (Linux
	// sym53c8xx, not mptspi). A stock Debian kernel boots from it (tested
	// with internal/testkit/bootimage).
	LSILogic = hardware.LSILogic
	// LSILogicSAS is VMware's LSI Logic SAS: QEMU's mptsas1068 (Linux
	// mptsas). Known not to work with QEMU 7.2 and Debian 12's kernel:
	// SeaBIOS loads GRUB and the kernel through it, mptsas brings the
	// LSISAS1068 up (ioc0), but no disk appears behind it and the initramfs
	// gives up waiting for the root. Use pvscsi, sata or nvme for a guest
	// that must boot here.
	LSILogicSAS = hardware.LSILogicSAS
	// SATA is VMware's AHCI controller: QEMU's ich9-ahci (Linux ahci).
	SATA = hardware.SATA
	// NVMe is VMware's NVMe controller: QEMU's nvme, one namespace per disk
	// (nvme0n1, nvme0n2, ... as on vSphere).
	NVMe = hardware.NVMe
	// IDE is the PIIX4 IDE controller; only machine type "pc" has one.
	IDE = hardware.IDE
)

// NIC models, as vSphere names them (QEMU uses the same names).
const (
	VMXNET3 = hardware.VMXNET3
	E1000E  = hardware.E1000E
	E1000   = hardware.E1000
)

// ParseController maps a controller name from an OVF (ResourceSubType such
// as "VirtualSCSI", "lsilogicsas", "vmware.sata.ahci", "vmware.nvme.controller",
// "PIIX4") or a user option to a controller type QEMU can run.
func ParseController(name string) (string, error) {
	c, ok := hardware.LookupController(name)
	if !ok || (c.QEMUDevice == "" && c.Name != IDE) {
		return "", fmt.Errorf("unknown disk controller %q (want pvscsi, lsilogic, lsilogicsas, sata, nvme or ide)", name)
	}
	return c.Name, nil
}

// ParseNIC maps a NIC name from an OVF (ResourceSubType "VmxNet3", "E1000e")
// or a user option to a NIC model.
func ParseNIC(name string) (string, error) {
	n, ok := hardware.LookupNIC(name)
	if !ok {
		return "", fmt.Errorf("unknown network adapter %q (want vmxnet3, e1000e or e1000)", name)
	}
	return n.QEMUModel, nil
}

// controllerOf is the catalog entry of a parsed controller type.
func controllerOf(typ string) hardware.Controller {
	c, _ := hardware.LookupController(typ)
	return c
}

// storageArgs returns the -device/-drive arguments for the controllers,
// disks and CD-ROMs. Disk 0 is the boot disk.
func storageArgs(c *Config) ([]string, error) {
	var args []string
	for i, ctl := range c.Controllers {
		id := ctlID(i)
		switch dev := controllerOf(ctl.Type).QEMUDevice; ctl.Type {
		case PVSCSI, LSILogic, LSILogicSAS, SATA:
			args = append(args, "-device", dev+",id="+id)
		case NVMe:
			args = append(args, "-device", fmt.Sprintf("%s,id=%s,serial=ovakit%d", dev, id, i))
		case IDE:
			if c.MachineType != "pc" {
				return nil, fmt.Errorf("controllers[%d]: an IDE controller needs machine_type \"pc\" (q35 has none); use sata", i)
			}
			if i != firstIndex(c.Controllers, IDE) {
				return nil, fmt.Errorf("controllers[%d]: only one IDE controller is possible", i)
			}
		default:
			return nil, fmt.Errorf("controllers[%d]: unknown type %q", i, ctl.Type)
		}
	}
	used := map[[2]int]bool{}
	for i, d := range c.Disks {
		if d.Controller < 0 || d.Controller >= len(c.Controllers) {
			return nil, fmt.Errorf("disks[%d]: controller %d does not exist (%d configured)", i, d.Controller, len(c.Controllers))
		}
		typ := c.Controllers[d.Controller].Type
		if units := controllerOf(typ).QEMUUnits; d.Unit < 0 || d.Unit >= units {
			return nil, fmt.Errorf("disks[%d]: unit %d out of range for a %s controller (0-%d)", i, d.Unit, typ, units-1)
		}
		if used[[2]int{d.Controller, d.Unit}] {
			return nil, fmt.Errorf("disks[%d]: controller %d unit %d is already taken", i, d.Controller, d.Unit)
		}
		used[[2]int{d.Controller, d.Unit}] = true
		format := d.Format
		if format == "" {
			format = "qcow2"
		}
		drive := fmt.Sprintf("disk%d", i)
		args = append(args, "-drive", fmt.Sprintf("if=none,id=%s,file=%s,format=%s,discard=unmap,detect-zeroes=unmap",
			drive, escapeOpt(d.Path), format))
		boot := ""
		if i == 0 {
			boot = ",bootindex=1"
		}
		id := ctlID(d.Controller)
		var dev string
		switch typ {
		case PVSCSI, LSILogic, LSILogicSAS:
			dev = fmt.Sprintf("scsi-hd,bus=%s.0,scsi-id=%d,drive=%s", id, d.Unit, drive)
		case SATA:
			dev = fmt.Sprintf("ide-hd,bus=%s.%d,drive=%s", id, d.Unit, drive)
		case NVMe:
			dev = fmt.Sprintf("nvme-ns,bus=%s,nsid=%d,drive=%s", id, d.Unit+1, drive)
		case IDE:
			dev = fmt.Sprintf("ide-hd,bus=ide.%d,unit=%d,drive=%s", d.Unit/2, d.Unit%2, drive)
		}
		args = append(args, "-device", dev+boot)
	}
	cds, err := cdromArgs(c, used)
	if err != nil {
		return nil, err
	}
	return append(args, cds...), nil
}

// cdromArgs attaches the ISO files read-only: on q35 to the chipset's own
// AHCI ports (ide.0-ide.5), on pc to free IDE slots.
func cdromArgs(c *Config, used map[[2]int]bool) ([]string, error) {
	var args []string
	var slots []string
	if c.MachineType == "pc" {
		ide := firstIndex(c.Controllers, IDE)
		for u := 0; u < 4; u++ {
			if ide < 0 || !used[[2]int{ide, u}] {
				slots = append(slots, fmt.Sprintf("bus=ide.%d,unit=%d", u/2, u%2))
			}
		}
	} else {
		for p := 0; p < 6; p++ {
			slots = append(slots, "bus=ide."+strconv.Itoa(p))
		}
	}
	if len(c.CDROMs) > len(slots) {
		return nil, fmt.Errorf("%d CD-ROMs do not fit: %d free slots", len(c.CDROMs), len(slots))
	}
	for i, iso := range c.CDROMs {
		drive := fmt.Sprintf("cd%d", i)
		args = append(args,
			"-drive", fmt.Sprintf("if=none,id=%s,file=%s,format=raw,media=cdrom,readonly=on", drive, escapeOpt(iso)),
			"-device", fmt.Sprintf("ide-cd,%s,drive=%s", slots[i], drive))
	}
	return args, nil
}

// netArgs gives every NIC its own user-mode (slirp) network; the first one
// forwards 127.0.0.1:hostPort to the guest's ForwardPort.
func netArgs(c *Config, hostPort int) []string {
	var args []string
	for i, n := range c.NICs {
		netdev := fmt.Sprintf("user,id=net%d", i)
		if i == 0 && c.ForwardPort > 0 {
			netdev += fmt.Sprintf(",hostfwd=tcp:127.0.0.1:%d-:%d", hostPort, c.ForwardPort)
		}
		dev := fmt.Sprintf("%s,netdev=net%d", n.Model, i)
		if n.MAC != "" {
			dev += ",mac=" + n.MAC
		}
		args = append(args, "-netdev", netdev, "-device", dev)
	}
	return args
}

func ctlID(i int) string { return fmt.Sprintf("ctl%d", i) }

func firstIndex(ctls []Controller, typ string) int {
	for i, c := range ctls {
		if c.Type == typ {
			return i
		}
	}
	return -1
}

// escapeOpt escapes a value for QEMU's comma-separated option syntax, where
// a literal comma is written twice.
func escapeOpt(s string) string { return strings.ReplaceAll(s, ",", ",,") }
