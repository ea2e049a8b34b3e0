package vsphereova

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/fixture"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/packertest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// TestPackerEndToEnd runs real Packer v1.15.0 with the plugin installed by
// `packer plugins install --path` on example/post-processor/demo.pkr.hcl:
// null builder -> artifice (the fixture export's files) -> vsphere-ova.
func TestPackerEndToEnd(t *testing.T) {
	testenv.Require(t, testenv.Packer, "builds the plugin and runs packer")
	env := packertest.New(t)
	const name = "e2e-vm"
	ovfPath, files := export(t, fixture.ExportOptions{Name: name, DiskMiB: 16, DataMiB: 2, WithManifest: true})
	exportDir := filepath.Dir(ovfPath)

	dir := t.TempDir()
	tmpl, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "example", "post-processor", "demo.pkr.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "demo.pkr.hcl"), tmpl, 0o644); err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	output := filepath.Join(outDir, "{{.BuildName}}-{{.BuilderType}}.ova")
	vars := []string{"-var", "export_dir=" + exportDir, "-var", "vm_name=" + name, "-var", "output=" + output}

	out := env.Build(t, dir, vars...)
	ova := filepath.Join(outDir, "export-null.ova")
	if !regexp.MustCompile(`OVA: ` + regexp.QuoteMeta(ova) + ` \([0-9.]+ MiB\), sha256:[0-9a-f]{64}`).MatchString(out) {
		t.Errorf("packer output lacks the summary line for %s:\n%s", ova, out)
	}
	sum := testenv.LookPath(t, "sha256sum")
	if o := mustRun(t, outDir, sum, "-c", "export-null.ova.sha256"); strings.TrimSpace(o) != "export-null.ova: OK" {
		t.Errorf("sha256sum -c: %q", o)
	}
	// keep_input_artifact = true: artifice's Destroy would delete the export.
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("input file %s is gone: %v", f, err)
		}
	}
	before, err := os.ReadFile(ova)
	if err != nil {
		t.Fatal(err)
	}

	// Again without -force: Packer fails with our message, the OVA is untouched.
	res := env.Run(context.Background(), dir, append(append([]string{"build", "-color=false"}, vars...), ".")...)
	if res.Err == nil || res.ExitCode == 0 {
		t.Fatalf("second build without -force succeeded:\n%s", res.Output)
	}
	if !strings.Contains(res.Output, "already exists and was left untouched") || !strings.Contains(res.Output, "packer build -force") {
		t.Errorf("second build failed without our message:\n%s", res.Output)
	}
	if after, _ := os.ReadFile(ova); string(after) != string(before) {
		t.Errorf("existing OVA was modified by the failed build")
	}

	// With -force the OVA is rewritten and still verifies.
	res = env.Run(context.Background(), dir, append(append([]string{"build", "-color=false", "-force"}, vars...), ".")...)
	if res.Err != nil {
		t.Fatalf("build -force: %v\n%s", res.Err, res.Output)
	}
	if o := mustRun(t, outDir, sum, "-c", "export-null.ova.sha256"); !strings.Contains(o, ": OK") {
		t.Errorf("sha256sum -c after -force: %q", o)
	}
}

// An artifact without any .ovf and without a usable disk image fails the
// build with a message that says so and names the file.
func TestPackerNoOVF(t *testing.T) {
	testenv.Require(t, testenv.Packer, "builds the plugin and runs packer")
	env := packertest.New(t)
	dir := t.TempDir()
	disk := filepath.Join(dir, "lonely.vmdk")
	if err := os.WriteFile(disk, []byte("not an export"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl := `packer {
  required_plugins {
    vsphere-ova = {
      version = ">= 0.1.0"
      source  = "github.com/ovakit/vsphere-ova"
    }
  }
}
source "null" "x" {
  communicator = "none"
}
build {
  sources = ["source.null.x"]
  post-processors {
    post-processor "artifice" {
      files = ["` + disk + `"]
    }
    post-processor "vsphere-ova" {}
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "t.pkr.hcl"), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := env.Run(context.Background(), dir, "init", "."); res.Err != nil {
		t.Fatalf("packer init: %v\n%s", res.Err, res.Output)
	}
	res := env.Run(context.Background(), dir, "build", "-color=false", ".")
	if res.ExitCode == 0 {
		t.Fatalf("build without a .ovf succeeded:\n%s", res.Output)
	}
	if !strings.Contains(res.Output, "contains no .ovf file") || !strings.Contains(res.Output, disk) {
		t.Errorf("error does not explain and list the files:\n%s", res.Output)
	}
}
