package ovftarget

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	govmomiovf "github.com/vmware/govmomi/ovf"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/ovftest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// Every target's output, read by govmomi's own OVF model (what govc and the
// vSphere importer code use), has the product, annotation, EULA and
// properties we set, and the transport.
func TestGovmomiReadsBackEveryTarget(t *testing.T) {
	for name, desc := range ovftest.Descriptors() {
		for _, target := range allTargets {
			r := customize(t, desc, target, prepared(t, fullOptions(t)))
			env, err := govmomiovf.Unmarshal(bytes.NewReader(r.Descriptor))
			if err != nil {
				t.Fatalf("%s/%s: govmomi ovf.Unmarshal: %v", name, target, err)
			}
			vs := env.VirtualSystem
			if vs == nil || len(vs.Product) != 1 {
				t.Fatalf("%s/%s: want one ProductSection, got %+v", name, target, vs)
			}
			p := vs.Product[0]
			if p.Product != "Acme Appliance" || p.Vendor != "Acme & Co" || p.Version != "1.4" || p.FullVersion != "1.4.2-build-7" ||
				p.ProductURL != "https://acme.example/appliance" || p.VendorURL != "https://acme.example" || p.AppURL != "https://${ip0}/" {
				t.Errorf("%s/%s: product read back as %+v", name, target, p)
			}
			props := map[string]govmomiovf.Property{}
			for _, pr := range p.Property {
				props[pr.Key] = pr
			}
			for _, k := range []string{"instance-id", "hostname", "seedfrom", "public-keys", "user-data", "password", "ip0", "dns", "debug"} {
				if _, ok := props[k]; !ok {
					t.Errorf("%s/%s: property %q missing; have %v", name, target, k, props)
				}
			}
			if h := props["hostname"]; h.UserConfigurable == nil || *h.UserConfigurable || h.Default == nil || *h.Default != "acme" {
				t.Errorf("%s/%s: hostname property (user block overriding cloud-init's) read back as %+v", name, target, h)
			}
			if pw := props["password"]; pw.Password == nil || !*pw.Password {
				t.Errorf("%s/%s: password property not marked password", name, target)
			}
			if d := props["debug"]; d.Type != "boolean" || d.Default == nil || *d.Default != "false" {
				t.Errorf("%s/%s: debug property read back as %+v", name, target, d)
			}
			var cat string
			for _, it := range p.Items {
				if it.Category != nil {
					cat = *it.Category
				}
				if it.Property != nil && it.Property.Key == "ip0" && cat != "Network" {
					t.Errorf("%s/%s: ip0 is under category %q, want Network", name, target, cat)
				}
			}
			if vs.Annotation == nil || vs.Annotation.Annotation != "Acme appliance\nbuilt by Packer" {
				t.Errorf("%s/%s: annotation read back as %+v", name, target, vs.Annotation)
			}
			if len(vs.Eula) != 1 || !strings.Contains(vs.Eula[0].License, "No warranty & no <liability>.") {
				t.Errorf("%s/%s: EULA read back as %+v", name, target, vs.Eula)
			}
			if hw := vs.VirtualHardware; len(hw) != 1 || hw[0].Transport == nil || *hw[0].Transport != "com.vmware.guestInfo iso" {
				t.Errorf("%s/%s: transport read back as %+v", name, target, hw)
			}
		}
	}
}

// xmllint (libxml2, the parser VirtualBox's IPRT XML classes wrap) finds
// every output well-formed and namespace-correct.
func TestXmllintAcceptsEveryTarget(t *testing.T) {
	xmllint := testenv.LookPath(t, "xmllint")
	dir := t.TempDir()
	for name, desc := range ovftest.Descriptors() {
		for _, target := range allTargets {
			for i, c := range []Customization{{}, fullOptions(t)} {
				r := customize(t, desc, target, prepared(t, c))
				p := filepath.Join(dir, name+"-"+string(target)+".ovf")
				if err := os.WriteFile(p, r.Descriptor, 0o600); err != nil {
					t.Fatal(err)
				}
				if out, err := exec.Command(xmllint, "--noout", p).CombinedOutput(); err != nil || len(out) > 0 {
					t.Errorf("%s/%s (options #%d): xmllint --noout: %v\n%s", name, target, i, err, out)
				}
			}
		}
	}
	// xmllint does complain about a broken namespace, or this proves nothing.
	bad := filepath.Join(dir, "bad.ovf")
	if err := os.WriteFile(bad, []byte(`<Envelope><x:Item/></Envelope>`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command(xmllint, "--noout", bad).CombinedOutput(); len(out) == 0 {
		t.Error("xmllint accepted an undeclared prefix")
	}
}

// VirtualBox's rules hold for every virtualbox and portable output, with
// and without options.
func TestVirtualBoxCheckerOnEveryVirtualBoxOutput(t *testing.T) {
	for name, desc := range ovftest.Descriptors() {
		for _, target := range []Target{VirtualBox, Portable} {
			rel := ovftest.VirtualBoxCurrent
			if target == VirtualBox {
				rel = ovftest.VirtualBoxLegacy
			}
			for i, c := range []Customization{{}, fullOptions(t), {RemoveDevices: []string{"cdrom", "usb", "serial"}, MaxHardwareVersion: "vmx-19"}} {
				r := customize(t, desc, target, prepared(t, c))
				if err := ovftest.CheckVirtualBox(r.Descriptor, nil, rel); err != nil {
					t.Errorf("%s/%s (options #%d): %v", name, target, i, err)
				}
			}
		}
	}
}
