// Package virtv2v asks the real virt-v2v what it sees in an OVA or an OVF
// folder, the check every end-to-end test runs on what we write: libguestfs'
// importer parses the descriptor and opens each referenced file, so a
// malformed OVF, a wrong reference or an unreadable disk fails here as it
// would in a conversion. Nothing is converted and no guest boots (the direct
// backend, no libvirt daemon, no KVM needed).
package virtv2v

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// Timeout bounds one run: --print-source takes seconds, but a wedged
// libguestfs appliance would otherwise hang the suite.
const Timeout = 3 * time.Minute

// PrintSource runs `virt-v2v -i ova <path> --print-source` (path is an .ova
// or a folder holding one .ovf) and returns what it printed. A failure to
// read the source fails the test with virt-v2v's output.
func PrintSource(t testing.TB, path string) string {
	t.Helper()
	out, err := Run(t, path)
	if err != nil {
		t.Fatalf("virt-v2v -i ova %s --print-source: %v\n%s", path, err, out)
	}
	return out
}

// Run is PrintSource for a source that may be refused: it returns virt-v2v's
// output and its error (an *exec.ExitError when virt-v2v said no).
func Run(t testing.TB, path string) (string, error) {
	t.Helper()
	v2v := testenv.LookPath(t, "virt-v2v")
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, v2v, "-i", "ova", path, "--print-source")
	cmd.Env = append(os.Environ(), "LIBGUESTFS_BACKEND=direct")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Check runs PrintSource and fails the test (without stopping it) for each
// want that the output lacks, typically "source name: NAME", "nr vCPUs: N",
// "memory: BYTES (bytes)", "firmware: uefi", "\t0 [scsi]" and
// `Bridge "NETWORK" [vmxnet3]`. It returns the output for further checks.
func Check(t testing.TB, path string, wants ...string) string {
	t.Helper()
	out := PrintSource(t, path)
	Expect(t, out, wants...)
	return out
}

// Expect fails the test for each want that out lacks, printing out once.
func Expect(t testing.TB, out string, wants ...string) {
	t.Helper()
	var missing []string
	for _, w := range wants {
		if !strings.Contains(out, w) {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		t.Errorf("virt-v2v --print-source lacks %q:\n%s", missing, out)
	}
}
