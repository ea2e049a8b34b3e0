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
	"time"
)

// builder holds one image build's inputs and its temporary folder.
type builder struct {
	dir  string // temporary build folder, renamed into the cache at the end
	spec Spec
	root string // the cached debootstrapped tree (read only)
	logf func(string, ...any)

	rootUUID string // ext4 UUID, chosen up front so fstab and grub.cfg can name it
	espID    string // FAT volume id (XXXX-XXXX)
	kernel   string
}

// build makes the login key, then the disk.
func (b *builder) build(ctx context.Context) (info, error) {
	b.rootUUID = newUUID()
	id := randomHex(4)
	b.espID = strings.ToUpper(id[:4] + "-" + id[4:])
	if err := b.generateKey(ctx); err != nil {
		return info{}, fmt.Errorf("generating the login key: %w", err)
	}
	if err := b.writeDisk(ctx); err != nil {
		return info{}, err
	}
	return info{
		User: b.spec.User, Kernel: b.kernel, RootUUID: b.rootUUID,
		SizeBytes: int64(b.spec.SizeMiB) << 20, Built: time.Now().UTC().Format(time.RFC3339),
	}, nil
}

// step runs one named step and logs how long it took.
func (b *builder) step(ctx context.Context, name string, f func(context.Context) error) error {
	start := time.Now()
	if err := f(ctx); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	b.logf("bootimage: %s: %s", name, time.Since(start).Round(time.Millisecond))
	return nil
}

func (b *builder) generateKey(ctx context.Context) error {
	_, err := run(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ovakit-bootimage",
		"-f", filepath.Join(b.dir, keyName))
	return err
}

// debootstrap installs spec's packages into root, keeping the downloaded
// packages in debCache for the next build.
func debootstrap(ctx context.Context, root string, spec Spec, mirror, debCache string) error {
	if err := os.MkdirAll(debCache, 0o755); err != nil {
		return err
	}
	_, err := run(ctx, "debootstrap", "--variant=minbase", "--cache-dir="+debCache,
		"--include="+strings.Join(spec.Packages, ","), spec.Suite, root, mirror)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return &DebootstrapError{fmt.Errorf("debootstrap %s from %s: %w", spec.Suite, mirror, err)}
	}
	return nil
}

// DebootstrapError is a failed debootstrap: most often the mirror is out of
// reach, which makes the image unavailable rather than broken.
type DebootstrapError struct{ Err error }

func (e *DebootstrapError) Error() string { return e.Err.Error() }
func (e *DebootstrapError) Unwrap() error { return e.Err }

// run runs a host program and returns its output; the error carries the
// command line and the end of its output.
func run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	// Own process group, killed whole on cancel: debootstrap's dpkg and
	// maintainer scripts must not go on writing into a folder being removed.
	cmd.SysProcAttr = procAttr()
	cmd.Cancel = func() error { return killGroup(cmd) }
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

// chroot runs a program inside target (the mounted root file system).
func chroot(ctx context.Context, target string, args ...string) ([]byte, error) {
	return run(ctx, "chroot", append([]string{target}, args...)...)
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
