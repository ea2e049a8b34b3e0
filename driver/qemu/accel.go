package qemu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"time"
)

// Where the probe looks; variables so a test can point them at fixtures.
var (
	kvmDevice   = "/dev/kvm"
	cpuinfoPath = "/proc/cpuinfo"
)

// probeTimeout bounds the KVM boot probe: a working KVM finishes in well
// under a second, the hang it guards against never finishes.
const probeTimeout = 15 * time.Second

var probeCache struct {
	sync.Mutex
	done   map[string]bool
	accel  map[string]string
	reason map[string]string
}

// ProbeAccelerator decides what "auto" means on this host: the host's
// hardware accelerator (KVM on Linux, HVF on macOS, WHPX on Windows) only
// when its cheap preconditions hold (for KVM: /dev/kvm opens and the CPU has
// vmx or svm) and a tiny guest actually runs to completion under it;
// otherwise "tcg", with the reason. The device node alone proves nothing: on
// nested hosts /dev/kvm exists and a stock kernel hangs under it. The result
// is cached per binary for the life of the process.
func ProbeAccelerator(ctx context.Context, binary string) (accel, reason string) {
	probeCache.Lock()
	defer probeCache.Unlock()
	if probeCache.done[binary] {
		return probeCache.accel[binary], probeCache.reason[binary]
	}
	accel, reason = probeHost(ctx, binary, goruntime.GOOS)
	if ctx.Err() != nil { // an interrupted probe decides nothing
		return accel, reason
	}
	if probeCache.done == nil {
		probeCache.done, probeCache.accel, probeCache.reason = map[string]bool{}, map[string]string{}, map[string]string{}
	}
	probeCache.done[binary], probeCache.accel[binary], probeCache.reason[binary] = true, accel, reason
	return accel, reason
}

// probeHost is ProbeAccelerator on goos, uncached.
func probeHost(ctx context.Context, binary, goos string) (accel, reason string) {
	hw := HostAccelerator(goos)
	if hw == "" {
		return "tcg", "QEMU has no hardware accelerator on " + displayOS(goos)
	}
	name := strings.ToUpper(hw)
	if hw == "kvm" {
		if err := kvmUsable(); err != nil {
			return "tcg", err.Error()
		}
	}
	if err := probeBoot(ctx, binary, hw); err != nil {
		return "tcg", "a test guest did not run under " + name + ": " + err.Error()
	}
	return hw, name + " runs a guest"
}

// kvmUsable checks the cheap preconditions for KVM.
func kvmUsable() error {
	f, err := os.OpenFile(kvmDevice, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("%s unusable: %w", kvmDevice, err)
	}
	f.Close()
	data, err := os.ReadFile(cpuinfoPath)
	if err != nil {
		return fmt.Errorf("reading %s: %w", cpuinfoPath, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) != "flags" {
			continue
		}
		for _, f := range strings.Fields(v) {
			if f == "vmx" || f == "svm" {
				return nil
			}
		}
		break
	}
	return fmt.Errorf("the CPU has no vmx or svm flag in %s (no hardware virtualisation for KVM)", cpuinfoPath)
}

// probeSector is a boot sector that writes 0x31 to the isa-debug-exit port,
// which makes QEMU exit with status (0x31<<1)|1 = 99: proof that firmware
// and guest code ran on a vCPU.
var probeSector = func() []byte {
	b := make([]byte, 512)
	copy(b, []byte{
		0xB0, 0x31, // mov al, 0x31
		0xE6, 0xF4, // out 0xf4, al
		0xF4,       // hlt
		0xEB, 0xFD, // jmp hlt
	})
	b[510], b[511] = 0x55, 0xAA
	return b
}()

const probeExitCode = 99

// probeBoot boots probeSector under accel and waits for its exit code.
func probeBoot(ctx context.Context, binary, accel string) error {
	dir, err := os.MkdirTemp("", "ovakit-qemu-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	img := filepath.Join(dir, "probe.img")
	if err := os.WriteFile(img, probeSector, 0o600); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "-nodefaults", "-display", "none", "-machine", "pc",
		"-accel", accel, "-m", "16", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-drive", "file="+escapeOpt(img)+",format=raw,if=ide", "-boot", "c")
	cmd.SysProcAttr = procAttr()
	cmd.Cancel = func() error { return killTree(cmd.Process) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return fmt.Errorf("no result within %s (%w)", probeTimeout, ctx.Err())
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == probeExitCode {
		return nil
	}
	return fmt.Errorf("%s -accel %s: exit %v: %s", binary, accel, err, strings.TrimSpace(string(out)))
}
