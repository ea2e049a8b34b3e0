package vsphereova

import (
	"context"
	"strings"
	"testing"

	"github.com/vmware/govmomi/simulator"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
)

// convert_to_template keeps the VM as a template (vCenter only).
func TestConvertToTemplate(t *testing.T) {
	src := makeOVA(t, "tpl", 1)
	srv := simvm.Start(t, vcsim.ModeVCenter)
	srv.AutoGuestIP("10.0.0.8")
	raw := baseConfig(srv, src)
	raw["vm_name"] = "golden"
	raw["convert_to_template"] = true
	raw["configuration_parameters"] = map[string]string{"guestinfo.role": "template"}
	a, _, err := runBuild(t, context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(a.String(), `VM "golden" kept`) {
		t.Errorf("artifact = %q", a.String())
	}
	vm := srv.Model.Map().Any("VirtualMachine")
	if vms := srv.VMNames(); len(vms) != 1 || vms[0] != "golden" || vm == nil {
		t.Fatalf("inventory = %v, want [golden]", vms)
	}
	o := vm.(*simulator.VirtualMachine)
	if o.Config == nil || !o.Config.Template {
		t.Fatalf("golden is not a template")
	}
}
