// Package example holds the README's examples; this test keeps `make demo`
// (the README's first quick-start command) working at every commit.
package example

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

func TestDemoScripts(t *testing.T) {
	testenv.Require(t, testenv.Packer, "runs real Packer twice")
	root := testenv.RepoRoot(t)
	testenv.LookPath(t, "qemu-img")
	for _, bin := range []string{"packer", "packer-plugin-vsphere-ova"} {
		if _, err := os.Stat(filepath.Join(root, "bin", bin)); err != nil {
			testenv.Unavailable(t, "bin/%s missing: run `make tools build`", bin)
		}
	}
	out := t.TempDir()
	for _, script := range []string{"demo.sh", "demo-builder.sh"} {
		cmd := exec.CommandContext(t.Context(), "bash", filepath.Join(root, "example", script))
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "DEMO_OUT="+out)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", script, err, b)
		}
		// Each script ends by checking its OVA with sha256sum -c.
		if !strings.Contains(string(b), ".ova: OK") {
			t.Errorf("%s did not verify an OVA:\n%s", script, b)
		}
		// demo.sh shows the product and the vApp property of each target's OVA.
		if script == "demo.sh" && (strings.Count(string(b), "<Product>Demo Appliance</Product>") != 3 || !strings.Contains(string(b), `<Property ovf:key="hostname"`)) {
			t.Errorf("demo.sh does not show the product and property of three OVAs:\n%s", b)
		}
	}
	for _, ova := range []string{"demo-vm.ova", "demo-vm-workstation.ova", "demo-vm-virtualbox.ova", "builder/output/demo-appliance.ova"} {
		if fi, err := os.Stat(filepath.Join(out, ova)); err != nil || fi.Size() == 0 {
			t.Errorf("demo output %s missing or empty: %v", ova, err)
		}
	}
}
