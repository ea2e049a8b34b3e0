package vsphereova

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/virtv2v"

	govmomiovf "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/ovf/importer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/fixture"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/ovftest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/packertest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simimport"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
)

// targetsTemplate is one build writing three OVAs from one export, with the
// descriptor options users set for the vSphere deploy wizard.
const targetsTemplate = `packer {
  required_plugins {
    vsphere-ova = {
      version = ">= 0.1.0"
      source  = "github.com/ovakit/vsphere-ova"
    }
  }
}
variable "export_dir" { type = string }
variable "out" { type = string }
variable "eula_file" { type = string }
source "null" "export" { communicator = "none" }
build {
  sources = ["source.null.export"]
  post-processors {
    post-processor "artifice" {
      files = formatlist("%s/%s", var.export_dir, sort(fileset(var.export_dir, "*")))
    }
    post-processor "vsphere-ova" {
      output     = "${var.out}/{{.BuildName}}.ova"
      target     = ["vsphere", "workstation", "virtualbox"]
      annotation = "Acme appliance, built by Packer"
      eula_file  = var.eula_file
      product {
        name    = "Acme Appliance"
        vendor  = "Acme"
        version = "1.4"
      }
      property {
        key   = "ip0"
        label = "IP address"
        value = "192.0.2.1"
      }
      keep_input_artifact = true
    }
  }
}
`

// efiFixtureExport is internal/testkit/fixture's export (which the simulator
// imports) made an EFI guest with its .nvram, as vSphere 8 exports one:
// vmw:Config firmware, an ExtraConfig nvram reference and its File, and an
// export manifest that lists them all.
func efiFixtureExport(t *testing.T) string {
	t.Helper()
	ovfPath, _ := export(t, fixture.ExportOptions{Name: "app-vm", DiskMiB: 16, DataMiB: 2, WithManifest: true})
	dir := filepath.Dir(ovfPath)
	nvram := make([]byte, 8192)
	writeTestFile(t, filepath.Join(dir, "app-vm.nvram"), nvram)
	desc, err := os.ReadFile(ovfPath)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(desc), "  </References>", `    <File ovf:href="app-vm.nvram" ovf:id="file-nvram" ovf:size="8192"/>
  </References>`, 1)
	s = strings.Replace(s, `<vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="bios"/>`, `<vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>
      <vmw:ExtraConfig ovf:required="false" vmw:key="nvram" vmw:value="ovf:/file/file-nvram"/>`, 1)
	if strings.Count(s, "nvram") != 4 || !strings.Contains(s, `vmw:value="efi"`) {
		t.Fatalf("fixture descriptor changed shape; cannot add the EFI parts:\n%s", desc)
	}
	writeTestFile(t, ovfPath, []byte(s))
	mfPath := strings.TrimSuffix(ovfPath, ".ovf") + ".mf"
	mf, err := os.ReadFile(mfPath)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.SplitAfter(string(mf), "\n") {
		if !strings.HasPrefix(l, "SHA256(app-vm.ovf)=") && l != "" {
			lines = append(lines, l)
		}
	}
	h := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	lines = append([]string{"SHA256(app-vm.ovf)= " + h([]byte(s)) + "\n"}, lines...)
	lines = append(lines, "SHA256(app-vm.nvram)= "+h(nvram)+"\n")
	writeTestFile(t, mfPath, []byte(strings.Join(lines, "")))
	return dir
}

// TestPackerTargets runs real Packer on one export with three targets and
// checks every OVA with the programs and libraries that import them:
// sha256sum, govmomi's OVF reader and importer (vCenter simulator),
// VirtualBox's import rules (ovftest) and virt-v2v.
func TestPackerTargets(t *testing.T) {
	testenv.Require(t, testenv.Packer, "builds the plugin and runs packer")
	sum := testenv.LookPath(t, "sha256sum")
	env := packertest.New(t)
	exportDir := efiFixtureExport(t)
	dir, outDir := t.TempDir(), t.TempDir()
	eula := filepath.Join(dir, "eula.txt")
	writeTestFile(t, eula, []byte("Use it well.\n"))
	writeTestFile(t, filepath.Join(dir, "t.pkr.hcl"), []byte(targetsTemplate))
	out := env.Build(t, dir, "-var", "export_dir="+exportDir, "-var", "out="+outDir, "-var", "eula_file="+eula)

	ovas := map[string]string{
		"vsphere":     filepath.Join(outDir, "export.ova"),
		"workstation": filepath.Join(outDir, "export-workstation.ova"),
		"virtualbox":  filepath.Join(outDir, "export-virtualbox.ova"),
	}
	if !strings.Contains(out, "Used and verified the digests of the export's own manifest (each disk byte read once)") {
		t.Errorf("the export's manifest was not reused for the three OVAs:\n%s", out)
	}
	if !strings.Contains(out, "Warning: virtualbox: ") || !strings.Contains(out, "Target virtualbox: leaving out app-vm.nvram") {
		t.Errorf("no EFI warning and .nvram note for the virtualbox target in the build output:\n%s", out)
	}
	for target, path := range ovas {
		if !strings.Contains(out, "OVA: "+path+" (") || !strings.Contains(out, target+": "+path) {
			t.Errorf("%s: build output lacks the summary and artifact lines for %s:\n%s", target, path, out)
		}
		if o := mustRun(t, outDir, sum, "-c", filepath.Base(path)+".sha256"); strings.TrimSpace(o) != filepath.Base(path)+": OK" {
			t.Errorf("%s: sha256sum -c: %q", target, o)
		}
		a, err := ova.OpenArchive(path)
		if err != nil {
			t.Fatal(err)
		}
		var members []string
		for _, m := range a.Members() {
			members = append(members, m.Name)
		}
		a.Close()
		desc := member(t, path, "app-vm.ovf")
		env, err := govmomiovf.Unmarshal(bytes.NewReader(desc))
		if err != nil {
			t.Fatalf("%s: govmomi ovf.Unmarshal: %v", target, err)
		}
		vs := env.VirtualSystem
		if len(vs.Product) != 1 || vs.Product[0].Product != "Acme Appliance" || vs.Product[0].Vendor != "Acme" || vs.Product[0].Version != "1.4" {
			t.Errorf("%s: product read back as %+v", target, vs.Product)
		} else if ps := vs.Product[0].Property; len(ps) != 1 || ps[0].Key != "ip0" || ps[0].Default == nil || *ps[0].Default != "192.0.2.1" {
			t.Errorf("%s: properties read back as %+v", target, ps)
		}
		if len(vs.Eula) != 1 || vs.Eula[0].License != "Use it well.\n" {
			t.Errorf("%s: EULA read back as %+v", target, vs.Eula)
		}
		if vs.Annotation == nil || vs.Annotation.Annotation != "Acme appliance, built by Packer" {
			t.Errorf("%s: annotation read back as %+v", target, vs.Annotation)
		}
		want := []string{"app-vm.ovf", "app-vm.mf", fixture.DiskName("app-vm", 0), "app-vm.nvram"}
		if target == "virtualbox" {
			want = want[:3] // VirtualBox cannot take the .nvram
		}
		if strings.Join(members, " ") != strings.Join(want, " ") {
			t.Errorf("%s: members %q, want %q", target, members, want)
		}
		if target == "virtualbox" {
			if err := ovftest.CheckVirtualBox(desc, members[2:], ovftest.VirtualBoxLegacy); err != nil {
				t.Errorf("virtualbox: VirtualBox's import rules: %v", err)
			}
		}
		t.Run(target+"/virt-v2v", func(t *testing.T) { virtv2v.Check(t, path, "source name: app-vm") })
	}

	simimport.Run(t, func(ctx context.Context, sim *simimport.Env) error {
		for target, path := range ovas {
			vmName := "app-vm-" + target
			ref, log, err := sim.Import(ctx, path, importer.Options{
				Name:            &vmName,
				NetworkMapping:  []importer.Network{{Name: "VM Network", Network: "VM Network"}},
				PropertyMapping: []importer.Property{{KeyValue: importer.KeyValue{Key: "ip0", Value: "198.51.100.7"}}},
			}, false)
			if err != nil {
				t.Errorf("%s: govmomi import: %v\n%s", target, err, log)
				continue
			}
			vm, err := sim.VM(ctx, *ref)
			if err != nil {
				return err
			}
			var got string
			if va := vm.Config.VAppConfig; va != nil {
				for _, p := range va.GetVmConfigInfo().Property {
					if p.Id == "ip0" {
						got = p.Value
					}
				}
			}
			if got != "198.51.100.7" {
				t.Errorf("%s: imported VM's vApp property ip0 = %q, want the deploy-time value", target, got)
			}
		}
		return nil
	})
}
