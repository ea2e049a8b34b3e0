package bootimage

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Kernel command line: the serial console makes a boot readable in QEMU's
// serial log (and on a vSphere serial port); tty0 keeps the VGA console.
const kernelArgs = "ro console=tty0 console=ttyS0,115200n8"

// configureRoot turns the copy of the debootstrapped tree at target (the
// mounted root file system) into an appliance that boots on any of the
// tested controllers and NICs and lets the test user in.
func (b *builder) configureRoot(ctx context.Context, target string) error {
	kernels, _ := filepath.Glob(filepath.Join(target, "boot", "vmlinuz-*"))
	if len(kernels) != 1 {
		return fmt.Errorf("want one kernel in %s/boot, found %d (is linux-image-amd64 in Packages?)", target, len(kernels))
	}
	b.kernel = strings.TrimPrefix(filepath.Base(kernels[0]), "vmlinuz-")

	u := b.spec.User
	if _, err := chroot(ctx, target, "useradd", "-m", "-s", "/bin/bash", u); err != nil {
		return err
	}
	// "*" instead of useradd's "!": no password, but not a locked account,
	// which sshd would refuse even with a valid key.
	if _, err := chroot(ctx, target, "usermod", "-p", "*", u); err != nil {
		return err
	}
	pub, err := os.ReadFile(filepath.Join(b.dir, keyName+".pub"))
	if err != nil {
		return err
	}
	home := "/home/" + u
	files := []struct {
		path string
		data string
		mode os.FileMode
	}{
		{home + "/.ssh/authorized_keys", string(pub), 0o600},
		{"/etc/sudoers.d/" + u, u + " ALL=(ALL) NOPASSWD:ALL\n", 0o440},
		{"/etc/hostname", b.spec.Hostname + "\n", 0o644},
		{"/etc/hosts", "127.0.0.1 localhost\n127.0.1.1 " + b.spec.Hostname + "\n::1 localhost ip6-localhost ip6-loopback\n", 0o644},
		// DHCP on whatever the NIC is called: enp*/ens* with predictable
		// names (vmxnet3, e1000e on any PCI slot), eth* without them.
		{"/etc/systemd/network/80-ovakit-dhcp.network", "[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n", 0o644},
		{"/etc/ssh/sshd_config.d/ovakit.conf", "PasswordAuthentication no\nKbdInteractiveAuthentication no\n", 0o644},
		{"/etc/fstab", fmt.Sprintf("UUID=%s / ext4 errors=remount-ro 0 1\nUUID=%s /boot/efi vfat umask=0077,nofail 0 2\n", b.rootUUID, b.espID), 0o644},
		{"/boot/grub/grub.cfg", b.grubConfig(target), 0o644},
		// Empty: systemd makes a new machine id on the first boot of every
		// copy, as on a freshly deployed appliance.
		{"/etc/machine-id", "", 0o444},
	}
	for _, f := range files {
		if err := writeRootFile(target, f.path, f.data, f.mode); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(target, "boot", "efi"), 0o755); err != nil {
		return err
	}
	if _, err := chroot(ctx, target, "chown", "-R", u+":"+u, home+"/.ssh"); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(target, home, ".ssh"), 0o700); err != nil {
		return err
	}
	if _, err := chroot(ctx, target, "systemctl", "enable", "systemd-networkd"); err != nil {
		return err
	}
	return cleanApt(target)
}

// grubConfig boots the kernel through the /vmlinuz and /initrd.img links
// Debian keeps on the newest kernel; GRUB finds the root by UUID. One config
// serves BIOS (i386-pc) and UEFI (shim + signed GRUB) alike. GRUB itself is
// installed from the host, not into the guest: update-grub never runs, so
// the links are what keeps a kernel upgrade in the guest bootable.
func (b *builder) grubConfig(target string) string {
	kernel, initrd := "/boot/vmlinuz-"+b.kernel, "/boot/initrd.img-"+b.kernel
	if isLink(filepath.Join(target, "vmlinuz")) && isLink(filepath.Join(target, "initrd.img")) {
		kernel, initrd = "/vmlinuz", "/initrd.img"
	}
	return fmt.Sprintf(`# Written by internal/testkit/bootimage (not update-grub).
set timeout=0
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
insmod part_gpt
insmod ext2
search --no-floppy --fs-uuid --set=root %[1]s
menuentry 'Debian GNU/Linux (ovakit test appliance)' {
	linux %[2]s root=UUID=%[1]s %[3]s
	initrd %[4]s
}
`, b.rootUUID, kernel, kernelArgs, initrd)
}

// cleanApt removes downloaded packages and package lists (debootstrap
// leaves both): the image stays small and the guest runs apt-get update
// before installing, as usual.
func cleanApt(target string) error {
	for _, pattern := range []string{"var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*_*"} {
		matches, _ := filepath.Glob(filepath.Join(target, pattern))
		for _, m := range matches {
			if err := os.Remove(m); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkInitramfs fails the build when the initramfs lacks a driver the root
// disk may sit behind (Debian's MODULES=most should include them all), or
// the kernel lacks a NIC driver the tests use.
func (b *builder) checkInitramfs(ctx context.Context, target string) error {
	out, err := chroot(ctx, target, "lsinitramfs", "/boot/initrd.img-"+b.kernel)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		name := filepath.Base(line)
		if i := strings.Index(name, ".ko"); i > 0 {
			have[name[:i]] = true
		}
	}
	var missing []string
	for _, m := range []string{"vmw_pvscsi", "ahci", "nvme", "sd_mod", "ext4", "mptsas"} {
		if !have[m] {
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("initramfs of %s lacks modules %s", b.kernel, strings.Join(missing, ", "))
	}
	modDir := filepath.Join(target, "lib", "modules", b.kernel)
	for _, m := range []string{"vmxnet3", "e1000e"} {
		if !moduleExists(modDir, m) {
			return fmt.Errorf("kernel %s has no %s module under %s", b.kernel, m, modDir)
		}
	}
	return nil
}

func moduleExists(dir, name string) bool {
	found := false
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), name+".ko") {
			found = true
			return fs.SkipAll
		}
		return nil
	})
	return found
}

// writeRootFile writes a file inside root with exactly mode (no umask).
func writeRootFile(root, p, data string, mode os.FileMode) error {
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	os.Remove(full) // a read-only file (machine-id) would refuse the write
	if err := os.WriteFile(full, []byte(data), mode); err != nil {
		return err
	}
	return os.Chmod(full, mode)
}

func isLink(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.Mode()&os.ModeSymlink != 0
}
