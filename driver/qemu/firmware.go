package qemu

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ovmfDirs are where distributions install OVMF: Debian/Ubuntu (ovmf),
// Fedora/RHEL (edk2-ovmf).
var ovmfDirs = []string{"/usr/share/OVMF", "/usr/share/edk2/ovmf"}

// ovmfPairs are code/vars file pairs, preferred first. Secure Boot needs the
// SMM-enforcing code build and variables with Microsoft's keys enrolled (so
// shim-signed boots, as on vSphere with Secure Boot on).
var ovmfPairs = map[bool][][2]string{
	false: {{"OVMF_CODE_4M.fd", "OVMF_VARS_4M.fd"}, {"OVMF_CODE.fd", "OVMF_VARS.fd"}},
	true:  {{"OVMF_CODE_4M.secboot.fd", "OVMF_VARS_4M.ms.fd"}, {"OVMF_CODE.secboot.fd", "OVMF_VARS.secboot.fd"}},
}

// findOVMF returns the code and the pristine variables file to use.
func findOVMF(c *Config) (code, vars string, err error) {
	if c.OVMFCode != "" || c.OVMFVars != "" {
		if c.OVMFCode == "" || c.OVMFVars == "" {
			return "", "", fmt.Errorf("firmware efi: set both OVMF files (efi_firmware_code and efi_firmware_vars), or neither")
		}
		for _, p := range []string{c.OVMFCode, c.OVMFVars} {
			if !exists(p) {
				return "", "", fmt.Errorf("firmware efi: OVMF file %s not found: check efi_firmware_code and efi_firmware_vars", p)
			}
		}
		return c.OVMFCode, c.OVMFVars, nil
	}
	for _, dir := range ovmfDirs {
		for _, p := range ovmfPairs[c.SecureBoot] {
			code, vars := filepath.Join(dir, p[0]), filepath.Join(dir, p[1])
			if exists(code) && exists(vars) {
				return code, vars, nil
			}
		}
	}
	kind := "OVMF"
	if c.SecureBoot {
		kind = "OVMF with Secure Boot (OVMF_CODE_4M.secboot.fd, OVMF_VARS_4M.ms.fd)"
	}
	return "", "", fmt.Errorf("firmware efi: %s not found in %v: install Debian's ovmf package (Fedora: edk2-ovmf), or name the files with efi_firmware_code and efi_firmware_vars", kind, ovmfDirs)
}

// firmwareArgs returns the pflash arguments for efi (none for bios, SeaBIOS
// is QEMU's default), copying the variables into workDir: the guest writes
// its boot entries there, never into the shared template.
func firmwareArgs(c *Config, workDir string) ([]string, error) {
	if c.Firmware != "efi" {
		return nil, nil
	}
	code, vars, err := findOVMF(c)
	if err != nil {
		return nil, err
	}
	own := filepath.Join(workDir, "efivars.fd")
	if err := copyFile(vars, own); err != nil {
		return nil, fmt.Errorf("copying the OVMF variables: %w", err)
	}
	args := []string{
		"-drive", fmt.Sprintf("if=pflash,format=raw,unit=0,readonly=on,file=%s", escapeOpt(code)),
		"-drive", fmt.Sprintf("if=pflash,format=raw,unit=1,file=%s", escapeOpt(own)),
	}
	if c.SecureBoot {
		// The secboot build only lets SMM write the variables.
		args = append(args, "-global", "driver=cfi.pflash01,property=secure,value=on")
	}
	return args, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// firmwareWarning says when the boot disk sits on a controller OVMF may have
// no driver for. Debian's OVMF (edk2 2022.11) finds no disk behind pvscsi
// (tested: it falls through to the EFI shell), and upstream OVMF builds
// leave the LSI drivers out by default. A warning, not an error: a custom
// OVMF (OVMFCode) may have them.
func firmwareWarning(c *Config) string {
	if c.Firmware != "efi" || len(c.Disks) == 0 || c.Disks[0].Controller >= len(c.Controllers) {
		return ""
	}
	switch t := c.Controllers[c.Disks[0].Controller].Type; t {
	case PVSCSI, LSILogic, LSILogicSAS:
		return fmt.Sprintf("firmware efi with the boot disk on %s: OVMF may have no driver for it "+
			"(Debian's does not boot from pvscsi) and fall through to the EFI shell; sata or nvme boot under OVMF", t)
	}
	return ""
}
