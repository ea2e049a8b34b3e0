package vsphereova

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/packertest"
)

// hclValue is body as Packer hands an HCL2 template's post-processor block
// to Configure.
func hclValue(t *testing.T, body string) cty.Value {
	return packertest.DecodeHCL(t, body, (&Config{}).FlatMapstructure().HCL2Spec())
}

// Every renamed vm option is refused with the name to write instead, from
// an HCL2 template (the cty value) and from a JSON one (the raw map); the
// new names alone are accepted.
func TestRenamedVMOptions(t *testing.T) {
	for _, c := range []struct {
		hcl  string
		json map[string]interface{}
		want string
	}{
		{`cpus = 2`, map[string]interface{}{"cpus": 2}, "vm.cpus was renamed to vm.CPUs (the name vsphere-iso uses)"},
		{`cores_per_socket = 1`, map[string]interface{}{"cores_per_socket": 1}, "vm.cores_per_socket was renamed to vm.cpu_cores"},
		{`memory = 2048`, map[string]interface{}{"memory": 2048}, "vm.memory was renamed to vm.RAM"},
		{`secure_boot = true`, map[string]interface{}{"secure_boot": true}, `vm.secure_boot was renamed to vm.firmware = "efi-secure"`},
		{`os_type = "debian12_64Guest"`, map[string]interface{}{"os_type": "debian12_64Guest"}, "vm.os_type was renamed to vm.guest_os_type"},
		{`hardware_version = "vmx-19"`, map[string]interface{}{"hardware_version": "vmx-19"}, "vm.hardware_version was renamed to vm.vm_version"},
		{`disk_controller = "nvme"`, map[string]interface{}{"disk_controller": "nvme"}, `vm.disk_controller was renamed to vm.disk_controller_type (the name vsphere-iso uses): a list of one, such as disk_controller_type = ["pvscsi"]`},
		{"network {\n name = \"LAN\"\n adapter = \"e1000e\"\n}", map[string]interface{}{"network": []map[string]interface{}{{"name": "LAN", "adapter": "e1000e"}}},
			"vm.network was renamed to vm.network_adapters (the name vsphere-iso uses): in its blocks network replaces name and network_card replaces adapter"},
	} {
		var fromHCL, fromJSON PostProcessor
		errHCL := fromHCL.Configure(hclValue(t, "vm {\n"+c.hcl+"\n}"))
		errJSON := fromJSON.Configure(map[string]interface{}{"vm": c.json})
		for what, err := range map[string]error{"HCL2": errHCL, "JSON": errJSON} {
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s %s: %v; want %q", what, c.hcl, err, c.want)
			}
		}
	}
	// The new names, including CPUs (cpus differs only in case).
	const newHCL = `max_hardware_version = 21
vm {
  CPUs                 = 4
  cpu_cores            = 2
  RAM                  = 4096
  firmware             = "efi-secure"
  guest_os_type        = "debian12_64Guest"
  vm_version           = 19
  disk_controller_type = ["nvme"]
  network_adapters {
    network      = "LAN"
    network_card = "e1000e"
    mac_address  = "00:50:56:00:12:34"
  }
}`
	var p PostProcessor
	if err := p.Configure(hclValue(t, newHCL)); err != nil {
		t.Errorf("HCL2 with the new names: %v", err)
	}
	if vm := p.config.VM; vm.CPUs != 4 || vm.HardwareVersion != "19" || vm.Networks[0].MACAddress != "00:50:56:00:12:34" {
		t.Errorf("decoded %+v", vm)
	}
	// HCL numbers reach the string options as "21" and "19".
	if p.config.MaxHardwareVersion != "21" {
		t.Errorf("max_hardware_version = 21 decoded as %q", p.config.MaxHardwareVersion)
	}
	var q PostProcessor
	if err := q.Configure(map[string]interface{}{"vm": map[string]interface{}{"CPUs": 4, "vm_version": 19, "firmware": "efi-secure"}}); err != nil {
		t.Errorf("JSON with the new names: %v", err)
	}
	if vm := q.config.VM; vm.CPUs != 4 || vm.HardwareVersion != "19" || vm.RenamedCPUs != nil {
		t.Errorf("decoded %+v", vm)
	}
}

// A dotted vApp property key is packed into the OVA as written, and the
// warning that names DSP0243 reaches the build output.
func TestDottedPropertyKeyWarns(t *testing.T) {
	dir := t.TempDir()
	disk := filepath.Join(dir, "app.img")
	rawDisk(t, disk, 1<<20, map[int64][]byte{0: []byte("boot")})
	art, out := mustPack(t, []string{disk}, map[string]interface{}{
		"property": []map[string]interface{}{{"key": "guestinfo.cis.appliance.net.addr", "value": "10.0.0.5"}},
	})
	desc, _, _ := ovaDisk(t, art.Path)
	if !strings.Contains(string(desc.Bytes()), `<Property ovf:key="guestinfo.cis.appliance.net.addr"`) {
		t.Errorf("the OVA's OVF lacks the dotted property:\n%s", desc.Bytes())
	}
	if want := `Warning: vsphere: property key "guestinfo.cis.appliance.net.addr" contains '.', which DSP0243 9.5 does not allow`; !strings.Contains(out, want) {
		t.Errorf("build output lacks %q:\n%s", want, out)
	}
}
