package qemu

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// setProbePaths points the KVM preconditions at fixture files.
func setProbePaths(t *testing.T, dev, cpuinfo string) {
	oldDev, oldInfo := kvmDevice, cpuinfoPath
	kvmDevice, cpuinfoPath = dev, cpuinfo
	t.Cleanup(func() { kvmDevice, cpuinfoPath = oldDev, oldInfo })
}

func TestKVMUsable(t *testing.T) {
	dir := t.TempDir()
	dev := filepath.Join(dir, "kvm")
	os.WriteFile(dev, nil, 0o600)
	withVMX := filepath.Join(dir, "cpuinfo-vmx")
	os.WriteFile(withVMX, []byte("processor\t: 0\nflags\t\t: fpu vme sse2 vmx lm\n"), 0o644)
	nested := filepath.Join(dir, "cpuinfo-nested")
	// The case on our CI hosts: /dev/kvm present, no vmx/svm flag.
	os.WriteFile(nested, []byte("processor\t: 0\nflags\t\t: fpu vme sse2 hypervisor lm\nvmx flags\t: ept\n"), 0o644)

	setProbePaths(t, dev, withVMX)
	if err := kvmUsable(); err != nil {
		t.Errorf("vmx host: %v", err)
	}
	setProbePaths(t, dev, nested)
	if err := kvmUsable(); err == nil || !strings.Contains(err.Error(), "no vmx or svm flag") {
		t.Errorf("host without vmx/svm: %v", err)
	}
	setProbePaths(t, filepath.Join(dir, "missing"), withVMX)
	if err := kvmUsable(); err == nil || !strings.Contains(err.Error(), "unusable") {
		t.Errorf("host without /dev/kvm: %v", err)
	}
}

// TestProbeBootTCG runs the probe guest for real under TCG: the mechanism
// "auto" trusts (exit code 99 from the boot sector) works.
func TestProbeBootTCG(t *testing.T) {
	bin := testenv.LookPath(t, "qemu-system-x86_64")
	if err := probeBoot(context.Background(), bin, "tcg"); err != nil {
		t.Fatalf("probe guest under TCG: %v", err)
	}
}

// TestProbeAcceleratorHere: on this host "auto" must come out as what KVM
// really does. Where /dev/kvm is absent or the CPU lacks vmx/svm, TCG.
func TestProbeAcceleratorHere(t *testing.T) {
	bin := testenv.LookPath(t, "qemu-system-x86_64")
	accel, reason := ProbeAccelerator(context.Background(), bin)
	t.Logf("auto -> %s (%s)", accel, reason)
	if kvmUsable() != nil && accel != "tcg" {
		t.Fatalf("KVM preconditions fail (%v) but auto chose %s", kvmUsable(), accel)
	}
}
