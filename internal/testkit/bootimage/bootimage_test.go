package bootimage

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/sshtest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// TestImage builds (or loads) the real image and checks its shape: the GPT
// layout GRUB and the firmware need, a parseable login key, nothing left
// attached or mounted, and a cache hit on the second call.
func TestImage(t *testing.T) {
	img := Get(t)
	if _, err := ssh.ParsePrivateKey(img.PrivateKey); err != nil {
		t.Fatalf("private key: %v", err)
	}
	if img.User != "ovakit" || img.Kernel == "" || img.RootUUID == "" {
		t.Fatalf("incomplete image info: %+v", img)
	}
	out, err := exec.Command("sfdisk", "--json", img.Disk).Output()
	if err != nil {
		t.Fatalf("sfdisk --json %s: %v", img.Disk, err)
	}
	var pt struct {
		PartitionTable struct {
			Label      string
			Partitions []struct {
				Start, Size int64
				Type, Name  string
			}
		}
	}
	if err := json.Unmarshal(out, &pt); err != nil {
		t.Fatal(err)
	}
	parts := pt.PartitionTable.Partitions
	if pt.PartitionTable.Label != "gpt" || len(parts) != 3 ||
		parts[0].Type != biosBootType || parts[1].Type != espType || parts[2].Type != linuxType {
		t.Fatalf("partition table: %s", out)
	}
	// Sparse: far less allocated than the virtual size.
	var st syscallStat
	if err := statBlocks(img.Disk, &st); err != nil {
		t.Fatal(err)
	}
	t.Logf("disk %s: %d MiB virtual, %d MiB allocated, kernel %s", img.Disk, img.SizeBytes>>20, st.allocated>>20, img.Kernel)
	if st.allocated > img.SizeBytes*3/4 {
		t.Errorf("disk is not sparse: %d of %d bytes allocated", st.allocated, img.SizeBytes)
	}
	if loops := loopsBacking(img.Disk); len(loops) > 0 {
		t.Errorf("loop devices still attached to the cached disk: %v", loops)
	}
	if m, _ := mountsUnder(CacheDir()); len(m) > 0 {
		t.Errorf("mounts left under the cache: %v", m)
	}
	if stale, _ := filepath.Glob(filepath.Join(CacheDir(), buildPrefix+"*")); len(stale) > 0 {
		t.Errorf("build folders left in the cache: %v", stale)
	}

	start := time.Now()
	again, built, err := Ensure(context.Background(), CacheDir(), DefaultSpec(), "unused-mirror", t.Logf)
	if err != nil || built || again.Disk != img.Disk {
		t.Fatalf("second Ensure: built=%v err=%v disk=%v", built, err, again)
	}
	t.Logf("cache hit in %s", time.Since(start))
}

func TestSpecKeyCoversInputs(t *testing.T) {
	base := DefaultSpec()
	changes := map[string]func(*Spec){
		"suite":    func(s *Spec) { s.Suite = "trixie" },
		"packages": func(s *Spec) { s.Packages = append(append([]string{}, s.Packages...), "vim") },
		"size":     func(s *Spec) { s.SizeMiB++ },
		"user":     func(s *Spec) { s.User = "other" },
		"hostname": func(s *Spec) { s.Hostname = "other" },
	}
	for name, change := range changes {
		s := base
		change(&s)
		if s.Key() == base.Key() {
			t.Errorf("changing the %s does not change the cache key", name)
		}
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	if got := unescapeMountinfo(`/tmp/a\040b\011c`); got != "/tmp/a b\tc" {
		t.Fatalf("got %q", got)
	}
	if got := unescapeMountinfo(`/plain`); got != "/plain" {
		t.Fatalf("got %q", got)
	}
}

// TestLoadRejectsTruncatedDisk: a cache folder whose disk does not have the
// recorded size (a copy cut short) is not an image.
func TestLoadRejectsTruncatedDisk(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, infoName), []byte(`{"size_bytes": 4096}`), 0o644)
	os.WriteFile(filepath.Join(dir, keyName), []byte("key"), 0o600)
	os.WriteFile(filepath.Join(dir, diskName), make([]byte, 512), 0o644)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "size 512") {
		t.Fatalf("Load of a short disk: %v", err)
	}
	os.WriteFile(filepath.Join(dir, diskName), make([]byte, 4096), 0o644)
	if _, err := Load(dir); err != nil {
		t.Fatalf("Load: %v", err)
	}
}

func mirrorOrSkip(t *testing.T) string {
	t.Helper()
	m, err := sshtest.DebianMirror()
	if err != nil {
		testenv.Unavailable(t, "%v", err)
	}
	return m
}

type syscallStat struct{ allocated int64 }
