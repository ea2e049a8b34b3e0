package example

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/packertest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// qemuSource is the qemu source block and the qemu plugin's requirement.
var (
	qemuSource   = regexp.MustCompile(`(?ms)^source "qemu" "appliance" \{\n.*?^\}\n`)
	qemuRequired = regexp.MustCompile(`(?ms)^    qemu = \{\n.*?^    \}\n`)
)

// The qemu -> vsphere-ova example cannot run here (no installer ISO, and
// the qemu plugin is not installable offline), so real Packer validates it:
// the whole file with -syntax-only, then, with the qemu source swapped for
// a null one, everything else against the plugins' schemas (the
// post-processor's options and its vm block).
func TestQemuDiskExampleValidates(t *testing.T) {
	env := packertest.New(t)
	src, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "example", "qemu-disk", "appliance.pkr.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	validate := func(t *testing.T, tmpl string, args ...string) (string, bool) {
		t.Helper()
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "appliance.pkr.hcl"), []byte(tmpl), 0o644); err != nil {
			t.Fatal(err)
		}
		res := env.Run(context.Background(), dir, append(append([]string{"validate"}, args...), ".")...)
		return res.Output, res.Err == nil
	}
	if out, ok := validate(t, string(src), "-syntax-only"); !ok {
		t.Fatalf("packer validate -syntax-only: %s", out)
	}

	if !qemuSource.Match(src) || !qemuRequired.Match(src) {
		t.Fatal("the example no longer has the qemu source block or requirement this test replaces")
	}
	null := qemuRequired.ReplaceAllString(qemuSource.ReplaceAllString(string(src),
		"source \"null\" \"appliance\" {\n  communicator = \"none\"\n}\n"), "")
	null = strings.Replace(null, `"source.qemu.appliance"`, `"source.null.appliance"`, 1)
	if out, ok := validate(t, null, "-var", "ssh_password=x"); !ok {
		t.Fatalf("packer validate (qemu source replaced by null): %s", out)
	}
	// The same validation must refuse a bad vm block, or it checked nothing.
	const ram = "RAM                  = 2048"
	if !strings.Contains(null, ram) {
		t.Fatalf("the example's vm block no longer sets %s", ram)
	}
	bad := strings.Replace(null, ram, "RAM                  = 2047", 1)
	if out, ok := validate(t, bad, "-var", "ssh_password=x"); ok || !strings.Contains(out, "vm.RAM") {
		t.Errorf("packer validate accepted vm.RAM = 2047 or did not name it: %s", out)
	}
	// A renamed option reaches the plugin (it is in the HCL2 spec, so
	// Packer does not stop at "Unsupported argument"), which names the new
	// one.
	old := strings.Replace(null, ram, "memory = 2048", 1)
	if out, ok := validate(t, old, "-var", "ssh_password=x"); ok || !strings.Contains(out, "vm.memory was renamed to vm.RAM (the name vsphere-iso uses)") {
		t.Errorf("packer validate of the old name memory: accepted, or the message does not name vm.RAM: %s", out)
	}
	// vsphere-iso writes vm_version as a number; HCL hands it to the
	// string option as "19".
	num := strings.Replace(null, ram, ram+"\n      vm_version = 19", 1)
	if out, ok := validate(t, num, "-var", "ssh_password=x"); !ok {
		t.Errorf("packer validate of vm_version = 19: %s", out)
	}
}
