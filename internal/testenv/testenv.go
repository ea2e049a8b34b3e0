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

// SkipIfShort skips the test under `go test -short` with why it is heavy
// (real programs, Packer, root, big files). testing.Short wins over strict
// mode: `make unit` is the short run, and it must not fail for a missing tool.
func SkipIfShort(t testing.TB, why string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("skipped under -short (make unit): %s; run `make test` for it", why)
	}
}

// Unavailable skips the test, or fails it in strict mode, with the reason.
// Under -short it always skips.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	SkipIfShort(t, fmt.Sprintf(format, args...))
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
	SkipIfShort(t, "drives the real program "+name)
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

// RequireRoot skips/fails a test that needs root (containerd, chroot sshd);
// under -short it always skips.
func RequireRoot(t testing.TB) {
	t.Helper()
	SkipIfShort(t, "needs root")
	if os.Geteuid() != 0 {
		Unavailable(t, "must run as root")
	}
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
