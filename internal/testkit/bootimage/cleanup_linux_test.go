package bootimage

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

func requireDiskTools(t *testing.T) {
	t.Helper()
	testenv.Require(t, testenv.Root, "uses loop devices and mounts")
	for _, p := range []string{"sfdisk", "losetup", "mkfs.ext4", "mkfs.vfat", "cp"} {
		testenv.LookPath(t, p)
	}
}

// assertReleased: no loop device on any file below dir, nothing mounted
// below it.
func assertReleased(t *testing.T, dir string) {
	t.Helper()
	devs, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
	for _, p := range devs {
		data, _ := os.ReadFile(p)
		if strings.HasPrefix(strings.TrimSpace(string(data)), dir+"/") {
			t.Errorf("loop device %s still backed by %s", filepath.Base(filepath.Dir(filepath.Dir(p))), strings.TrimSpace(string(data)))
		}
	}
	if m, err := mountsUnder(dir); err != nil || len(m) > 0 {
		t.Errorf("still mounted under %s: %v (%v)", dir, m, err)
	}
}

// TestWriteDiskReleasesOnFailure: a disk step failing after the loop device
// is attached and the root is mounted (here: the staging root is missing,
// so the copy fails) leaves neither attached nor mounted.
func TestWriteDiskReleasesOnFailure(t *testing.T) {
	requireDiskTools(t)
	dir := t.TempDir()
	b := &builder{dir: dir, spec: Spec{SizeMiB: 128}, root: filepath.Join(dir, "missing-root"), logf: t.Logf, rootUUID: newUUID(), espID: "ABCD-1234"}
	err := b.writeDisk(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cp -a") {
		t.Fatalf("writeDisk without a staging root: %v", err)
	}
	assertReleased(t, dir)
}

// TestRemoveStaleBuilds: a build killed while its disk was attached and
// mounted (with a nested mount, like debootstrap's /proc) is cleared by the
// next build: unmounted, detached, deleted.
func TestRemoveStaleBuilds(t *testing.T) {
	requireDiskTools(t)
	cache := t.TempDir()
	stale := filepath.Join(cache, buildPrefix+"killed")
	mnt := filepath.Join(stale, "mnt")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(stale, diskName)
	if err := os.WriteFile(disk, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(disk, 64<<20); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", disk).Output()
	if err != nil {
		t.Fatal(err)
	}
	loop := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("losetup", "-d", loop).Run() }) // if the code under test fails
	if out, err := exec.Command("mkfs.ext4", "-q", loop).CombinedOutput(); err != nil {
		t.Fatalf("mkfs: %v: %s", err, out)
	}
	if err := syscall.Mount(loop, mnt, "ext4", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	nested := filepath.Join(mnt, "proc")
	os.MkdirAll(nested, 0o755)
	if err := syscall.Mount("ovakit-test", nested, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Unmount(nested, syscall.MNT_DETACH) })
	if m, _ := mountsUnder(stale); len(m) != 2 || m[0] != nested {
		t.Fatalf("mountsUnder = %v, want [%s %s] (deepest first)", m, nested, mnt)
	}

	if err := removeStaleBuilds(cache, t.Logf); err != nil {
		t.Fatal(err)
	}
	assertReleased(t, cache)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale build folder still there: %v", err)
	}
}

// TestEnsureCancelledDuringDebootstrap: cancelling a real build while
// debootstrap runs its second stage (with /proc mounted in the staging root)
// kills it, leaves no mount, no build folder and no image.
func TestEnsureCancelledDuringDebootstrap(t *testing.T) {
	requireDiskTools(t)
	testenv.LookPath(t, "debootstrap")
	mirror := mirrorOrSkip(t)
	cache := t.TempDir()
	// Reuse the packages already downloaded for the real image (hard links,
	// same file system when possible), so this test does not download them.
	if _, err := os.Stat(filepath.Join(CacheDir(), "debs-"+DefaultSpec().Suite)); err == nil {
		exec.Command("cp", "-al", filepath.Join(CacheDir(), "debs-"+DefaultSpec().Suite), cache+"/").Run()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, _, err := Ensure(ctx, cache, DefaultSpec(), mirror, t.Logf)
		errc <- err
	}()
	deadline := time.After(20 * time.Minute)
	for {
		if m, _ := mountsUnder(cache); len(m) > 0 {
			t.Logf("cancelling with %v mounted", m)
			break
		}
		select {
		case err := <-errc:
			t.Fatalf("Ensure ended before debootstrap mounted anything: %v", err)
		case <-deadline:
			t.Fatal("debootstrap never reached its second stage")
		case <-time.After(200 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Ensure after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("Ensure did not return 2 minutes after cancel")
	}
	assertReleased(t, cache)
	left, _ := filepath.Glob(filepath.Join(cache, "bootimage-*"))
	builds, _ := filepath.Glob(filepath.Join(cache, buildPrefix+"*"))
	if len(left)+len(builds) > 0 {
		t.Errorf("left in the cache: %v %v", left, builds)
	}
}

// TestRunCancelKillsGroup: cancelling a step kills the program and every
// process it started (debootstrap's dpkg and maintainer scripts), not just
// the first.
func TestRunCancelKillsGroup(t *testing.T) {
	testenv.Require(t, testenv.RealProgram, "runs programs")
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			if _, err := os.Stat(pidFile); err == nil {
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	_, err := run(ctx, "sh", "-c", "sleep 300 & echo $! > "+pidFile+"; wait")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run after cancel: %v", err)
	}
	data, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if pid == 0 {
		t.Fatalf("child pid file: %q", data)
	}
	for i := 0; i < 50; i++ {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the child (pid %d) of a cancelled step is still running", pid)
}
