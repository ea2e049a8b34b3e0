//go:generate packer-sdc mapstructure-to-hcl2 -type Customization,Product,Property,Signing
//go:generate packer-sdc struct-markdown

package ovftarget

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/hardware"
)

// For developers: the post-processor embeds Customization in its Config with
// mapstructure ",squash", calls Prepare from Configure and Customize once
// per target.

// Customization adapts the OVF descriptor to where the OVA will be imported
// and describes the appliance: product, annotation, EULA and vApp
// properties. Bytes no option asks to change stay as vCenter wrote them.
type Customization struct {
	// Where the OVA will be imported: one or more of `vsphere` (the export as
	// it is, plus the options below), `workstation` (VMware Workstation,
	// Fusion, Player), `virtualbox` and `portable` (what imports in all
	// three). One OVA is written per target; see "Where will you import it?".
	// Defaults to `["vsphere"]`.
	Targets []string `mapstructure:"target"`
	// Product information shown by the vSphere deploy wizard and by
	// VirtualBox's import dialog (ProductSection).
	Product Product `mapstructure:"product"`
	// A human-readable description of the appliance (AnnotationSection). It
	// becomes the VM's notes on vSphere and its description in VirtualBox.
	Annotation string `mapstructure:"annotation"`
	// End-user license agreement text the deployer must accept
	// (EulaSection). Conflicts with `eula_file`.
	EULA string `mapstructure:"eula"`
	// File holding the end-user license agreement text (UTF-8). Conflicts
	// with `eula`.
	EULAFile string `mapstructure:"eula_file"`
	// Exact virtual hardware version to declare: `vmx-19`, `19` or the
	// number 19. It must not be below what the export's devices need; the
	// error names the device. Conflicts with `max_hardware_version`.
	HardwareVersion string `mapstructure:"hardware_version"`
	// Highest virtual hardware version the OVA may declare: `vmx-19`, `19`
	// or the number 19. A hard ceiling: an export above it is lowered to it
	// and declares that version only. Without it, the `workstation` and
	// `portable` targets cap at `vmx-22` (the highest Workstation Pro 25H2
	// documents) and write the list form (`vmx-22 vmx-23`), so that vSphere
	// still deploys the original version; `vsphere` and `virtualbox` have
	// no cap of their own. Workstation 17.5 and 17.6 stop at `vmx-21`: set
	// `max_hardware_version = 21` for them.
	MaxHardwareVersion string `mapstructure:"max_hardware_version"`
	// `keep` or `drop` the exported `.nvram` file (the EFI variable store)
	// and every reference to it. Some importers (pyvmomi-based tools,
	// Ansible content-library modules) fail on it; an EFI guest without it
	// boots with default firmware settings (Secure Boot keys reset).
	// Defaults to `keep`; `virtualbox` and `portable` always drop it.
	NVRAM string `mapstructure:"nvram"`
	// Virtual devices to remove from the OVA: any of `cdrom`, `floppy`,
	// `usb`, `serial`, `parallel`, `sound`. A file only a removed device
	// used (a CD-ROM's ISO) is dropped too.
	RemoveDevices []string `mapstructure:"remove_devices"`
	// vApp properties the deployer fills in and the guest reads at first
	// boot (through VMware Tools' guestinfo.ovfEnv or the OVF environment
	// ISO). Repeat the block for each property.
	Properties []Property `mapstructure:"property"`
	// How vSphere hands the properties to the guest: `com.vmware.guestInfo`
	// (VMware Tools) and/or `iso` (an OVF environment CD-ROM). Defaults to
	// both when any property is declared; without a transport vSphere
	// never delivers the values.
	PropertyTransport []string `mapstructure:"property_transport"`
	// Declare the properties cloud-init's OVF datasource reads
	// (`instance-id`, `hostname`, `seedfrom`, `public-keys`, `user-data`,
	// `password`), so a stock cloud-init guest takes its hostname, SSH keys
	// and user-data (base64) from the vSphere deploy wizard. A `property`
	// block with the same key overrides the built-in one.
	CloudInitProperties bool `mapstructure:"cloud_init_properties"`
	// Fail, instead of warning, when a target cannot carry the guest's EFI
	// firmware: VirtualBox ignores VMware's firmware setting and imports an
	// EFI guest as BIOS, which then does not boot.
	FailOnFirmwareLoss bool `mapstructure:"fail_on_firmware_loss"`
	// Sign the OVA as ovftool does: a `.cert` member after the `.mf` holding
	// the manifest's signature and the certificate.
	Signing Signing `mapstructure:"signing"`

	eula string // resolved by Prepare from eula or eula_file
}

// Product is the ProductSection of the appliance.
type Product struct {
	// Product name, for example `Acme Appliance`.
	Name string `mapstructure:"name"`
	// Vendor name.
	Vendor string `mapstructure:"vendor"`
	// Short version, for example `1.4`.
	Version string `mapstructure:"version"`
	// Full version, for example `1.4.2-build-1234`.
	FullVersion string `mapstructure:"full_version"`
	// URL of the product's page.
	ProductURL string `mapstructure:"product_url"`
	// URL of the vendor's page.
	VendorURL string `mapstructure:"vendor_url"`
	// URL of the running appliance's web interface; vSphere shows it as a
	// link once the VM runs (it may use `${property}` substitutions).
	AppURL string `mapstructure:"app_url"`
}

func (p Product) empty() bool { return p == Product{} }

// Property is one vApp property.
type Property struct {
	// Key the guest reads the value by. `:` is refused; a `.` (as in
	// `guestinfo.cis.appliance.net.addr`) is accepted with a warning:
	// vSphere and ovftool take it, though the OVF standard (DSP0243) does
	// not allow it.
	Key string `mapstructure:"key" required:"true"`
	// OVF type: `string` (default), `boolean`, `uint8`, `sint8`, `uint16`,
	// `sint16`, `uint32`, `sint32`, `uint64`, `sint64`, `real32` or `real64`.
	Type string `mapstructure:"type"`
	// Default value.
	Value string `mapstructure:"value"`
	// Label shown in the deploy wizard.
	Label string `mapstructure:"label"`
	// Help text shown in the deploy wizard.
	Description string `mapstructure:"description"`
	// Group heading in the deploy wizard; properties with the same category
	// are shown together.
	Category string `mapstructure:"category"`
	// Whether the deployer may change the value. Defaults to `true`.
	UserConfigurable *bool `mapstructure:"user_configurable"`
	// Mask the value in the wizard and in vSphere's UI.
	Password bool `mapstructure:"password"`
	// OVF qualifiers, for example `MinLen(1)` or `ValueMap{"a","b"}`.
	Qualifiers string `mapstructure:"qualifiers"`
}

// Signing names the key and certificate that sign the OVA.
type Signing struct {
	// PEM file with the unencrypted RSA private key.
	PrivateKeyFile string `mapstructure:"private_key_file"`
	// PEM file with the certificate for that key, optionally followed by
	// its chain.
	CertificateFile string `mapstructure:"certificate_file"`
}

// Enabled reports whether signing was asked for.
func (s Signing) Enabled() bool { return s.PrivateKeyFile != "" || s.CertificateFile != "" }

// Prepare checks every option and reads eula_file. Each error names the
// option it is about. It is long because it checks each option in the order
// the struct declares them, one short block per option.
func (c *Customization) Prepare() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	seen := map[Target]bool{}
	for i, t := range c.Targets {
		tt := Target(strings.ToLower(strings.TrimSpace(t)))
		if !tt.valid() {
			add("target[%d]: unknown target %q; use one or more of %s", i, t, targetNames())
			continue
		}
		if seen[tt] {
			add("target[%d]: %q is listed twice", i, t)
		}
		seen[tt] = true
	}
	if c.EULA != "" && c.EULAFile != "" {
		add("eula and eula_file: set one, not both")
	}
	c.eula = c.EULA
	if c.EULAFile != "" {
		b, err := os.ReadFile(c.EULAFile)
		switch {
		case err != nil:
			add("eula_file: cannot read %q: %v", c.EULAFile, err)
		case strings.TrimSpace(string(b)) == "":
			add("eula_file: %q is empty", c.EULAFile)
		default:
			c.eula = string(b)
		}
	}
	if c.HardwareVersion != "" {
		if _, err := hardware.ParseVersion(c.HardwareVersion); err != nil {
			add("hardware_version: %v", err)
		}
	}
	if c.MaxHardwareVersion != "" {
		if _, err := hardware.ParseVersion(c.MaxHardwareVersion); err != nil {
			add("max_hardware_version: %v", err)
		}
	}
	if c.HardwareVersion != "" && c.MaxHardwareVersion != "" {
		add("hardware_version and max_hardware_version: set one, not both (hardware_version is exact)")
	}
	switch c.NVRAM {
	case "", "keep", "drop":
	default:
		add("nvram: %q is not \"keep\" or \"drop\"", c.NVRAM)
	}
	for i, d := range c.RemoveDevices {
		if _, ok := removableDevices[strings.ToLower(d)]; !ok {
			add("remove_devices[%d]: unknown device %q; use any of cdrom, floppy, usb, serial, parallel, sound", i, d)
		}
	}
	keys := map[string]int{}
	for i, p := range c.Properties {
		if err := p.check(); err != nil {
			add("property[%d] (key %q): %v", i, p.Key, err)
		}
		if j, dup := keys[p.Key]; dup {
			add("property[%d]: key %q is also declared by property[%d]; keys must be unique", i, p.Key, j)
		}
		keys[p.Key] = i
	}
	for i, t := range c.PropertyTransport {
		if t != TransportGuestInfo && t != TransportISO {
			add("property_transport[%d]: %q is not %q or %q", i, t, TransportGuestInfo, TransportISO)
		}
	}
	if c.Signing.Enabled() {
		for _, f := range []struct{ opt, path string }{
			{"signing.private_key_file", c.Signing.PrivateKeyFile},
			{"signing.certificate_file", c.Signing.CertificateFile},
		} {
			if f.path == "" {
				add("%s: required when signing", f.opt)
			} else if _, err := os.Stat(f.path); err != nil {
				add("%s: %v", f.opt, err)
			}
		}
	}
	return errs
}

// TargetList returns the targets in the order given, `vsphere` when none.
// Call it after Prepare.
func (c *Customization) TargetList() []Target {
	if len(c.Targets) == 0 {
		return []Target{VSphere}
	}
	out := make([]Target, 0, len(c.Targets))
	for _, t := range c.Targets {
		out = append(out, Target(strings.ToLower(strings.TrimSpace(t))))
	}
	return out
}

// vApp property transports (the values of VirtualHardwareSection/@ovf:transport).
const (
	TransportGuestInfo = "com.vmware.guestInfo"
	TransportISO       = "iso"
)

// cimTypes are the property types DSP0243 (9.5, "ovf:type") allows: the CIM
// intrinsic types.
var cimTypes = map[string]bool{
	"string": true, "boolean": true, "real32": true, "real64": true,
	"uint8": true, "sint8": true, "uint16": true, "sint16": true,
	"uint32": true, "sint32": true, "uint64": true, "sint64": true,
}

func (p Property) typ() string {
	if p.Type == "" {
		return "string"
	}
	return p.Type
}

func (p Property) check() error {
	if err := checkPropertyKey(p.Key); err != nil {
		return err
	}
	t := p.typ()
	if !cimTypes[t] {
		return fmt.Errorf("type %q is not an OVF property type; use string, boolean, real32, real64, uint8..uint64 or sint8..sint64", p.Type)
	}
	if p.Value == "" {
		return nil
	}
	var err error
	switch {
	case t == "boolean":
		if p.Value != "true" && p.Value != "false" {
			err = errors.New(`want "true" or "false"`)
		}
	case strings.HasPrefix(t, "uint"):
		bits, _ := strconv.Atoi(t[4:])
		_, err = strconv.ParseUint(p.Value, 10, bits)
	case strings.HasPrefix(t, "sint"):
		bits, _ := strconv.Atoi(t[4:])
		_, err = strconv.ParseInt(p.Value, 10, bits)
	case strings.HasPrefix(t, "real"):
		bits, _ := strconv.Atoi(t[4:])
		_, err = strconv.ParseFloat(p.Value, bits)
	}
	if err != nil {
		return fmt.Errorf("value %q is not a valid %s: %v", p.Value, t, err)
	}
	return nil
}

// checkPropertyKey refuses what cannot reach the guest: ':' (the OVF
// environment's class separator), white space and control characters,
// which do not survive XML and guestinfo. A '.' is accepted though DSP0243
// 9.5 forbids it ("shall not contain the period character ('.') or the
// colon character (':')"): vSphere, ovftool (--prop:guestinfo.x=) and
// VMware's own appliances (guestinfo.cis.appliance.net.addr) use dotted
// keys. dottedKeyWarning says so in the build output.
func checkPropertyKey(k string) error {
	if k == "" {
		return errors.New("key is empty")
	}
	for _, r := range k {
		switch {
		case r == ':':
			return fmt.Errorf("key %q contains %q, which OVF forbids in property keys (DSP0243 9.5) and vSphere reads as the class separator; use '.', '-' or '_'", k, r)
		case r <= ' ' || r == 0x7f:
			return fmt.Errorf("key %q contains white space or a control character", k)
		}
	}
	return nil
}

// dottedKeyWarning is the build output's note on a key with a '.', "" for
// other keys.
func dottedKeyWarning(k string) string {
	if !strings.Contains(k, ".") {
		return ""
	}
	return fmt.Sprintf("property key %q contains '.', which DSP0243 9.5 does not allow in ovf:key; vSphere and ovftool accept it, an importer that follows the standard strictly may refuse the OVA", k)
}
