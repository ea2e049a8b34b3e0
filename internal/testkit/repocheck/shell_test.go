package repocheck

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// shellScripts lists the repository's shell scripts: *.sh files and any
// tracked file whose first line is a sh or bash shebang (.ci/run). Go
// templates (*.tmpl) are left out: provisioner/k3sbundle's tests shellcheck
// every rendering of them.
func shellScripts(t *testing.T) []string {
	t.Helper()
	root := testenv.RepoRoot(t)
	var out []string
	for _, f := range trackedFiles(t) {
		p := filepath.Join(root, f)
		if strings.HasSuffix(f, ".tmpl") {
			continue
		}
		if strings.HasSuffix(f, ".sh") {
			out = append(out, p)
			continue
		}
		if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := bytes.Cut(data, []byte("\n"))
		if bytes.HasPrefix(first, []byte("#!")) && shellShebang(string(first)) {
			out = append(out, p)
		}
	}
	return out
}

func shellShebang(line string) bool {
	f := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(f) == 0 {
		return false
	}
	prog := filepath.Base(f[0])
	if prog == "env" && len(f) > 1 {
		prog = f[1]
	}
	return prog == "sh" || prog == "bash"
}

// TestShellcheck: every shell script of the repository (CI, make targets,
// demos, benchmarks, the guest scripts kept as files) passes shellcheck at
// its default severity.
func TestShellcheck(t *testing.T) {
	bin := testenv.LookPath(t, "shellcheck")
	scripts := shellScripts(t)
	if len(scripts) < 5 {
		t.Fatalf("found only %d shell scripts (%v): the search is broken", len(scripts), scripts)
	}
	cmd := exec.Command(bin, append([]string{"--format=gcc", "--external-sources"}, scripts...)...)
	cmd.Dir = testenv.RepoRoot(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok || len(out) == 0 {
			t.Fatalf("running shellcheck: %v\n%s", err, out)
		}
		t.Errorf("shellcheck findings in the repository's scripts:\n%s", out)
	}
	t.Logf("%d scripts checked", len(scripts))
}
