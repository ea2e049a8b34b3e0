package ovftarget

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/ovftest"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

var allTargets = []Target{VSphere, Workstation, VirtualBox, Portable}

func prepared(t *testing.T, c Customization) *Customization {
	t.Helper()
	if errs := c.Prepare(); len(errs) > 0 {
		t.Fatalf("Prepare: %v", errs)
	}
	return &c
}

func customize(t *testing.T, desc []byte, target Target, c *Customization) *Result {
	t.Helper()
	r, err := Customize(desc, target, c)
	if err != nil {
		t.Fatalf("Customize(%s): %v", target, err)
	}
	doc, err := ovf.ParseDocument(r.Descriptor)
	if err != nil {
		t.Fatal(err)
	}
	if p := doc.UndeclaredPrefixes(); len(p) > 0 {
		t.Fatalf("target %s: output uses undeclared prefixes %v", target, p)
	}
	return r
}

func systemType(t *testing.T, desc []byte) string {
	t.Helper()
	m := regexp.MustCompile(`<vssd:VirtualSystemType>([^<]*)</vssd:VirtualSystemType>`).FindSubmatch(desc)
	if m == nil {
		t.Fatalf("no VirtualSystemType in\n%s", desc)
	}
	return string(m[1])
}

// With no options, vsphere gives the export back byte for byte.
func TestVSphereWithoutOptionsIsByteIdentical(t *testing.T) {
	for name, desc := range ovftest.Descriptors() {
		r := customize(t, desc, VSphere, prepared(t, Customization{}))
		if string(r.Descriptor) != string(desc) {
			t.Errorf("%s: vsphere target without options changed the descriptor", name)
		}
		if len(r.Dropped) > 0 || len(r.Warnings) > 0 {
			t.Errorf("%s: dropped %v, warnings %v", name, r.Dropped, r.Warnings)
		}
	}
}

func fullOptions(t *testing.T) Customization {
	eula := filepath.Join(t.TempDir(), "eula.txt")
	if err := os.WriteFile(eula, []byte("You may use this appliance.\nNo warranty & no <liability>.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	no := false
	return Customization{
		Product: Product{Name: "Acme Appliance", Vendor: "Acme & Co", Version: "1.4", FullVersion: "1.4.2-build-7",
			ProductURL: "https://acme.example/appliance", VendorURL: "https://acme.example", AppURL: "https://${ip0}/"},
		Annotation: "Acme appliance\nbuilt by Packer",
		EULAFile:   eula,
		Properties: []Property{
			{Key: "ip0", Label: "IP address", Description: "Static address; empty for DHCP", Category: "Network"},
			{Key: "dns", Label: "DNS servers", Category: "Network", Qualifiers: "MinLen(0)"},
			{Key: "debug", Type: "boolean", Value: "false", Label: "Debug"},
			{Key: "hostname", Label: "Host name (ours)", UserConfigurable: &no, Value: "acme"},
		},
		CloudInitProperties: true,
	}
}

// With options, the only differences from the export are the new sections
// and the transport attribute: cut those out and the export is back.
func TestOptionsChangeOnlyTheirRegions(t *testing.T) {
	for name, desc := range ovftest.Descriptors() {
		r := customize(t, desc, VSphere, prepared(t, fullOptions(t)))
		out := string(r.Descriptor)
		start := strings.Index(out, "\n    <AnnotationSection>")
		end := strings.Index(out, "</EulaSection>")
		if start < 0 || end < 0 {
			t.Fatalf("%s: sections not inserted:\n%s", name, out)
		}
		cut := out[:start] + out[end+len("</EulaSection>"):]
		cut = strings.Replace(cut, `<VirtualHardwareSection ovf:transport="com.vmware.guestInfo iso">`, "<VirtualHardwareSection>", 1)
		if cut != string(desc) {
			t.Errorf("%s: bytes outside the inserted sections and the transport changed:\n%s", name, out)
		}
		// vCenter's order: after the hardware section and BootOrderSection.
		for _, before := range []string{"</VirtualHardwareSection>", "</vmw:BootOrderSection>"} {
			if i := strings.Index(out, before); i > start && strings.Contains(string(desc), before) {
				t.Errorf("%s: sections inserted before %s", name, before)
			}
		}
	}
}

func TestHardwareVersionCap(t *testing.T) {
	efi := ovftest.EFI()
	for _, tc := range []struct {
		target Target
		c      Customization
		want   string
	}{
		{VSphere, Customization{}, "vmx-21"},
		{Workstation, Customization{}, "vmx-21"}, // at or below the default cap
		// An explicit max_hardware_version is a hard ceiling: no list form.
		{Workstation, Customization{MaxHardwareVersion: "vmx-19"}, "vmx-19"},
		{Portable, Customization{MaxHardwareVersion: "19"}, "vmx-19"},
		{Workstation, Customization{MaxHardwareVersion: "vmx-21"}, "vmx-21"},
		{VSphere, Customization{MaxHardwareVersion: "vmx-19"}, "vmx-19"},
		{VirtualBox, Customization{MaxHardwareVersion: "vmx-19"}, "vmx-19"},
		{Workstation, Customization{HardwareVersion: "vmx-20"}, "vmx-20"},
		{Workstation, Customization{HardwareVersion: "20"}, "vmx-20"},
		{VSphere, Customization{HardwareVersion: "vmx-22"}, "vmx-22"},
	} {
		r := customize(t, efi, tc.target, prepared(t, tc.c))
		if got := systemType(t, r.Descriptor); got != tc.want {
			t.Errorf("%s %+v: VirtualSystemType %q, want %q", tc.target, tc.c, got, tc.want)
		}
	}
	// The default cap applies to an export above it.
	vmx23 := []byte(strings.Replace(string(efi), ">vmx-21<", ">vmx-23<", 1))
	if got := systemType(t, customize(t, vmx23, Workstation, prepared(t, Customization{})).Descriptor); got != "vmx-22 vmx-23" {
		t.Errorf("workstation default cap on vmx-23: %q", got)
	}
}

// Errors name the option and the device that needs a higher version.
func TestHardwareVersionBelowDeviceNeeds(t *testing.T) {
	for _, tc := range []struct {
		desc         []byte
		c            Customization
		target       Target
		want1, want2 string
	}{
		{ovftest.EFI(), Customization{MaxHardwareVersion: "vmx-12"}, Workstation, "max_hardware_version: vmx-12 is below vmx-13", "UEFI Secure Boot"},
		{ovftest.EFI(), Customization{HardwareVersion: "vmx-9"}, VSphere, "hardware_version: vmx-09 is below vmx-13", "UEFI Secure Boot"},
		{ovftest.Basic(), Customization{MaxHardwareVersion: "vmx-6"}, VSphere, "below vmx-07", `VMXNET3 network adapter "Network adapter 1"`},
		{[]byte(strings.Replace(string(ovftest.EFI()), "efiSecureBootEnabled\" vmw:value=\"true", "efiSecureBootEnabled\" vmw:value=\"false", 1)),
			Customization{MaxHardwareVersion: "vmx-9"}, Portable, "below vmx-10", `SATA (AHCI) controller "SATA controller 0"`},
	} {
		_, err := Customize(tc.desc, tc.target, prepared(t, tc.c))
		if err == nil || !strings.Contains(err.Error(), tc.want1) || !strings.Contains(err.Error(), tc.want2) {
			t.Errorf("%+v on %s: err = %v, want %q and %q", tc.c, tc.target, err, tc.want1, tc.want2)
		}
	}
}

func TestVirtualBoxRules(t *testing.T) {
	efi := ovftest.EFI()
	r := customize(t, efi, VirtualBox, prepared(t, Customization{}))
	out := string(r.Descriptor)
	if !slices.Equal(r.Dropped, []string{"efi-vm-file1.nvram"}) {
		t.Errorf("Dropped = %v, want the .nvram", r.Dropped)
	}
	for _, gone := range []string{"efi-vm-file1.nvram", `vmw:key="nvram"`, "ovf:/file/file2", "vmware.sata.ahci"} {
		if strings.Contains(out, gone) {
			t.Errorf("%q is still in the virtualbox descriptor", gone)
		}
	}
	if !strings.Contains(out, "<rasd:ResourceSubType>AHCI</rasd:ResourceSubType>") {
		t.Error("SATA subtype not rewritten to AHCI")
	}
	if !strings.Contains(out, "<Item ovf:required=\"false\">\n        <rasd:AutomaticAllocation>false</rasd:AutomaticAllocation>\n        <rasd:ElementName>Serial port 1") {
		t.Error("serial port (ResourceType 21, unknown to VirtualBox) not marked ovf:required=\"false\"")
	}
	if len(r.Warnings) == 0 || !strings.Contains(strings.Join(r.Warnings, "\n"), "EFI firmware") {
		t.Errorf("no EFI warning: %v", r.Warnings)
	}
	// The export as vCenter wrote it fails VirtualBox's rules; ours passes
	// both the current and the older reader.
	files := []string{"efi-vm-disk-0.vmdk", "efi-vm-file1.nvram"}
	if err := ovftest.CheckVirtualBox(efi, files, ovftest.VirtualBoxLegacy); err == nil {
		t.Fatal("the VirtualBox checker accepts the raw vSphere export; it proves nothing")
	} else {
		for _, want := range []string{"Unknown resource type 21", "NVRAM file", "SATA AHCI controllers only"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("checker on the raw export: %v, want it to report %q", err, want)
			}
		}
	}
	for _, rel := range []ovftest.VirtualBoxRelease{ovftest.VirtualBoxCurrent, ovftest.VirtualBoxLegacy} {
		if err := ovftest.CheckVirtualBox(r.Descriptor, []string{"efi-vm-disk-0.vmdk"}, rel); err != nil {
			t.Errorf("virtualbox descriptor fails VirtualBox's rules (release %d): %v", rel, err)
		}
	}
	if _, err := Customize(efi, VirtualBox, prepared(t, Customization{FailOnFirmwareLoss: true})); err == nil || !strings.Contains(err.Error(), "fail_on_firmware_loss") {
		t.Errorf("fail_on_firmware_loss: err = %v", err)
	}
	r = customize(t, efi, VirtualBox, prepared(t, Customization{NVRAM: "keep"}))
	if !strings.Contains(strings.Join(r.Warnings, "\n"), `nvram = "keep" does not apply`) || len(r.Dropped) != 1 {
		t.Errorf("nvram = keep on virtualbox: dropped %v, warnings %v", r.Dropped, r.Warnings)
	}
}

func TestPortableRules(t *testing.T) {
	efi := ovftest.EFI()
	r := customize(t, efi, Portable, prepared(t, Customization{}))
	out := string(r.Descriptor)
	if !strings.Contains(out, "vmware.sata.ahci") {
		t.Error("portable rewrote the SATA subtype, which vSphere refuses as AHCI")
	}
	if !slices.Equal(r.Dropped, []string{"efi-vm-file1.nvram"}) {
		t.Errorf("Dropped = %v", r.Dropped)
	}
	w := strings.Join(r.Warnings, "\n")
	for _, want := range []string{"EFI firmware", "vmware.sata.ahci"} {
		if !strings.Contains(w, want) {
			t.Errorf("portable warnings %q lack %q", w, want)
		}
	}
	if err := ovftest.CheckVirtualBox(r.Descriptor, []string{"efi-vm-disk-0.vmdk"}, ovftest.VirtualBoxCurrent); err != nil {
		t.Errorf("portable descriptor fails VirtualBox's rules: %v", err)
	}
}

// Items of a ResourceType the target has no device for become optional
// there, and only there.
func TestUnknownItemsBecomeOptional(t *testing.T) {
	desc := []byte(strings.Replace(string(ovftest.EFI()), "<rasd:ResourceType>21</rasd:ResourceType>", "<rasd:ResourceType>32768</rasd:ResourceType>", 1))
	marked := func(out []byte) bool {
		return strings.Contains(string(out), "<Item ovf:required=\"false\">\n        <rasd:AutomaticAllocation>false</rasd:AutomaticAllocation>\n        <rasd:ElementName>Serial port 1")
	}
	for _, tc := range []struct {
		target Target
		want   bool
	}{{VSphere, false}, {Workstation, true}, {VirtualBox, true}, {Portable, true}} {
		if got := marked(customize(t, desc, tc.target, prepared(t, Customization{})).Descriptor); got != tc.want {
			t.Errorf("%s: item of ResourceType 32768 marked optional = %v, want %v", tc.target, got, tc.want)
		}
	}
	// Workstation has a serial port: the original item stays required.
	if marked(customize(t, ovftest.EFI(), Workstation, prepared(t, Customization{})).Descriptor) {
		t.Error("workstation made the serial port optional")
	}
}

func TestMemoryUnitsAndOSIDForVirtualBox(t *testing.T) {
	desc := strings.Replace(string(ovftest.Basic()), "<rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>", "<rasd:AllocationUnits>byte * 2^10</rasd:AllocationUnits>", 1)
	desc = strings.Replace(desc, "<rasd:VirtualQuantity>1024</rasd:VirtualQuantity>", "<rasd:VirtualQuantity>1048576</rasd:VirtualQuantity>", 1)
	desc = strings.Replace(desc, `<OperatingSystemSection ovf:id="101"`, `<OperatingSystemSection ovf:id="otherLinux64Guest"`, 1)
	if err := ovftest.CheckVirtualBox([]byte(desc), nil, ovftest.VirtualBoxCurrent); err == nil {
		t.Fatal("checker accepts KiB memory units and a non-numeric OS id")
	}
	r := customize(t, []byte(desc), VirtualBox, prepared(t, Customization{}))
	out := string(r.Descriptor)
	if !strings.Contains(out, "<rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>") || !strings.Contains(out, "<rasd:VirtualQuantity>1024</rasd:VirtualQuantity>") {
		t.Errorf("memory not converted to MiB:\n%s", out)
	}
	if !strings.Contains(out, `<OperatingSystemSection ovf:id="101"`) {
		t.Error("OS id not made numeric (101, Linux 64-Bit)")
	}
	if err := ovftest.CheckVirtualBox(r.Descriptor, nil, ovftest.VirtualBoxLegacy); err != nil {
		t.Error(err)
	}
	// vSphere and Workstation read these fine: unchanged there.
	if r := customize(t, []byte(desc), Workstation, prepared(t, Customization{})); string(r.Descriptor) != desc {
		t.Error("workstation changed memory units or OS id")
	}
}

func TestRemoveDevices(t *testing.T) {
	// A CD-ROM with an ISO: the ISO goes with it.
	desc := strings.Replace(string(ovftest.EFI()), `    <File ovf:href="efi-vm-file1.nvram"`, `    <File ovf:href="tools.iso" ovf:id="file3" ovf:size="2048"/>
    <File ovf:href="efi-vm-file1.nvram"`, 1)
	desc = strings.Replace(desc, "<rasd:ResourceSubType>vmware.cdrom.remotepassthrough</rasd:ResourceSubType>",
		"<rasd:HostResource>ovf:/file/file3</rasd:HostResource>\n        <rasd:ResourceSubType>vmware.cdrom.iso</rasd:ResourceSubType>", 1)
	r := customize(t, []byte(desc), VSphere, prepared(t, Customization{RemoveDevices: []string{"cdrom", "USB", "serial"}}))
	out := string(r.Descriptor)
	for _, gone := range []string{"CD/DVD drive 1", "USB xHCI controller", "Serial port 1", "tools.iso"} {
		if strings.Contains(out, gone) {
			t.Errorf("%q still in the descriptor", gone)
		}
	}
	if !slices.Equal(r.Dropped, []string{"tools.iso"}) {
		t.Errorf("Dropped = %v, want [tools.iso]", r.Dropped)
	}
	if !strings.Contains(out, "efi-vm-file1.nvram") || !strings.Contains(out, "SATA controller 0") {
		t.Error("removed more than asked")
	}
	// Each removal takes its lines: the rest is the export.
	if strings.Contains(out, "\n\n") {
		t.Error("removal left blank lines")
	}
}

func TestNVRAMDropOnVSphere(t *testing.T) {
	efi := ovftest.EFI()
	r := customize(t, efi, VSphere, prepared(t, Customization{NVRAM: "drop"}))
	want := strings.Replace(string(efi), "\n    <File ovf:href=\"efi-vm-file1.nvram\" ovf:id=\"file2\" ovf:size=\"270840\"/>", "", 1)
	want = strings.Replace(want, "\n      <vmw:ExtraConfig ovf:required=\"false\" vmw:key=\"nvram\" vmw:value=\"ovf:/file/file2\"/>", "", 1)
	if string(r.Descriptor) != want {
		t.Errorf("nvram = drop changed more than the File and the ExtraConfig:\n%s", r.Descriptor)
	}
	if r := customize(t, efi, Workstation, prepared(t, Customization{})); len(r.Dropped) != 0 {
		t.Errorf("workstation dropped %v by default", r.Dropped)
	}
}

func TestPrepareNamesTheOption(t *testing.T) {
	for _, tc := range []struct {
		c    Customization
		want string
	}{
		{Customization{Targets: []string{"vsphere", "hyperv"}}, `target[1]: unknown target "hyperv"`},
		{Customization{Targets: []string{"vsphere", "VSphere"}}, "listed twice"},
		{Customization{HardwareVersion: "vmx21"}, `hardware_version: "vmx21" is not a VMware hardware version`},
		{Customization{MaxHardwareVersion: "vmx21"}, "max_hardware_version:"},
		{Customization{HardwareVersion: "vmx-19", MaxHardwareVersion: "vmx-20"}, "set one, not both"},
		{Customization{Properties: []Property{{Key: "a:b"}}}, "contains ':'"},
		{Customization{Properties: []Property{{Key: "x", Type: "int"}}}, `type "int" is not an OVF property type`},
		{Customization{Properties: []Property{{Key: "x", Type: "uint8", Value: "300"}}}, "not a valid uint8"},
		{Customization{Properties: []Property{{Key: "x"}, {Key: "x"}}}, "also declared by property[0]"},
		{Customization{PropertyTransport: []string{"guestinfo"}}, "property_transport[0]"},
		{Customization{NVRAM: "remove"}, "nvram:"},
		{Customization{RemoveDevices: []string{"tpm"}}, "remove_devices[0]: unknown device \"tpm\""},
		{Customization{EULAFile: "/nonexistent/eula.txt"}, "eula_file: cannot read"},
		{Customization{EULA: "x", EULAFile: "y"}, "eula and eula_file"},
		{Customization{Signing: Signing{PrivateKeyFile: "/nonexistent/key.pem"}}, "signing.certificate_file: required"},
	} {
		errs := tc.c.Prepare()
		var all []string
		for _, e := range errs {
			all = append(all, e.Error())
		}
		if !strings.Contains(strings.Join(all, "\n"), tc.want) {
			t.Errorf("Prepare(%+v) = %v, want %q", tc.c, all, tc.want)
		}
	}
	c := Customization{Targets: []string{" Workstation", "virtualbox"}}
	if errs := c.Prepare(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := c.TargetList(); !slices.Equal(got, []Target{Workstation, VirtualBox}) {
		t.Errorf("TargetList = %v", got)
	}
	if got := (&Customization{}).TargetList(); !slices.Equal(got, []Target{VSphere}) {
		t.Errorf("default TargetList = %v", got)
	}
	if _, err := Customize(ovftest.Basic(), "hyperv", nil); err == nil || !strings.Contains(err.Error(), "target: unknown") {
		t.Errorf("Customize with an unknown target: %v", err)
	}
}

// A dotted key (ovftool's --prop:guestinfo.x=, VMware's appliances) lands in
// the OVF as written, with a warning that names the standard it breaks.
func TestDottedPropertyKey(t *testing.T) {
	c := prepared(t, Customization{Targets: []string{"vsphere", "workstation"},
		Properties: []Property{{Key: "guestinfo.cis.appliance.net.addr", Value: "10.0.0.5"}, {Key: "plain"}}})
	for _, target := range []Target{VSphere, Workstation} {
		r := customize(t, ovftest.Basic(), target, c)
		if !strings.Contains(string(r.Descriptor), `<Property ovf:key="guestinfo.cis.appliance.net.addr" ovf:type="string" ovf:userConfigurable="true" ovf:value="10.0.0.5"/>`) {
			t.Errorf("%s: dotted property not in the OVF:\n%s", target, r.Descriptor)
		}
		var warned []string
		for _, w := range r.Warnings {
			if strings.Contains(w, "property key") {
				warned = append(warned, w)
			}
		}
		want := string(target) + `: property key "guestinfo.cis.appliance.net.addr" contains '.', which DSP0243 9.5 does not allow`
		if len(warned) != 1 || !strings.HasPrefix(warned[0], want) {
			t.Errorf("%s: warnings %q, want one starting %q", target, r.Warnings, want)
		}
	}
}

// A descriptor that already has the sections is edited in place: fields are
// rewritten, missing ones inserted in schema order, a redeclared property
// replaced rather than duplicated.
func TestExistingSectionsAreEditedInPlace(t *testing.T) {
	first := customize(t, ovftest.Basic(), VSphere, prepared(t, Customization{
		Product:    Product{Name: "Old", Version: "0.9"},
		Annotation: "old notes",
		EULA:       "old terms",
		Properties: []Property{{Key: "ip0", Label: "old label"}, {Key: "keep", Label: "kept"}},
	})).Descriptor
	r := customize(t, first, VSphere, prepared(t, Customization{
		Product:    Product{Name: "New", Vendor: "Acme"},
		Annotation: "new notes",
		EULA:       "new terms",
		Properties: []Property{{Key: "ip0", Label: "new label"}},
	}))
	out := string(r.Descriptor)
	want := strings.NewReplacer(
		"<Product>Old</Product>", "<Product>New</Product>\n      <Vendor>Acme</Vendor>",
		"<Annotation>old notes</Annotation>", "<Annotation>new notes</Annotation>",
		"<License>old terms</License>", "<License>new terms</License>",
		"\n      <Property ovf:key=\"ip0\" ovf:type=\"string\" ovf:userConfigurable=\"true\" ovf:value=\"\">\n        <Label>old label</Label>\n      </Property>", "",
		"        <Label>kept</Label>\n      </Property>", "        <Label>kept</Label>\n      </Property>\n      <Property ovf:key=\"ip0\" ovf:type=\"string\" ovf:userConfigurable=\"true\" ovf:value=\"\">\n        <Label>new label</Label>\n      </Property>",
	).Replace(string(first))
	if out != want {
		t.Errorf("in-place edit:\n%s\nwant:\n%s", out, want)
	}
	if strings.Count(out, "<ProductSection>") != 1 || strings.Count(out, `ovf:key="ip0"`) != 1 {
		t.Error("sections or properties duplicated")
	}
}
