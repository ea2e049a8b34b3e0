package vsphereovaqemu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/virtv2v"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/ovf/importer"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simimport"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
)

// TestPackerOVAInOVAOutBoots is the builder's proof, with real Packer and
// a real guest (TCG here): the base OVA boots with source
// "vsphere-ova-qemu", a shell provisioner writes a marker over SSH, the
// vsphere-ova-k3s-bundle provisioner installs a STAND-IN k3s and runs
// verify against systemd as PID 1 (see k3sGuest), the guest shuts down,
// the export is packed by post-processor "vsphere-ova"; then a second build
// boots the OUTPUT OVA and reads the marker and the k3s files back, sees
// systemd start the enabled k3s unit, and the first build's CPU, memory
// and disk size. The first build's source declares vApp properties, which
// the guest reads from its OVF environment CD (see vappGuest). Two guest
// boots in all.
func TestPackerOVAInOVAOutBoots(t *testing.T) {
	env := packerEnv(t)
	base, img := baseOVA(t)
	b := make([]byte, 8)
	rand.Read(b)
	marker := hex.EncodeToString(b)
	k3s := newK3sGuest(t)
	vapp := newVAppGuest(t)
	work := t.TempDir()
	out1 := filepath.Join(work, "out1")
	tpl := pluginBlock + fmt.Sprintf(`
source "vsphere-ova-qemu" "app" {
  source_path          = %s
  vm_name              = "app"
  CPUs                 = 2
  RAM                  = 1536
  disk_size            = 2560
  ssh_username         = %s
  ssh_private_key_file = %s
  ssh_timeout          = "20m"
  shutdown_command     = "sudo systemctl poweroff"
  shutdown_timeout     = "5m"
  cd_content           = { "hello.txt" = "from-cd" }
  cd_label             = "cidata"
  http_content         = { "/hello" = "from-http" }
  %s
  export {
    output_directory  = %s
    compression_level = 1
  }
}

build {
  sources = ["source.vsphere-ova-qemu.app"]
  provisioner "shell" {
    inline_shebang = "/bin/bash -e"
    inline = [
      "echo %s | sudo tee /var/lib/ovakit-marker", "sync",
      # sudo: the SDK's CD keeps its 0700 staging folder's mode as the
      # root's Rock Ridge mode (cloud-init reads it as root anyway).
      # By label: the OVF environment CD is attached too.
      "sudo mount -o ro LABEL=cidata /mnt && echo cd=$(sudo cat /mnt/hello.txt) && sudo umount /mnt",
      "exec 3<>/dev/tcp/10.0.2.2/${build.HTTPPort}; printf 'GET /hello HTTP/1.0\\r\\n\\r\\n' >&3; echo http=$(tail -n1 <&3)",
    ]
  }
%s%s
  post-processor "vsphere-ova" {}
}
`, hclString(propertiesOVA(t, base)), hclString(img.User), hclString(img.PrivateKeyPath), vapp.properties(), hclString(out1), marker,
		vapp.provisioner(), k3s.provisioners())
	env.Env = append(env.Env, "PACKER_LOG=1")
	tmp := t.TempDir()
	env.Env = append(env.Env, "TMPDIR="+tmp)
	log1 := env.Build(t, writeTemplate(t, tpl))
	t.Logf("first build:\n%s", tail(log1, 3000))
	for _, want := range []string{"cd=from-cd", "http=from-http"} {
		if !strings.Contains(log1, want) {
			t.Errorf("first build: the guest did not read %q (cd_content / http_content); build output:\n%s", want, uiLines(log1))
		}
	}
	k3s.checkFirstBuild(t, log1)
	vapp.check(t, log1)

	ovaPath := filepath.Join(out1, "app.ova")
	a, err := ova.OpenArchive(ovaPath)
	if err != nil {
		t.Fatalf("output OVA: %v", err)
	}
	names := a.Names()
	a.Close()
	if want := "app.ovf app.mf app-disk-0.vmdk"; strings.Join(names, " ") != want {
		t.Errorf("OVA members %q, want %q", strings.Join(names, " "), want)
	}
	t.Run("sha256sum", func(t *testing.T) {
		sums, _ := filepath.Glob(filepath.Join(out1, "*.sha256"))
		if len(sums) != 1 {
			t.Fatalf("checksum files %v, want one", sums)
		}
		cmd := exec.Command(testenv.LookPath(t, "sha256sum"), "-c", filepath.Base(sums[0]))
		cmd.Dir = out1
		if o, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, o)
		}
	})
	t.Run("virt-v2v", func(t *testing.T) {
		virtv2v.Check(t, ovaPath, "source name: app", "nr vCPUs: 2", "memory: 1610612736")
	})
	t.Run("simulator import", func(t *testing.T) {
		simimport.Run(t, func(ctx context.Context, sim *simimport.Env) error {
			ref, log, err := sim.Import(ctx, ovaPath, importer.Options{
				NetworkMapping: []importer.Network{{Name: "VM Network", Network: "VM Network"}},
			}, false) // the simulator's NFC reports SHA1 digests only; app.mf is SHA256
			if err != nil {
				t.Fatalf("govmomi import of %s: %v\n%s", ovaPath, err, log)
			}
			vm, err := sim.VM(ctx, *ref)
			if err != nil {
				return err
			}
			hw := vm.Config.Hardware
			disks := object.VirtualDeviceList(hw.Device).SelectByType((*types.VirtualDisk)(nil))
			if vm.Name != "app" || hw.NumCPU != 2 || hw.MemoryMB != 1536 || len(disks) != 1 ||
				disks[0].(*types.VirtualDisk).CapacityInKB != 2560*1024 {
				t.Errorf("imported VM %q: %d CPUs, %d MB, %d disks", vm.Name, hw.NumCPU, hw.MemoryMB, len(disks))
			}
			return nil
		})
	})
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the build left files in TMPDIR: %v", entryNames(left))
	}
	if left, _ := atomicfile.Leftovers(out1); len(left) != 0 {
		t.Errorf("unfinished writes left in the output: %v", left)
	}

	// The output OVA boots: a second build from it reads the marker back.
	out2 := filepath.Join(work, "out2")
	tpl2 := pluginBlock + fmt.Sprintf(`
source "vsphere-ova-qemu" "again" {
  vm_name              = "again"
  source_path          = %s
  source_checksum      = %s
  ssh_username         = %s
  ssh_private_key_file = %s
  ssh_timeout          = "20m"
  # The same disk under OVMF with Secure Boot (shim, GRUB and kernel are
  # signed), from NVMe: Debian's OVMF has no pvscsi driver.
  firmware             = "efi-secure"
  disk_controller_type = ["nvme"]
  export {
    output_directory  = %s
    compression_level = 1
  }
}

build {
  sources = ["source.vsphere-ova-qemu.again"]
  provisioner "shell" {
    inline = [
      "echo marker=$(cat /var/lib/ovakit-marker)",
      "echo cpus=$(nproc)",
      "echo disk=$(lsblk -bdno SIZE /dev/nvme0n1)",
      "echo secureboot=$(od -An -tu1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c | awk '{print $5}')",
      "echo mem=$(awk '/MemTotal/ {print $2}' /proc/meminfo)",%s
    ]
  }
}
`, hclString(ovaPath), hclString("file:"+ovaPath+".sha256"), hclString(img.User), hclString(img.PrivateKeyPath), hclString(out2), k3s.readBack())
	log2 := env.Build(t, writeTemplate(t, tpl2))
	t.Logf("second build:\n%s", tail(log2, 3000))
	for _, want := range []string{"marker=" + marker, "cpus=2", "disk=2684354560", "secureboot=1"} {
		if !strings.Contains(log2, want) {
			t.Errorf("second boot: output lacks %q", want)
		}
	}
	k3s.checkSecondBuild(t, log2)
	// The second export records the firmware it was built with, and keeps
	// the source's controller (disk_controller_type changes only QEMU).
	desc, err := os.ReadFile(filepath.Join(out2, "again.ovf"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := readMachine(mustDocument(t, desc))
	if err != nil {
		t.Fatal(err)
	}
	if m.Firmware != "efi" || !m.SecureBoot || m.Controllers[0] != "pvscsi" {
		t.Errorf("second export: firmware %q, secure boot %v, controllers %v; want efi, true, [pvscsi]", m.Firmware, m.SecureBoot, m.Controllers)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func entryNames(es []os.DirEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// uiLines keeps the lines of a PACKER_LOG=1 output that the user sees
// (the build's messages and the provisioners' output).
func uiLines(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "vsphere-ova-qemu.app: ") && !strings.Contains(l, "machine readable") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
