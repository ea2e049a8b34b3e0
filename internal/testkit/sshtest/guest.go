// guest.go builds and caches the Debian guest root chroot mode copies: its
// package set, where it is cached, and the apt mirror debootstrap uses.

package sshtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// Suite and Packages define the cached guest; changing them changes the
// cache key, so an old cache is never reused for a different package set.
const (
	Suite    = "bookworm"
	Packages = "systemd,sudo,openssh-server,ca-certificates"
)

// CacheDir is where the pristine guest root is cached: $OVAKIT_CACHE or
// /var/cache/ovakit.
func CacheDir() string {
	if d := os.Getenv("OVAKIT_CACHE"); d != "" {
		return d
	}
	return "/var/cache/ovakit"
}

var guestOnce struct {
	sync.Mutex
	path string
}

// Guest returns the pristine cached guest root, running debootstrap (about
// 1.5 minutes with a nearby mirror) when it is not cached yet. A file lock
// serialises concurrent test binaries; the root is built in a temp folder and
// renamed, so an interrupted build is never mistaken for a cached one.
func Guest(t testing.TB) string {
	t.Helper()
	guestOnce.Lock()
	defer guestOnce.Unlock()
	if guestOnce.path != "" {
		return guestOnce.path
	}
	sum := sha256.Sum256([]byte(Suite + "|minbase|" + Packages))
	cache := CacheDir()
	final := filepath.Join(cache, "debian-"+Suite+"-"+hex.EncodeToString(sum[:])[:12])
	if _, err := os.Stat(filepath.Join(final, "etc", "debian_version")); err == nil {
		guestOnce.path = final
		return final
	}
	debootstrap := testenv.LookPath(t, "debootstrap")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatalf("sshtest: create cache %s: %v", cache, err)
	}
	lock, err := os.OpenFile(filepath.Join(cache, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	unlock, err := testenv.LockFile(lock)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(final, "etc", "debian_version")); err == nil {
		guestOnce.path = final
		return final
	}
	mirror, err := DebianMirror()
	if err != nil {
		testenv.Unavailable(t, "sshtest: %v", err)
	}
	tmp, err := os.MkdirTemp(cache, ".build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, debootstrap, "--variant=minbase", "--include="+Packages, Suite, filepath.Join(tmp, "root"), mirror).CombinedOutput()
	if err != nil {
		testenv.Unavailable(t, "sshtest: debootstrap %s from %s failed: %v\n%s", Suite, mirror, err, tail(out, 3000))
	}
	if err := os.RemoveAll(final); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(tmp, "root"), final); err != nil {
		t.Fatal(err)
	}
	t.Logf("sshtest: debootstrap of %s took %s (cached in %s)", Suite, time.Since(start).Round(time.Second), final)
	guestOnce.path = final
	return final
}

// DebianMirror returns the Debian archive URI this machine's apt uses (never a
// built-in host name), from /etc/apt/sources.list.d/*.sources (deb822) or
// *.list and /etc/apt/sources.list.
func DebianMirror() (string, error) {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, stanza := range strings.Split(string(data), "\n\n") {
			var uris, suites []string
			for _, line := range strings.Split(stanza, "\n") {
				if k, v, ok := strings.Cut(line, ":"); ok {
					switch strings.TrimSpace(k) {
					case "URIs":
						uris = strings.Fields(v)
					case "Suites":
						suites = strings.Fields(v)
					}
				}
			}
			for _, su := range suites {
				if su == Suite && len(uris) > 0 {
					return uris[0], nil
				}
			}
		}
	}
	lists, _ := filepath.Glob("/etc/apt/sources.list.d/*.list")
	for _, f := range append([]string{"/etc/apt/sources.list"}, lists...) {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			fields := strings.Fields(line)
			if len(fields) >= 3 && fields[0] == "deb" {
				i := 1
				if strings.HasPrefix(fields[1], "[") {
					for i < len(fields) && !strings.HasSuffix(fields[i], "]") {
						i++
					}
					i++
				}
				if i+1 < len(fields) && fields[i+1] == Suite {
					return fields[i], nil
				}
			}
		}
	}
	return "", fmt.Errorf("no apt source for Debian %s found in /etc/apt; cannot debootstrap the test guest", Suite)
}
