package qemu

import (
	"fmt"
	"strings"
)

// Where each hardware accelerator exists: QEMU's KVM is Linux's, HVF is
// macOS's Hypervisor.framework, WHPX is the Windows Hypervisor Platform.
// HashiCorp's qemu builder accepts the same names (it also has none, xen and
// hax, which QEMU has deprecated or this builder does not support).
var acceleratorOS = map[string]string{
	"kvm":  "linux",
	"hvf":  "darwin",
	"whpx": "windows",
}

var acceleratorName = map[string]string{
	"kvm":  "KVM",
	"hvf":  "HVF (Hypervisor.framework)",
	"whpx": "WHPX (Windows Hypervisor Platform)",
	"tcg":  "TCG (software emulation)",
}

var osName = map[string]string{
	"linux":   "Linux",
	"darwin":  "macOS",
	"windows": "Windows",
	"freebsd": "FreeBSD",
}

// Accelerators is what the accelerator option takes, in the order the
// documentation lists them.
var Accelerators = []string{"auto", "tcg", "kvm", "hvf", "whpx"}

// HostAccelerator is the hardware accelerator QEMU offers on goos, which
// "auto" probes; "" where there is none (FreeBSD: TCG only).
func HostAccelerator(goos string) string {
	for accel, os := range acceleratorOS {
		if os == goos {
			return accel
		}
	}
	return ""
}

// CheckAccelerator says why accel cannot be used on goos (nil when it can),
// and what to use instead, so a template written on another host fails
// before anything starts.
func CheckAccelerator(accel, goos string) error {
	if accel == "auto" || accel == "tcg" {
		return nil
	}
	want, ok := acceleratorOS[accel]
	if !ok {
		return fmt.Errorf("%q: want auto, tcg, kvm (Linux), hvf (macOS) or whpx (Windows)", accel)
	}
	if want == goos {
		return nil
	}
	return fmt.Errorf("%q: %s exists only on %s, not on %s; use %s", accel, acceleratorName[accel], displayOS(want), displayOS(goos), alternatives(goos))
}

// alternatives lists the accelerators that work on goos, best first.
func alternatives(goos string) string {
	var alts []string
	if h := HostAccelerator(goos); h != "" {
		alts = append(alts, fmt.Sprintf("%q (%s)", h, acceleratorName[h]))
	}
	alts = append(alts, `"auto" (probes `+autoProbe(goos)+`)`, `"tcg" (software emulation, slow)`)
	return strings.Join(alts[:len(alts)-1], ", ") + " or " + alts[len(alts)-1]
}

func autoProbe(goos string) string {
	if h := HostAccelerator(goos); h != "" {
		return strings.ToUpper(h) + ", else TCG"
	}
	return "nothing here: TCG"
}

func displayOS(goos string) string {
	if n, ok := osName[goos]; ok {
		return n
	}
	return goos
}
