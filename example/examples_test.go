package example

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/packertest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// TestPackerExamplesValidate runs real `packer validate` on every example
// template, with this plugin and HashiCorp's vSphere plugin (built by `make
// tools` from tools/hashicorp-vsphere) installed, so every option of every
// example is checked against the schema of the component that takes it.
// qemu-disk needs the qemu plugin, which cannot be built here:
// TestQemuDiskExampleValidates checks it with the qemu source swapped out.
// Each template is validated a second time with an option no component has;
// that must fail, or the first validation checked nothing.
func TestPackerExamplesValidate(t *testing.T) {
	env := packertest.New(t)
	root := testenv.RepoRoot(t)
	hc := filepath.Join(root, "bin", "packer-plugin-vsphere")
	if _, err := os.Stat(hc); err != nil {
		testenv.Unavailable(t, "%s missing: run `make tools`", hc)
	}
	env.InstallPlugin(t, hc, "github.com/hashicorp/vsphere")
	varFile := exampleVars(t)

	templates, err := filepath.Glob(filepath.Join(root, "example", "*", "*.pkr.hcl"))
	if err != nil || len(templates) < 6 {
		t.Fatalf("example templates: %v %v", templates, err)
	}
	for _, tmpl := range templates {
		rel, _ := filepath.Rel(root, tmpl)
		if strings.HasPrefix(rel, filepath.Join("example", "qemu-disk")) {
			continue
		}
		t.Run(rel, func(t *testing.T) {
			src, err := os.ReadFile(tmpl)
			if err != nil {
				t.Fatal(err)
			}
			validate := func(body string) packertest.Result {
				// Beside the original, so the example's relative paths
				// (manifests/, images.txt) resolve as they do for users.
				dir := t.TempDir()
				copyTree(t, filepath.Dir(tmpl), dir)
				if err := os.WriteFile(filepath.Join(dir, filepath.Base(tmpl)), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
				return env.Run(context.Background(), dir, "validate", "-var-file="+varFile, filepath.Base(tmpl))
			}
			if res := validate(string(src)); res.Err != nil {
				t.Fatalf("packer validate %s: %v\n%s", rel, res.Err, res.Output)
			}
			bad := firstSource.ReplaceAllString(string(src), "$0  not_an_option_of_any_component = true\n")
			if bad == string(src) {
				t.Fatalf("%s has no source block", rel)
			}
			if res := validate(bad); res.Err == nil || !strings.Contains(res.Output, "not_an_option_of_any_component") {
				t.Errorf("packer validate accepted an unknown option in %s's source:\n%s", rel, res.Output)
			}
		})
	}
}

// firstSource matches a source block's opening line.
var firstSource = regexp.MustCompile(`(?m)^source "[^"]+" "[^"]+" \{\n`)

// exampleVars writes a var file with a value for every variable the examples
// declare without a default. Packer warns about, and ignores, the ones a
// template does not declare. Files named by a value exist: Packer's
// communicator reads the SSH key at validate time.
func exampleVars(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	ova := filepath.Join(dir, "base.ova")
	if err := os.WriteFile(ova, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// What fileset() in the post-processor example lists for artifice.
	export := filepath.Join(dir, "export")
	if err := os.MkdirAll(export, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(export, "demo-vm.ovf"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"vcenter_server": "vcenter.example.com", "username": "packer@vsphere.local", "password": "example-password",
		"vcenter_username": "packer@vsphere.local", "vcenter_password": "example-password", "ssh_password": "example-password",
		"ssh_username": "debian", "ssh_private_key_file": key, "source_path": ova, "ova": ova,
		"output_directory": filepath.Join(dir, "out"), "export_dir": export,
		"k3s_binary": ova, "airgap_images": ova, "output_dir": filepath.Join(dir, "dist"),
	}
	var b strings.Builder
	for k, v := range vars {
		fmt.Fprintf(&b, "%s = %q\n", k, v)
	}
	path := filepath.Join(dir, "examples.pkrvars.hcl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// copyTree copies the example folder's files (not sub-templates' outputs).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
