// Package bootimage builds, for tests, a real bootable Debian disk: a raw,
// sparse, GPT-partitioned image with GRUB for BIOS (SeaBIOS) and for UEFI
// (OVMF, through the signed shim so Secure Boot works too), a stock
// linux-image-amd64 kernel, systemd as PID 1, openssh-server, sudo and a user
// who logs in with a generated ed25519 key. QEMU boots it with the device
// models vSphere uses (pvscsi, AHCI, NVMe; vmxnet3, e1000e).
//
// Building takes minutes (debootstrap: half an hour on a loaded CI host), so
// the result is cached in CacheDir()/bootimage-<suite>-<key>, where key
// hashes every input (Spec and the script versions), and the debootstrapped
// tree separately in CacheDir()/bootimage-root-<suite>-<key>. Each is built
// in a temporary folder beside it and renamed into place, under a file lock:
// an interrupted build is never taken for a cached one, and the next build
// removes what it left (mounts, loop devices, files). Later runs reuse the
// image in milliseconds.
//
// The cached disk is read-only by convention: boot copies or qcow2 overlays
// (qemu-img create -b), never the file itself.
package bootimage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/sshtest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// ScriptVersion and RootScriptVersion are part of the cache keys: bump
// ScriptVersion whenever the disk steps change what ends up on the disk,
// RootScriptVersion when the debootstrap step changes, so no stale image or
// root is reused.
const (
	ScriptVersion     = 2
	RootScriptVersion = 1
)

// Spec is everything that decides the image's content (all of it is hashed
// into the cache key).
type Spec struct {
	// Suite is the Debian release, the one the test guests of sshtest use
	// (the host's release on the CI machines).
	Suite string
	// Packages are installed by debootstrap --variant=minbase --include.
	Packages []string
	// SizeMiB is the virtual disk size; the raw file is sparse.
	SizeMiB int
	// User logs in by key and has password-less sudo.
	User string
	// Hostname of the guest.
	Hostname string
}

// DefaultSpec is the base appliance the tests boot.
func DefaultSpec() Spec {
	return Spec{
		Suite: sshtest.Suite,
		// dbus and libpam-systemd give systemd-logind, which turns the
		// ACPI power button (QMP system_powerdown) into a clean poweroff.
		// e2fsprogs lets systemd-fsck check the root at boot.
		Packages: []string{
			"linux-image-amd64", "initramfs-tools", "systemd", "systemd-sysv", "udev",
			"dbus", "libpam-systemd", "openssh-server", "sudo", "iproute2", "e2fsprogs",
		},
		SizeMiB:  2048,
		User:     "ovakit",
		Hostname: "ovakit-base",
	}
}

// Key identifies the image built from s by this version of the build steps.
func (s Spec) Key() string {
	return hash(fmt.Sprintf("v%d|%s|%d|%s|%s", ScriptVersion, s.rootKey(), s.SizeMiB, s.User, s.Hostname))
}

// rootKey identifies the debootstrapped tree, the slow part, cached on its
// own: a change to the disk steps or the user does not redo it.
func (s Spec) rootKey() string {
	return hash(fmt.Sprintf("v%d|%s|%s", RootScriptVersion, s.Suite, strings.Join(s.Packages, ",")))
}

func hash(in string) string {
	sum := sha256.Sum256([]byte(in))
	return hex.EncodeToString(sum[:])[:12]
}

// Image is a built disk and how to log in to it.
type Image struct {
	// Dir is the cache folder holding the files below.
	Dir string
	// Disk is the raw disk image (sparse). Do not boot it directly: use an
	// overlay or a copy, the cache is shared by every test.
	Disk string
	// SizeBytes is the virtual size of Disk.
	SizeBytes int64
	// User logs in with PrivateKeyPath and may sudo without a password.
	User string
	// PrivateKeyPath is an OpenSSH ed25519 private key (mode 0600) whose
	// public half is in User's authorized_keys; PrivateKey is its content.
	PrivateKeyPath string
	PrivateKey     []byte
	// Kernel is the version of the installed kernel, e.g. 6.1.0-35-amd64.
	Kernel string
	// RootUUID is the root file system's UUID (on partition 3).
	RootUUID string
}

// Names of the files in a cached image folder.
const (
	diskName = "disk.raw"
	keyName  = "id_ed25519"
	infoName = "image.json"
)

// CacheDir is $OVAKIT_CACHE or /var/cache/ovakit, shared with sshtest.
func CacheDir() string { return sshtest.CacheDir() }

var getOnce struct {
	sync.Mutex
	img *Image
}

// Get returns the default image, building it when it is not cached. It needs
// root and the host programs the build runs; without them it skips the test
// (fails under OVAKIT_STRICT=1). Heavy: skipped under go test -short.
func Get(t testing.TB) *Image {
	t.Helper()
	testenv.Require(t, testenv.Root, "builds a bootable disk with debootstrap and loop devices")
	getOnce.Lock()
	defer getOnce.Unlock()
	if getOnce.img != nil {
		return getOnce.img
	}
	spec := DefaultSpec()
	if img, err := Load(filepath.Join(CacheDir(), dirName(spec))); err == nil {
		getOnce.img = img
		return img
	}
	for _, p := range requiredPrograms {
		testenv.LookPath(t, p)
	}
	for _, f := range requiredFiles {
		if _, err := os.Stat(f.path); err != nil {
			testenv.Unavailable(t, "bootimage: %s missing (apt-get install %s)", f.path, f.pkg)
		}
	}
	mirror, err := sshtest.DebianMirror()
	if err != nil {
		testenv.Unavailable(t, "bootimage: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	start := time.Now()
	img, built, err := Ensure(ctx, CacheDir(), spec, mirror, t.Logf)
	var dbErr *DebootstrapError
	if errors.As(err, &dbErr) {
		testenv.Unavailable(t, "bootimage: %v", err) // as sshtest does: no mirror, no image
	}
	if err != nil {
		t.Fatalf("bootimage: %v", err)
	}
	if built {
		t.Logf("bootimage: built %s in %s", img.Dir, time.Since(start).Round(time.Second))
	}
	getOnce.img = img
	return img
}

// requiredPrograms and requiredFiles are what a build runs on the host.
var requiredPrograms = []string{
	"debootstrap", "chroot", "sfdisk", "losetup", "mkfs.ext4", "mkfs.vfat",
	"mmd", "mcopy", "grub-install", "ssh-keygen", "cp", "fstrim",
}

var requiredFiles = []struct{ path, pkg string }{
	{"/usr/lib/grub/i386-pc/boot.img", "grub-pc-bin"},
	{signedGrub, "grub-efi-amd64-signed"},
	{signedShim, "shim-signed"},
	{signedMokManager, "shim-signed"},
}

func dirName(s Spec) string { return "bootimage-" + s.Suite + "-" + s.Key() }
