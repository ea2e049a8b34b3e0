package vsphereovaqemu

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ovasource"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovfvm"
)

const productSection = `<ProductSection ovf:class="app">
      <Info>vApp properties</Info>
      <Property ovf:key="admin_password" ovf:type="string" ovf:password="true" ovf:value=""/>
      <Property ovf:key="hostname" ovf:type="string" ovf:value="appliance"/>
      <Property ovf:key="motd" ovf:type="string" ovf:value="a &amp; b"/>
    </ProductSection>
    `

// sourceWithProperties is a source whose OVF declares three properties.
func sourceWithProperties(t *testing.T) *ovasource.Source {
	t.Helper()
	desc := generated(t, ovfvm.Config{Name: "vm"}, ovfvm.Disk{Href: "a.vmdk", Size: 1, Capacity: 1 << 20})
	i := bytes.Index(desc, []byte("<VirtualHardwareSection"))
	desc = append(desc[:i:i], append([]byte(productSection), desc[i:]...)...)
	return &ovasource.Source{OVFName: "vm.ovf", Descriptor: desc, Envelope: mustEnvelope(t, desc)}
}

// properties are the OVF's defaults overridden by the user's values; a
// password property's value is registered as a secret; an undeclared key
// is an error that lists the declared ones.
func TestOVFEnvProperties(t *testing.T) {
	src := sourceWithProperties(t)
	s := &stepOVFEnv{config: &VAppConfig{Properties: map[string]string{"app.admin_password": "Pw-9d1e-secret", "app.hostname": "web1"}}}
	props, err := s.properties(src)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(ovfEnvXML(props))
	for _, want := range []string{`oe:key="app.hostname" oe:value="web1"`, `oe:key="app.admin_password" oe:value="Pw-9d1e-secret"`, `oe:key="app.motd" oe:value="a &amp; b"`} {
		if !strings.Contains(doc, want) {
			t.Errorf("ovf-env.xml lacks %s:\n%s", want, doc)
		}
	}
	if got := packersdk.LogSecretFilter.FilterString("x Pw-9d1e-secret y"); strings.Contains(got, "Pw-9d1e-secret") {
		t.Errorf("the password property's value is not filtered from logs: %q", got)
	}
	s.config.Properties = map[string]string{"app.hostnme": "x"}
	if _, err := s.properties(src); err == nil || !strings.Contains(err.Error(), "app.hostnme") || !strings.Contains(err.Error(), "app.hostname") {
		t.Errorf("undeclared key: %v", err)
	}
}

// The CD is an ISO 9660 image labelled "OVF ENV" with ovf-env.xml at its
// root, as vSphere's iso transport makes it, in the build's working
// folder.
func TestOVFEnvCD(t *testing.T) {
	xorriso := testenv.LookPath(t, "xorriso")
	r := newStepRunner(t)
	r.state.Put("source", sourceWithProperties(t))
	work, err := makeWorkDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer atomicfile.RemoveTemp(work)
	r.state.Put("work_dir", work)
	s := &stepOVFEnv{config: &VAppConfig{Properties: map[string]string{"app.hostname": "web1"}}}
	r.must(s)
	iso := r.state.Get("ovf_env_path").(string)
	if !strings.HasPrefix(iso, filepath.Join(work, ovfEnvSubdir)+string(filepath.Separator)) {
		t.Errorf("the CD %s is not in the working folder %s", iso, work)
	}
	out, err := exec.Command(xorriso, "-indev", iso, "-pvd_info").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Volume Id    : OVF ENV") {
		t.Errorf("volume label: %v\n%s", err, out)
	}
	dir := t.TempDir()
	if out, err := exec.Command(xorriso, "-osirrox", "on", "-indev", iso, "-extract", "/ovf-env.xml", filepath.Join(dir, "e.xml")).CombinedOutput(); err != nil {
		t.Fatalf("extracting: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "e.xml"))
	if !strings.Contains(string(data), `oe:key="app.hostname" oe:value="web1"`) {
		t.Errorf("ovf-env.xml on the CD:\n%s", data)
	}
	r.cleanup()
	if _, err := os.Stat(iso); !os.IsNotExist(err) {
		t.Errorf("the CD was not removed: %v", err)
	}
}
