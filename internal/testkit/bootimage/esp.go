package bootimage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The signed boot chain, from the host's shim-signed and
// grub-efi-amd64-signed packages: shim (signed by Microsoft's UEFI CA)
// loads GRUB (signed by Debian), which loads the kernel (signed by Debian).
// It boots under OVMF with Secure Boot on or off.
const (
	signedShim       = "/usr/lib/shim/shimx64.efi.signed"
	signedMokManager = "/usr/lib/shim/mmx64.efi.signed"
	signedGrub       = "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed"
)

// writeESP formats the EFI system partition and fills it with mtools, as
// grub-install --removable --uefi-secure-boot would: the host kernel of our
// CI has no vfat driver, so the ESP cannot be mounted, and grub-install
// refuses an efi-directory that is not a mounted FAT.
//
// EFI/BOOT/BOOTX64.EFI is the removable-media path firmware boots with empty
// NVRAM, as on a freshly deployed VM. shim's fallback (fbx64.efi) is left
// out on purpose: it would write boot entries and reset the VM on first boot.
func (b *builder) writeESP(ctx context.Context, dev string, offset int64) error {
	// -h: the FAT records the sectors before it, as on a partition device.
	if _, err := run(ctx, "mkfs.vfat", "-F", "32", "-s", "1", "-n", "EFI", "-h", strconv.FormatInt(offset/512, 10),
		"-i", strings.ReplaceAll(b.espID, "-", ""), dev); err != nil {
		return err
	}
	// The signed GRUB has /EFI/debian as its prefix and falls back to the
	// grub.cfg beside itself; both point at /boot/grub on the root.
	stub := filepath.Join(b.dir, "esp-grub.cfg")
	cfg := fmt.Sprintf("search.fs_uuid %s root\nset prefix=($root)'/boot/grub'\nconfigfile $prefix/grub.cfg\n", b.rootUUID)
	if err := os.WriteFile(stub, []byte(cfg), 0o644); err != nil {
		return err
	}
	defer os.Remove(stub)
	if _, err := run(ctx, "mmd", "-i", dev, "::/EFI", "::/EFI/BOOT", "::/EFI/debian"); err != nil {
		return err
	}
	for _, c := range []struct{ src, dst string }{
		{signedShim, "::/EFI/BOOT/BOOTX64.EFI"},
		{signedGrub, "::/EFI/BOOT/grubx64.efi"},
		{signedMokManager, "::/EFI/BOOT/mmx64.efi"},
		{stub, "::/EFI/BOOT/grub.cfg"},
		{stub, "::/EFI/debian/grub.cfg"},
	} {
		if _, err := run(ctx, "mcopy", "-i", dev, c.src, c.dst); err != nil {
			return err
		}
	}
	return nil
}
