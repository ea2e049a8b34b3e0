package vsphereovaqemu

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/bootimage"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/packertest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

var baseOnce sync.Mutex

// baseOVA is the real bootable appliance the tests build from
// (bootimage.Image.BaseOVA: the Debian disk of internal/testkit/bootimage as a
// vSphere-shaped OVA, cached beside the boot image).
func baseOVA(t *testing.T) (string, *bootimage.Image) {
	t.Helper()
	img := bootimage.Get(t)
	baseOnce.Lock()
	defer baseOnce.Unlock()
	out, err := img.BaseOVA(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return out, img
}

// packerEnv is real Packer with the plugin installed, and QEMU present.
func packerEnv(t *testing.T) *packertest.Env {
	t.Helper()
	testenv.Require(t, testenv.Packer, "boots a guest under QEMU with real Packer")
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
