// Package testenv finds the real programs that tests drive (qemu-img, sshd,
// containerd, ...) and decides what happens when one is missing: a skip on a
// developer's machine, a failure under `make test` and CI, where a skipped
// end-to-end test would hide a broken install step.
//
// Under `go test -short` (`make unit`) every test that asks this package for a
// real program, for root, or for an unavailable resource is skipped, whether or
// not the program is there: `make unit` needs no root, no network and no
// installed programs, and takes under a minute.
package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Strict reports whether a missing program fails the test instead of skipping
// it. `make test` sets OVAKIT_STRICT=1; CI services set CI=true, which means
// strict unless OVAKIT_STRICT says otherwise: an explicit OVAKIT_STRICT=0
// (`make unit`) wins, so a unit run in CI skips what it cannot run.
func Strict() bool {
	if v, ok := os.LookupEnv("OVAKIT_STRICT"); ok && v != "" {
		return v != "0" && v != "false"
	}
	return os.Getenv("CI") == "true"
}

// Tier is what a test needs beyond the Go toolchain. Every test that needs
// more than Unit declares its tier with Require, once, at its top: that is
// the one way a test is gated (internal/testkit/repocheck fails on a bare
// testing.Short()).
type Tier int

const (
	// Unit tests need nothing but Go and run everywhere, also under -short.
	Unit Tier = iota
	// Large tests are pure Go but write big files or burn minutes of CPU.
	Large
	// Simulator tests run govmomi's vCenter simulator in the test process.
	Simulator
	// RealProgram tests drive an installed program (qemu-img, sshd, ...);
	// LookPath declares this tier itself.
	RealProgram
	// Packer tests run a real `packer build` with the plugin installed.
	Packer
	// Root tests need root: loop devices, mounts, containerd, chroots.
	Root
)

var tierNames = [...]string{"unit", "large", "simulator", "real program", "Packer", "root"}

func (t Tier) String() string {
	if t < 0 || int(t) >= len(tierNames) {
		return fmt.Sprintf("Tier(%d)", int(t))
	}
	return tierNames[t]
}

// Allows reports whether tests of tier run here (not under -short, unless
// tier is Unit), for a test that does more when it may, such as fuzz seeds
// from real writers or a last check with a real program; Require is for a
// test that needs the tier.
func Allows(tier Tier) bool { return tier == Unit || !testing.Short() }

// Require gates a test on its tier. Under `go test -short` (make unit) every
// tier above Unit skips, whatever is installed: testing.Short wins over
// strict mode, as `make unit` must not fail for a missing tool. Root then
// also needs euid 0, or the test skips (fails in strict mode).
func Require(t testing.TB, tier Tier, why string) {
	t.Helper()
	if tier == Unit {
		return
	}
	if testing.Short() {
		t.Skipf("skipped under -short (make unit): %s tier: %s; run `make test` for it", tier, why)
	}
	if tier == Root && os.Geteuid() != 0 {
		Unavailable(t, "must run as root: %s", why)
	}
}

// Unavailable skips the test, or fails it in strict mode, with the reason.
// Under -short it always skips.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if testing.Short() {
		t.Skipf("skipped under -short (make unit): "+format, args...)
	}
	if Strict() {
		t.Fatalf("required for this test (strict mode): "+format, args...)
	}
	t.Skipf("skipped (set OVAKIT_STRICT=1 to fail instead): "+format, args...)
}

// LookPath returns the path of a program on PATH (or in /usr/sbin and /sbin,
// which are not on every user's PATH), or skips/fails the test when absent.
// Under -short it skips even when the program is there: a test that drives a
// real program belongs to `make test`, not `make unit`.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	Require(t, RealProgram, "drives "+name)
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	Unavailable(t, "program %q not found (run `make test-deps` or .ci/run to install it)", name)
	return ""
}

// RepoRoot returns the module root (the folder holding go.mod), found by
// walking up from the test's working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "main.go")); err == nil {
				return dir
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("module root (go.mod + main.go) not found above the test's folder")
		}
		dir = parent
	}
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers, such as a child
// process's stdout and stderr copied by two goroutines.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
