package ovftarget

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/virtv2v"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/fixture"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/ovftest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// virt-v2v (libguestfs's OVA input, a third, independent OVF reader) reads
// every target's descriptor beside real disks: `virt-v2v -i ova <dir>
// --print-source` parses the OVF and its references without converting.
func TestVirtV2VReadsEveryTarget(t *testing.T) {
	qemuImg := testenv.LookPath(t, "qemu-img")
	for name, desc := range map[string][]byte{"basic-vm": ovftest.Basic(), "efi-vm": ovftest.EFI()} {
		src := t.TempDir()
		// Real streamOptimized disks under the names the fixture references.
		if _, err := fixture.WriteExport(src, fixture.ExportOptions{Name: name, DiskMiB: 8, QemuImg: qemuImg}); err != nil {
			t.Fatal(err)
		}
		for _, target := range allTargets {
			r := customize(t, desc, target, prepared(t, fullOptions(t)))
			dir := filepath.Join(t.TempDir(), string(target))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name+".ovf"), r.Descriptor, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(filepath.Join(src, fixture.DiskName(name, 0)), filepath.Join(dir, fixture.DiskName(name, 0))); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(r.Descriptor), "efi-vm-file1.nvram") {
				if err := os.WriteFile(filepath.Join(dir, "efi-vm-file1.nvram"), make([]byte, 4096), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			wants := []string{"source name: " + name, "disks:\n\t0 "}
			// virt-v2v reads vmw:Config firmware; only VirtualBox loses it.
			if name == "efi-vm" {
				wants = append(wants, "firmware: uefi")
			}
			t.Run(name+"/"+string(target), func(t *testing.T) { virtv2v.Check(t, dir, wants...) })
		}
	}
}
