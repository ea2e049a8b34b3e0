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
		// demo.sh shows the product and the vApp property of each target's
		// OVA, and what the targets changed in the vSphere 8 export.
		if script == "demo.sh" {
			checkDemoOutput(t, string(b))
		}
	}
	for _, ova := range []string{"demo-vm.ova", "demo-vm-workstation.ova", "demo-vm-virtualbox.ova", "demo-vm-portable.ova", "builder/output/demo-appliance.ova"} {
		if fi, err := os.Stat(filepath.Join(out, ova)); err != nil || fi.Size() == 0 {
			t.Errorf("demo output %s missing or empty: %v", ova, err)
		}
	}
}

// checkDemoOutput reads demo.sh's report: four OVAs with the product and
// property, and the changes the virtualbox and portable targets make to a
// vSphere 8 export (the .nvram left out, the SATA subtype for VirtualBox).
func checkDemoOutput(t *testing.T, out string) {
	t.Helper()
	if n := strings.Count(out, "<Product>Demo Appliance</Product>"); n != 4 || !strings.Contains(out, `<Property ovf:key="hostname"`) {
		t.Errorf("demo.sh shows the product of %d OVAs (want 4) or no property:\n%s", n, out)
	}
	_, report, ok := strings.Cut(out, "What each target changed")
	if !ok {
		t.Fatalf("demo.sh does not say what each target changed:\n%s", out)
	}
	sections := map[string]string{}
	for _, s := range strings.Split(report, "\n-- ")[1:] {
		name, body, _ := strings.Cut(s, "\n")
		sections[name] = body
	}
	for target, want := range map[string][]string{
		"workstation": {"nothing"},
		"virtualbox":  {"members left out:\n     demo-vm-file1.nvram", "> ", "<rasd:ResourceSubType>AHCI</rasd:ResourceSubType>"},
		"portable":    {"members left out:\n     demo-vm-file1.nvram", `<Item ovf:required="false">`},
	} {
		for _, w := range want {
			if !strings.Contains(sections[target], w) {
				t.Errorf("demo.sh's %s report lacks %q:\n%s", target, w, sections[target])
			}
		}
	}
}

// TestDemoFindsPacker: the demo takes a recent enough `packer` from PATH and
// falls back to bin/packer when the one on PATH is too old.
func TestDemoFindsPacker(t *testing.T) {
	bash := testenv.LookPath(t, "bash")
	root := testenv.RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "bin", "packer")); err != nil {
		testenv.Unavailable(t, "bin/packer missing: run `make tools`")
	}
	for _, c := range []struct{ version, want string }{
		{"1.12.0", "fake"},
		{"1.10.0", "fake"},
		{"1.9.4", filepath.Join(root, "bin", "packer")},
	} {
		dir := t.TempDir()
		fake := filepath.Join(dir, "packer")
		if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'Packer v"+c.version+"'\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		want := c.want
		if want == "fake" {
			want = fake
		}
		cmd := exec.CommandContext(t.Context(), bash, "-c", `DEMO_NAME=t; source example/demo-common.sh; find_packer >/dev/null; echo "$PACKER"`)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "DEMO_PACKER=")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("packer %s on PATH: %v", c.version, err)
		}
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("packer %s on PATH: the demo uses %s, want %s", c.version, got, want)
		}
	}
}
