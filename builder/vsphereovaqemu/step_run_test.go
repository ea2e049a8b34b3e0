package vsphereovaqemu

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovfvm"
)

// The machine gets the OVF's hardware with the user's overrides, the
// working disks, the cd_content CD and the forward to the SSH port.
func TestMachineConfig(t *testing.T) {
	testenv.LookPath(t, "xorriso") // the SDK's CD step runs it
	src := smallOVA(t, ovfvm.Config{Name: "base", CPUs: 2, CoresPerSocket: 2, Memory: 1024, DiskControllerType: []string{"lsilogic"}}, smallDisk(1, 1<<20))
	c := prepared(t, map[string]interface{}{
		"source_path": src, "ssh_username": "u", "CPUs": 3, "RAM": 1536,
		"disk_controller_type": []string{"pvscsi"}, "cd_content": map[string]string{"a.txt": "x"},
	})
	r := newStepRunner(t)
	defer r.cleanup()
	r.must(c.SourceConfig.OpenStep())
	r.must(&stepReadMachine{config: &c.SourceConfig})
	r.must(&stepDecodeDisks{hw: &c.HardwareConfig})
	r.must(&commonsteps.StepCreateCD{Files: c.CDFiles, Content: c.CDContent, Label: c.CDLabel})
	r.must(&stepOVFEnv{config: &c.VApp})
	cfg, err := (&stepRun{config: c}).machineConfig(r.state)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CPUs != 3 || cfg.CoresPerSocket != 0 || cfg.MemoryMiB != 1536 || cfg.Firmware != "bios" {
		t.Errorf("CPUs %d cores %d memory %d firmware %s", cfg.CPUs, cfg.CoresPerSocket, cfg.MemoryMiB, cfg.Firmware)
	}
	if len(cfg.Controllers) != 1 || cfg.Controllers[0].Type != "pvscsi" || len(cfg.Disks) != 1 || cfg.Disks[0].Format != "raw" {
		t.Errorf("storage %+v %+v", cfg.Controllers, cfg.Disks)
	}
	if len(cfg.CDROMs) != 1 || cfg.CDROMs[0] != r.state.Get("cd_path") {
		t.Errorf("CD-ROMs %v, want the cd_content ISO %v", cfg.CDROMs, r.state.Get("cd_path"))
	}
	if cfg.ForwardPort != 22 || cfg.VNCBindAddress != "127.0.0.1" {
		t.Errorf("forward %d, VNC %q", cfg.ForwardPort, cfg.VNCBindAddress)
	}
}

// cpu_model and the named OVMF files reach QEMU's configuration.
func TestMachineConfigCPUAndFirmware(t *testing.T) {
	dir := t.TempDir()
	code, vars := filepath.Join(dir, "CODE.fd"), filepath.Join(dir, "VARS.fd")
	os.WriteFile(code, []byte("c"), 0o644)
	os.WriteFile(vars, []byte("v"), 0o644)
	r, dec, _, _, b := decodeSetupBuilder(t, map[string]interface{}{"cpu_model": "EPYC", "efi_firmware_code": code, "efi_firmware_vars": vars})
	defer r.cleanup()
	r.must(dec)
	cfg, err := (&stepRun{config: &b.config}).machineConfig(r.state)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CPUModel != "EPYC" || cfg.OVMFCode != code || cfg.OVMFVars != vars {
		t.Errorf("cpu model %q, OVMF %q %q", cfg.CPUModel, cfg.OVMFCode, cfg.OVMFVars)
	}
}
