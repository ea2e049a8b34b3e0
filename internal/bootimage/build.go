package bootimage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// builder holds one build's inputs and its temporary folder.
type builder struct {
	dir      string // temporary build folder, renamed into the cache at the end
	spec     Spec
	mirror   string
	debCache string // debootstrap --cache-dir: .debs kept across image versions
	logf     func(string, ...any)

	rootUUID string // ext4 UUID, chosen up front so fstab and grub.cfg can name it
	espID    string // FAT volume id (XXXX-XXXX)
	kernel   string
}

// build runs the steps in order: key, root tree, disk. The root tree is
// built in a plain folder first, so the loop devices and mounts live only for
// the short copy-and-install step.
func (b *builder) build(ctx context.Context) (info, error) {
	b.rootUUID = newUUID()
	id := randomHex(4)
	b.espID = strings.ToUpper(id[:4] + "-" + id[4:])
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"generate the login key", b.generateKey},
		{"debootstrap " + b.spec.Suite, b.debootstrap},
		{"configure the root", b.configureRoot},
		{"check the initramfs", b.checkInitramfs},
		{"write the disk", b.writeDisk},
	}
	for _, s := range steps {
		start := time.Now()
		if err := s.run(ctx); err != nil {
			return info{}, fmt.Errorf("%s: %w", s.name, err)
		}
		b.logf("bootimage: %s: %s", s.name, time.Since(start).Round(time.Millisecond))
	}
	if err := os.RemoveAll(b.root()); err != nil {
		return info{}, fmt.Errorf("removing the staging root: %w", err)
	}
	return info{
		User: b.spec.User, Kernel: b.kernel, RootUUID: b.rootUUID,
		SizeBytes: int64(b.spec.SizeMiB) << 20, Built: time.Now().UTC().Format(time.RFC3339),
	}, nil
}

func (b *builder) root() string { return filepath.Join(b.dir, "root") }

func (b *builder) generateKey(ctx context.Context) error {
	_, err := run(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ovakit-bootimage",
		"-f", filepath.Join(b.dir, keyName))
	return err
}

func (b *builder) debootstrap(ctx context.Context) error {
	if err := os.MkdirAll(b.debCache, 0o755); err != nil {
		return err
	}
	_, err := run(ctx, "debootstrap", "--variant=minbase", "--cache-dir="+b.debCache,
		"--include="+strings.Join(b.spec.Packages, ","), b.spec.Suite, b.root(), b.mirror)
	if err != nil {
		return fmt.Errorf("from %s: %w", b.mirror, err)
	}
	return nil
}

// run runs a host program and returns its output; the error carries the
// command line and the end of its output.
func run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	// Own process group, killed whole on cancel: debootstrap's dpkg and
	// maintainer scripts must not go on writing into a folder being removed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return out, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(out, 3000))
	}
	return out, nil
}

// chroot runs a program inside the staging root.
func (b *builder) chroot(ctx context.Context, args ...string) ([]byte, error) {
	return run(ctx, "chroot", append([]string{b.root()}, args...)...)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
