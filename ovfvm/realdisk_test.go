package ovfvm

import (
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/disk"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/virtv2v"
)

// realDisks writes small real streamOptimized VMDKs under the given names
// into dir: a raw image with 1 MiB of random data at the start of a
// 16 MiB disk, converted by qemu-img (the native writer is not there
// yet). The returned Disks carry the file sizes and the capacities our
// probe reads from the VMDK headers.
func realDisks(t *testing.T, dir string, hrefs ...string) []Disk {
	t.Helper()
	qemuImg := testenv.LookPath(t, "qemu-img")
	raw := filepath.Join(t.TempDir(), "src.raw")
	data := make([]byte, 1<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(raw, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(raw, 16<<20); err != nil {
		t.Fatal(err)
	}
	var disks []Disk
	for _, h := range hrefs {
		dst := filepath.Join(dir, h)
		cmd := exec.Command(qemuImg, "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, dst)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("qemu-img convert: %v\n%s", err, out)
		}
		d, err := disk.Probe(dst)
		if err != nil {
			t.Fatal(err)
		}
		if !d.StreamOptimized() || d.Capacity != 16<<20 {
			t.Fatalf("probe of qemu-img's VMDK: %+v; want streamOptimized, 16 MiB", d)
		}
		fi, err := os.Stat(dst)
		if err != nil {
			t.Fatal(err)
		}
		disks = append(disks, Disk{Href: h, Size: fi.Size(), Capacity: d.Capacity, PopulatedSize: 1 << 20})
	}
	return disks
}

// writeOVF generates the OVF for c beside disks in dir, as <name>.ovf.
func writeOVF(t *testing.T, dir string, c Config, disks []Disk) string {
	t.Helper()
	out, err := Generate(&c, disks)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	p := filepath.Join(dir, c.Name+".ovf")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// virt-v2v (libguestfs's OVA input, an OVF reader independent of VMware's
// and ours) sees the VM as configured: `virt-v2v -i ova <dir>
// --print-source` parses the OVF and opens its disks without converting.
func TestVirtV2VReadsGeneratedVM(t *testing.T) {
	cases := []struct {
		cfg  Config
		want []string
	}{
		{
			Config{Name: "efi-sata", CPUs: 4, CoresPerSocket: 2, Memory: 3072, Firmware: "efi-secure",
				OSType: "debian12_64Guest", DiskControllerType: []string{"sata"},
				Networks: []NetworkAdapter{{Network: "VM Network"}, {Network: "Lab", NetworkCard: "e1000e"}}},
			[]string{"source name: efi-sata", "memory: 3221225472 (bytes)", "nr vCPUs: 4", "sockets: 2 cores/socket: 2",
				"firmware: uefi", "\t0 [sata]", "\t1 [sata]", `Bridge "VM Network" [vmxnet3]`, `Bridge "Lab" [e1000e]`},
		},
		{
			Config{Name: "bios-pvscsi"},
			[]string{"source name: bios-pvscsi", "memory: 2147483648 (bytes)", "nr vCPUs: 2", "sockets: 2 cores/socket: 1",
				"firmware: bios", "\t0 [scsi]", "\t1 [scsi]", `Bridge "VM Network" [vmxnet3]`},
		},
		{
			// virt-v2v reports every ResourceType 20 controller as SATA.
			Config{Name: "nvme", Firmware: "efi", DiskControllerType: []string{"nvme"}, Memory: 1024, CPUs: 1, Networks: []NetworkAdapter{{NetworkCard: "e1000e"}}},
			[]string{"source name: nvme", "memory: 1073741824 (bytes)", "nr vCPUs: 1", "firmware: uefi", "\t0 [sata]", "\t1 [sata]",
				`Bridge "VM Network" [e1000e]`},
		},
	}
	for _, c := range cases {
		t.Run(c.cfg.Name, func(t *testing.T) {
			dir := t.TempDir()
			disks := realDisks(t, dir, DiskHref(c.cfg.Name, 0), DiskHref(c.cfg.Name, 1))
			writeOVF(t, dir, c.cfg, disks)
			virtv2v.Check(t, dir, c.want...)
		})
	}
}
