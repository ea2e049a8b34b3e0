package vsphereovaqemu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/ovfvm"
)

func TestPrepareDefaults(t *testing.T) {
	src := smallOVA(t, ovfvm.Config{Name: "base"}, smallDisk(1, 1<<20))
	c := prepared(t, map[string]interface{}{"source_path": src, "ssh_username": "u", "packer_build_name": "b"})
	if c.Export.Name != c.VMName || !strings.HasPrefix(c.VMName, "packer-b-") {
		t.Errorf("export name %q, vm_name %q", c.Export.Name, c.VMName)
	}
	if c.Export.OutputDir != "output-b" || c.Export.Manifest != "sha256" {
		t.Errorf("export defaults: %+v", c.Export)
	}
	if c.VNCBindAddress != "127.0.0.1" || c.HTTPAddress != "127.0.0.1" || c.Accelerator != "auto" || c.MachineType != "q35" {
		t.Errorf("defaults: vnc %q http %q accel %q machine %q", c.VNCBindAddress, c.HTTPAddress, c.Accelerator, c.MachineType)
	}
	if c.ShutdownConfig.Timeout.Minutes() != 5 {
		t.Errorf("shutdown_timeout default %s", c.ShutdownConfig.Timeout)
	}
}

// Every mistake is reported at once, each naming its option.
func TestPrepareErrors(t *testing.T) {
	dir := t.TempDir()
	var c Config
	_, err := c.Prepare(map[string]interface{}{
		"source_path":          filepath.Join(dir, "missing.ova"),
		"source_checksum":      "sha256-abc",
		"CPUs":                 3,
		"cpu_cores":            2,
		"firmware":             "uefi",
		"accelerator":          "xen",
		"disk_controller_type": []string{"buslogic"},
		"vnc_bind_address":     "localhost",
		"vapp":                 map[string]interface{}{"properties": map[string]string{"bad key": "x"}},
		"communicator":         "none",
		"shutdown_command":     "poweroff",
		"export":               map[string]interface{}{"name": "a/b", "manifest": "md5"},
	})
	if err == nil {
		t.Fatal("Prepare accepted a bad configuration")
	}
	for _, want := range []string{
		"source_path: stat", "source_checksum", "not a multiple of cpu_cores", `firmware "uefi"`,
		`accelerator "xen"`, "disk_controller_type[0]", "vnc_bind_address", "bad key",
		"shutdown_command needs a communicator", "export.name", "export.manifest",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}

// accelerator is checked for the OS the build runs on, before anything
// starts, and the error names the option and what to use instead.
func TestPrepareAcceleratorPerOS(t *testing.T) {
	for _, tc := range []struct {
		accel, goos, want string // want "": accepted
	}{
		{"", "darwin", ""}, {"tcg", "windows", ""},
		{"kvm", "linux", ""}, {"hvf", "darwin", ""}, {"whpx", "windows", ""},
		{"kvm", "darwin", `accelerator "kvm": KVM exists only on Linux, not on macOS; use "hvf"`},
		{"hvf", "linux", `accelerator "hvf": HVF (Hypervisor.framework) exists only on macOS, not on Linux; use "kvm"`},
		{"whpx", "linux", `accelerator "whpx": WHPX (Windows Hypervisor Platform) exists only on Windows`},
		{"kvm", "windows", `use "whpx"`},
	} {
		c := QEMUConfig{Accelerator: tc.accel}
		errs := c.prepare(tc.goos)
		switch {
		case tc.want == "" && len(errs) > 0:
			t.Errorf("%q on %s: %v", tc.accel, tc.goos, errs)
		case tc.want != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want)):
			t.Errorf("%q on %s: %v; want one error with %q", tc.accel, tc.goos, errs, tc.want)
		}
	}
}

func TestTCGWarning(t *testing.T) {
	for goos, want := range map[string]string{"linux": "no usable KVM,", "darwin": "no usable HVF,", "windows": "no usable WHPX,", "freebsd": "no usable hardware accelerator,"} {
		if got := tcgWarning(goos); !strings.Contains(got, want) {
			t.Errorf("%s: %q lacks %q", goos, got, want)
		}
	}
}

// efi_firmware_code/vars: both or neither, each an existing file.
func TestPrepareEFIFirmwareFiles(t *testing.T) {
	dir := t.TempDir()
	code, vars := filepath.Join(dir, "CODE.fd"), filepath.Join(dir, "VARS.fd")
	os.WriteFile(code, []byte("c"), 0o644)
	os.WriteFile(vars, []byte("v"), 0o644)
	for _, tc := range []struct {
		code, vars, want string // want "": accepted
	}{
		{"", "", ""}, {code, vars, ""},
		{code, "", "set both"}, {"", vars, "set both"},
		{code, filepath.Join(dir, "gone.fd"), "efi_firmware_vars: stat"},
		{dir, vars, "efi_firmware_code: " + dir + " is not a file"},
	} {
		c := QEMUConfig{EFIFirmwareCode: tc.code, EFIFirmwareVars: tc.vars}
		errs := c.prepare("linux")
		switch {
		case tc.want == "" && len(errs) > 0:
			t.Errorf("%q %q: %v", tc.code, tc.vars, errs)
		case tc.want != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want)):
			t.Errorf("%q %q: %v; want one error with %q", tc.code, tc.vars, errs, tc.want)
		}
	}
}

// disable_vnc is vnc_bind_address = "none": QEMU gets no -vnc.
func TestPrepareDisableVNC(t *testing.T) {
	src := smallOVA(t, ovfvm.Config{Name: "base"}, smallDisk(1, 1<<20))
	c := prepared(t, map[string]interface{}{"source_path": src, "communicator": "none", "disable_vnc": true})
	if c.vncAddress() != "" {
		t.Errorf("disable_vnc: VNC address %q", c.vncAddress())
	}
}

// boot_command: kept for the build ({{ .HTTPIP }} is rendered then, not in
// Prepare), boot_wait defaults to 10s, its syntax is checked, and it needs
// the VNC console.
func TestPrepareBootCommand(t *testing.T) {
	src := smallOVA(t, ovfvm.Config{Name: "base"}, smallDisk(1, 1<<20))
	base := func(extra map[string]interface{}) map[string]interface{} {
		raw := map[string]interface{}{"source_path": src, "communicator": "none"}
		for k, v := range extra {
			raw[k] = v
		}
		return raw
	}
	cmd := []string{"<esc><wait>linux ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg<enter>"}
	c := prepared(t, base(map[string]interface{}{"boot_command": cmd}))
	if c.FlatBootCommand() != cmd[0] || c.BootWait != 10*time.Second {
		t.Errorf("boot_command %q, boot_wait %s", c.FlatBootCommand(), c.BootWait)
	}
	for _, tc := range []struct {
		extra map[string]interface{}
		want  string
	}{
		{map[string]interface{}{"boot_command": cmd, "disable_vnc": true}, "boot_command is typed over QEMU's VNC console, which disable_vnc = true turns off"},
		{map[string]interface{}{"boot_command": cmd, "vnc_bind_address": "none"}, `which vnc_bind_address = "none" turns off`},
		{map[string]interface{}{"boot_command": []string{"<wait0s>"}}, "boot_command: Expecting a positive wait value"},
	} {
		var c Config
		_, err := c.Prepare(base(tc.extra))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.extra, err, tc.want)
		}
	}
}
