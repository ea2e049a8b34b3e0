package vsphereova

import (
	"context"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/virtv2v"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/ovf/importer"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/packertest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simimport"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// disksTemplate is a null build per disk format whose artifact is one disk
// image (artifice), packed by vsphere-ova with a vm block.
const disksTemplate = `packer {
  required_plugins {
    vsphere-ova = {
      version = ">= 0.1.0"
      source  = "github.com/ovakit/vsphere-ova"
    }
  }
}
variable "disks" { type = map(string) }
variable "out_dir" { type = string }
source "null" "raw" {
  communicator = "none"
}
source "null" "qcow2" {
  communicator = "none"
}
build {
  sources = ["source.null.raw", "source.null.qcow2"]
  post-processors {
    post-processor "artifice" {
      files = [var.disks[source.name]]
    }
    post-processor "vsphere-ova" {
      output             = "${var.out_dir}/{{.BuildName}}.ova"
      # govmomi's simulator checks SHA-1 digests only.
      manifest_algorithm = source.name == "qcow2" ? "sha1" : "sha256"
      vm {
        name                 = "appliance-${source.name}"
        CPUs                 = 4
        RAM                  = 3072
        firmware             = "efi"
        guest_os_type        = "debian12_64Guest"
        vm_version           = 19
        # The simulator's OVF import takes SCSI controllers only.
        disk_controller_type = [source.name == "qcow2" ? "pvscsi" : "lsilogic"]
        network_adapters {
          network      = "LAN"
          network_card = "e1000e"
        }
      }
    }
  }
}
`

// makeDisks writes a 64 MiB raw disk holding 6 MiB of random and text data
// at three places, and the same disk as qcow2 (qemu-img).
func makeDisks(t *testing.T, dir string) (raw, qcow2 string) {
	t.Helper()
	raw = filepath.Join(dir, "disk.raw")
	text := []byte(strings.Repeat("appliance log line with some text 0123456789\n", 50000))
	rawDisk(t, raw, 64<<20, map[int64][]byte{
		0:        randomBytes(3 << 20),
		20 << 20: text,
		63 << 20: randomBytes(1 << 20),
	})
	qcow2 = filepath.Join(dir, "disk.qcow2")
	mustRun(t, dir, testenv.LookPath(t, "qemu-img"), "convert", "-f", "raw", "-O", "qcow2", raw, qcow2)
	return raw, qcow2
}

// TestPackerDiskArtifacts runs real Packer: null + artifice of a raw and a
// qcow2 disk -> vsphere-ova with a vm block. Each OVA verifies with
// sha256sum, virt-v2v reads the VM as configured, the disk inside is the
// input's (qemu-img compare), and govmomi's importer imports it into the
// simulator with that hardware.
func TestPackerDiskArtifacts(t *testing.T) {
	env := packertest.New(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(in, 0o755); err != nil {
		t.Fatal(err)
	}
	raw, qcow2 := makeDisks(t, in)
	if err := os.WriteFile(filepath.Join(dir, "t.pkr.hcl"), []byte(disksTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	log := env.Build(t, dir, "-var", `disks={raw="`+raw+`",qcow2="`+qcow2+`"}`, "-var", "out_dir="+out)
	inputs := map[string]string{"raw": raw, "qcow2": qcow2}
	for name, input := range inputs {
		ova := filepath.Join(out, name+".ova")
		if !regexp.MustCompile(`OVA: ` + regexp.QuoteMeta(ova) + ` \(`).MatchString(log) {
			t.Errorf("no summary line for %s:\n%s", ova, log)
		}
		if !strings.Contains(log, "Converting "+input) {
			t.Errorf("the log does not show %s being converted:\n%s", input, log)
		}
		t.Run(name+"/sha256sum", func(t *testing.T) {
			sum := mustRun(t, out, testenv.LookPath(t, "sha256sum"), "-c", name+".ova.sha256")
			if strings.TrimSpace(sum) != name+".ova: OK" {
				t.Errorf("sha256sum -c: %q", sum)
			}
		})
		t.Run(name+"/virt-v2v", func(t *testing.T) { checkV2V(t, ova, "appliance-"+name) })
		t.Run(name+"/qemu-img compare", func(t *testing.T) {
			qemuImg := testenv.LookPath(t, "qemu-img")
			x := t.TempDir()
			mustRun(t, x, testenv.LookPath(t, "tar"), "-xf", ova)
			vmdkFile := filepath.Join(x, "appliance-"+name+"-disk-0.vmdk")
			res := mustRun(t, x, qemuImg, "compare", "-f", "vmdk", "-F", name, vmdkFile, input)
			if !strings.Contains(res, "Images are identical") {
				t.Errorf("qemu-img compare: %s", res)
			}
			if info := mustRun(t, x, qemuImg, "info", vmdkFile); !strings.Contains(info, "create type: streamOptimized") {
				t.Errorf("the OVA's disk is not streamOptimized:\n%s", info)
			}
			// vm_version = 19, an HCL number, reached the string option.
			if d, err := os.ReadFile(filepath.Join(x, "appliance-"+name+".ovf")); err != nil || !strings.Contains(string(d), "<vssd:VirtualSystemType>vmx-19</vssd:VirtualSystemType>") {
				t.Errorf("the OVF does not declare vmx-19 (%v):\n%s", err, d)
			}
		})
	}
	t.Run("simulator import", func(t *testing.T) {
		simimport.Run(t, func(ctx context.Context, sim *simimport.Env) error {
			for _, name := range []string{"raw", "qcow2"} {
				ref, log, err := sim.Import(ctx, filepath.Join(out, name+".ova"), importer.Options{
					NetworkMapping: []importer.Network{{Name: "LAN", Network: "VM Network"}},
				}, name == "qcow2") // the simulator checks SHA-1 manifests only
				if err != nil {
					t.Fatalf("govmomi import of %s.ova: %v\n%s", name, err, log)
				}
				vm, err := sim.VM(ctx, *ref)
				if err != nil {
					return err
				}
				hw := vm.Config.Hardware
				// The simulator's import spec leaves vmw:Config (firmware)
				// out; virt-v2v checks the firmware above.
				if vm.Name != "appliance-"+name || hw.NumCPU != 4 || hw.MemoryMB != 3072 {
					t.Errorf("%s: imported %q with %d CPUs, %d MB; want appliance-%s, 4, 3072",
						name, vm.Name, hw.NumCPU, hw.MemoryMB, name)
				}
				devices := object.VirtualDeviceList(hw.Device)
				disks := devices.SelectByType((*types.VirtualDisk)(nil))
				if len(disks) != 1 || disks[0].(*types.VirtualDisk).CapacityInKB != 64<<10 {
					t.Errorf("%s: imported disks %v; want one of 64 MiB", name, disks)
				}
				want := map[string]types.BaseVirtualDevice{"raw": (*types.VirtualLsiLogicController)(nil), "qcow2": (*types.ParaVirtualSCSIController)(nil)}[name]
				if n := len(devices.SelectByType(want)); n != 1 {
					t.Errorf("%s: %d %T controllers, want 1", name, n, want)
				}
				if n := len(devices.SelectByType((*types.VirtualE1000e)(nil))); n != 1 {
					t.Errorf("%s: %d e1000e NICs, want 1", name, n)
				}
			}
			return nil
		})
	})
	if left, _ := atomicfile.Leftovers(dir); len(left) != 0 {
		t.Errorf("work folders or temporary files left: %v", left)
	}
}

// checkV2V runs `virt-v2v -i ova --print-source`, which parses the OVF and
// the manifest the way a conversion would, and checks the VM it reports.
func checkV2V(t *testing.T, ova, name string) {
	out := virtv2v.PrintSource(t, ova)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`source name: ` + regexp.QuoteMeta(name) + `\n`),
		regexp.MustCompile(`nr vCPUs: 4\n`),
		regexp.MustCompile(`memory: 3221225472 \(bytes\)`),
		regexp.MustCompile(`firmware: uefi`),
		regexp.MustCompile(`disks:\n\s+0 \[scsi\]\n`),
		regexp.MustCompile(`NICs:\n\s+Bridge "LAN" \[e1000e\]\n`),
	} {
		if !want.MatchString(out) {
			t.Errorf("virt-v2v output does not match %s:\n%s", want, out)
		}
	}
}

// SIGINT to packer while the post-processor converts a disk: the build
// fails, and there is no OVA, no checksum file and no work folder.
func TestPackerCancelDuringConversion(t *testing.T) {
	env := packertest.New(t)
	dir := t.TempDir()
	disk := filepath.Join(dir, "big.raw")
	// Text of random words: it compresses, slowly enough that the
	// conversion takes several seconds on any machine.
	rawDisk(t, disk, 1<<30, map[int64][]byte{0: wordText(768 << 20)})
	out := filepath.Join(dir, "out")
	tmpl := strings.NewReplacer(`source "null" "qcow2" {
  communicator = "none"
}
`, "", `"source.null.raw", "source.null.qcow2"`, `"source.null.raw"`).Replace(disksTemplate)
	if err := os.WriteFile(filepath.Join(dir, "t.pkr.hcl"), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := env.Run(context.Background(), dir, "init", "."); res.Err != nil {
		t.Fatalf("packer init: %v\n%s", res.Err, res.Output)
	}
	cmd := env.Command(context.Background(), dir, nil, "build", "-color=false",
		"-var", `disks={raw="`+disk+`"}`, "-var", "out_dir="+out, ".")
	log, signalled, err := packertest.InterruptOn(t, cmd, "Converting "+disk, 500*time.Millisecond, 5*time.Minute)
	if !signalled {
		t.Fatalf("the conversion never started:\n%s", log)
	}
	if err == nil {
		t.Fatalf("interrupted build exited 0:\n%s", log)
	}
	if strings.Contains(log, "Wrote the OVF") {
		t.Fatalf("the conversion finished before SIGINT; the test did not interrupt it:\n%s", log)
	}
	if !strings.Contains(log, "was cancelled") {
		t.Errorf("no cancellation message:\n%s", log)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("the output folder holds %v after a cancelled build", entries)
	}
	if left, _ := atomicfile.Leftovers(dir); len(left) != 0 {
		t.Errorf("work folders or temporary files left: %v", left)
	}
}

// vmxTemplate packs a vmware-iso style output folder handed over by
// artifice: a .vmx, its monolithicSparse VMDK, and the files beside them.
const vmxTemplate = `packer {
  required_plugins {
    vsphere-ova = {
      version = ">= 0.1.0"
      source  = "github.com/ovakit/vsphere-ova"
    }
  }
}
variable "files" { type = list(string) }
variable "output" { type = string }
source "null" "vmware" {
  communicator = "none"
}
build {
  sources = ["source.null.vmware"]
  post-processors {
    post-processor "artifice" {
      files = var.files
    }
    post-processor "vsphere-ova" {
      output = var.output
      vm {
        RAM = 2048 # the block wins over the .vmx's memsize
      }
    }
  }
}
`

// The .vmx supplies what the vm block leaves unset (CPUs, firmware, NICs,
// the disk), the monolithicSparse disk is converted, and the OVA is the
// VM virt-v2v reads, with the .vmx's disk inside.
func TestPackerVMXArtifact(t *testing.T) {
	env := packertest.New(t)
	dir := t.TempDir()
	vmDir := filepath.Join(dir, "output-web")
	if err := os.Mkdir(vmDir, 0o755); err != nil {
		t.Fatal(err)
	}
	raw := filepath.Join(dir, "disk.raw")
	rawDisk(t, raw, 32<<20, map[int64][]byte{0: randomBytes(1 << 20), 16 << 20: []byte(strings.Repeat("text ", 100000))})
	disk := filepath.Join(vmDir, "web.vmdk")
	mustRun(t, dir, testenv.LookPath(t, "qemu-img"), "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=monolithicSparse", raw, disk)
	vmx := filepath.Join(vmDir, "web.vmx")
	files := []string{vmx, disk, filepath.Join(vmDir, "web.nvram"), filepath.Join(vmDir, "vmware.log")}
	for f, text := range map[string]string{
		vmx: `.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "19"
displayName = "web"
guestOS = "debian12-64"
numvcpus = "3"
memsize = "4096"
firmware = "efi"
scsi0.present = "TRUE"
scsi0.virtualDev = "pvscsi"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "web.vmdk"
ethernet0.present = "TRUE"
ethernet0.virtualDev = "vmxnet3"
ethernet0.networkName = "Storage"
`,
		files[2]: "nvram", files[3]: "log",
	} {
		if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "t.pkr.hcl"), []byte(vmxTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	ova := filepath.Join(dir, "out", "web.ova")
	log := env.Build(t, dir, "-var", `files=["`+strings.Join(files, `","`)+`"]`, "-var", "output="+ova)
	if !strings.Contains(log, "Converting "+disk+" (vmdk") || !strings.Contains(log, "Leaving out "+files[3]) {
		t.Errorf("the log does not show the VMDK converted and the log file left out:\n%s", log)
	}
	if sum := mustRun(t, filepath.Dir(ova), testenv.LookPath(t, "sha256sum"), "-c", "web.ova.sha256"); strings.TrimSpace(sum) != "web.ova: OK" {
		t.Errorf("sha256sum -c: %q", sum)
	}
	virtv2v.Check(t, ova, "source name: web\n", "nr vCPUs: 3\n", "memory: 2147483648 (bytes)", "firmware: uefi", `"Storage" [vmxnet3]`, "0 [scsi]")
	x := t.TempDir()
	mustRun(t, x, testenv.LookPath(t, "tar"), "-xf", ova)
	if res := mustRun(t, x, testenv.LookPath(t, "qemu-img"), "compare", "-f", "vmdk", "-F", "vmdk", filepath.Join(x, "web-disk-0.vmdk"), disk); !strings.Contains(res, "Images are identical") {
		t.Errorf("qemu-img compare: %s", res)
	}
	if left, _ := atomicfile.Leftovers(dir); len(left) != 0 {
		t.Errorf("work folders or temporary files left: %v", left)
	}
}

// wordText is n bytes of random words from a small dictionary.
func wordText(n int) []byte {
	words := strings.Fields("appliance kernel packer vsphere disk grain table marker footer stream " +
		"deflate header sector capacity manifest digest network firmware controller memory")
	r := mrand.New(mrand.NewPCG(1, 2))
	b := make([]byte, 0, n+16)
	for len(b) < n {
		b = append(b, words[r.IntN(len(words))]...)
		b = append(b, " \n"[r.IntN(2)])
	}
	return b[:n]
}
