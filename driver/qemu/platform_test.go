package qemu

import (
	"strings"
	"testing"
)

// The platform decisions, for every release OS whatever the host.
func TestHostAccelerator(t *testing.T) {
	for goos, want := range map[string]string{"linux": "kvm", "darwin": "hvf", "windows": "whpx", "freebsd": ""} {
		if got := HostAccelerator(goos); got != want {
			t.Errorf("HostAccelerator(%s) = %q, want %q", goos, got, want)
		}
	}
}

func TestCheckAccelerator(t *testing.T) {
	for _, tc := range []struct {
		accel, goos string
		want        []string // nil: accepted; else what the error must say
	}{
		{"auto", "linux", nil}, {"auto", "darwin", nil}, {"auto", "windows", nil}, {"auto", "freebsd", nil},
		{"tcg", "linux", nil}, {"tcg", "darwin", nil}, {"tcg", "windows", nil}, {"tcg", "freebsd", nil},
		{"kvm", "linux", nil}, {"hvf", "darwin", nil}, {"whpx", "windows", nil},
		{"kvm", "darwin", []string{`"kvm"`, "only on Linux", "not on macOS", `use "hvf"`, `"auto"`, `"tcg"`}},
		{"kvm", "windows", []string{`"kvm"`, "only on Linux", "not on Windows", `use "whpx"`}},
		{"hvf", "linux", []string{`"hvf"`, "only on macOS", "not on Linux", `use "kvm"`, "probes KVM, else TCG"}},
		{"whpx", "darwin", []string{`"whpx"`, "only on Windows", `use "hvf"`}},
		{"kvm", "freebsd", []string{"not on FreeBSD", `use "auto" (probes nothing here: TCG) or "tcg"`}},
		{"xen", "linux", []string{`"xen"`, "want auto, tcg, kvm (Linux), hvf (macOS) or whpx (Windows)"}},
		{"KVM", "linux", []string{`"KVM"`, "want auto"}},
	} {
		err := CheckAccelerator(tc.accel, tc.goos)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s on %s: %v", tc.accel, tc.goos, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s on %s accepted", tc.accel, tc.goos)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s on %s: error %q lacks %q", tc.accel, tc.goos, err, w)
			}
		}
	}
}

// Every documented value is accepted somewhere.
func TestAcceleratorsListed(t *testing.T) {
	for _, a := range Accelerators {
		ok := false
		for _, goos := range []string{"linux", "darwin", "windows"} {
			ok = ok || CheckAccelerator(a, goos) == nil
		}
		if !ok {
			t.Errorf("accelerator %q is rejected on every OS", a)
		}
	}
}

// probeHost decides without QEMU where there is nothing to probe (FreeBSD)
// and where the KVM preconditions fail (no QEMU is started either way).
func TestProbeHostWithoutProbe(t *testing.T) {
	if a, why := probeHost(t.Context(), "/nonexistent/qemu", "freebsd"); a != "tcg" || !strings.Contains(why, "no hardware accelerator on FreeBSD") {
		t.Errorf("freebsd: %s (%s)", a, why)
	}
	setProbePaths(t, "/nonexistent/kvm", "/nonexistent/cpuinfo")
	if a, why := probeHost(t.Context(), "/nonexistent/qemu", "linux"); a != "tcg" || !strings.Contains(why, "/nonexistent/kvm unusable") {
		t.Errorf("linux without /dev/kvm: %s (%s)", a, why)
	}
	// Elsewhere the probe boots the host's accelerator; a missing QEMU
	// fails that boot, so auto falls back to TCG and names the accelerator.
	if a, why := probeHost(t.Context(), "/nonexistent/qemu", "darwin"); a != "tcg" || !strings.Contains(why, "did not run under HVF") {
		t.Errorf("darwin without QEMU: %s (%s)", a, why)
	}
}

// The CPU model per accelerator: the host's CPU where the accelerator has
// it, TCG's "max" (x86-64-v2 and more; QEMU's qemu64 default is not), and a
// model set by the user everywhere.
func TestCPUModel(t *testing.T) {
	disk := diskFile(t)
	cases := []struct{ model, accel, want string }{
		{"", "kvm", "-cpu host"}, {"", "hvf", "-cpu host"}, {"", "tcg", "-cpu max"}, {"", "whpx", ""},
		{"Skylake-Server", "kvm", "-cpu Skylake-Server"}, {"qemu64,+sse4.2", "tcg", "-cpu qemu64,+sse4.2"}, {"EPYC", "whpx", "-cpu EPYC"},
	}
	for _, tc := range cases {
		c, err := Config{CPUModel: tc.model, Controllers: []Controller{{Type: PVSCSI}}, Disks: []Disk{{Path: disk}}}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		args, err := commandLine(&c, runtime{accel: tc.accel, workDir: t.TempDir(), serialLog: "s", qmpChardev: "fd=3"})
		if err != nil {
			t.Fatal(err)
		}
		line := strings.Join(args, " ")
		if n := strings.Count(line, "-cpu "); tc.want == "" && n != 0 || tc.want != "" && (n != 1 || !strings.Contains(line+" ", tc.want+" ")) {
			t.Errorf("cpu model %q under %s: want %q once in\n%s", tc.model, tc.accel, tc.want, line)
		}
	}
}
