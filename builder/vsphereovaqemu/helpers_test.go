package vsphereovaqemu

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/bootimage"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/packertest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovfvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

// baseOVAVersion changes when baseOVA makes a different OVA from the same
// boot image, so a cached one is not reused.
const baseOVAVersion = 1

var baseOnce struct {
	sync.Mutex
	path string
}

// baseOVA is the real bootable appliance the tests build from: the Debian
// disk of internal/bootimage converted with our VMDK writer, described by
// an OVF shaped like a vSphere export (ovfvm.Generate: 1 vCPU, 1024 MiB,
// pvscsi, vmxnet3, BIOS) and tarred by our OVA packer. Cached beside the
// boot image, whose folder name is its content key.
func baseOVA(t *testing.T) (string, *bootimage.Image) {
	t.Helper()
	img := bootimage.Get(t)
	baseOnce.Lock()
	defer baseOnce.Unlock()
	dir := filepath.Join(img.Dir, fmt.Sprintf("qemu-builder-base-v%d", baseOVAVersion))
	out := filepath.Join(dir, "base.ova")
	if _, err := os.Stat(out); err == nil {
		return out, img
	}
	work := t.TempDir()
	in, err := os.Open(img.Disk)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	href := "base-disk-1.vmdk"
	vf, err := os.Create(filepath.Join(work, href))
	if err != nil {
		t.Fatal(err)
	}
	st, err := vmdk.Write(context.Background(), vf, in, img.SizeBytes, vmdk.Options{Level: 1, HardwareVersion: 14})
	if cerr := vf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	desc, err := ovfvm.Generate(&ovfvm.Config{
		Name: "base", CPUs: 1, CoresPerSocket: 1, Memory: 1024,
		OSType: "debian12_64Guest", DiskController: "pvscsi",
	}, []ovfvm.Disk{{Href: href, Size: st.Size, Capacity: st.Capacity, PopulatedSize: st.PopulatedSize}})
	if err != nil {
		t.Fatal(err)
	}
	ovfPath := filepath.Join(work, "base.ovf")
	if err := os.WriteFile(ovfPath, desc, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := ova.Pack(context.Background(), ova.Options{OVFPath: ovfPath, Output: out, ChecksumAlgorithm: "none"}); err != nil {
		t.Fatal(err)
	}
	return out, img
}

// packerEnv is real Packer with the plugin installed, and QEMU present.
func packerEnv(t *testing.T) *packertest.Env {
	t.Helper()
	testenv.SkipIfShort(t, "boots a guest under QEMU with real Packer")
	testenv.LookPath(t, "qemu-system-x86_64")
	return packertest.New(t)
}

// writeTemplate writes a template into a fresh folder and returns it.
func writeTemplate(t *testing.T, hcl string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "build.pkr.hcl"), []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const pluginBlock = `packer {
  required_plugins {
    vsphere-ova = {
      version = ">= 0.1.0"
      source  = "github.com/ovakit/vsphere-ova"
    }
  }
}
`

// hclString quotes s for HCL.
func hclString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "${", "$${", "%{", "%%{").Replace(s) + `"`
}
