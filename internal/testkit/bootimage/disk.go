package bootimage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Partition layout (GPT). Partition 1 holds GRUB's BIOS core image (GPT has
// no gap after the MBR for it), partition 2 is the EFI system partition,
// partition 3 the root. The numbers matter: fstab and grub.cfg name UUIDs,
// but the tests and later OVF tooling may name partitions.
const (
	biosBootType = "21686148-6449-6E6F-744E-656564454649"
	espType      = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
	linuxType    = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
	espMiB       = 64
)

// writeDisk creates the sparse raw disk, partitions it, and through loop
// devices formats it, copies the root in and installs GRUB for BIOS and UEFI.
// Every mount and loop device is undone on every return path; a killed
// process leaves them to removeStaleBuilds.
func (b *builder) writeDisk(ctx context.Context) (err error) {
	disk := filepath.Join(b.dir, diskName)
	parts, err := createDisk(ctx, disk, b.spec.SizeMiB)
	if err != nil {
		return err
	}
	var undo []func() error
	defer func() {
		for i := len(undo) - 1; i >= 0; i-- {
			if uerr := undo[i](); uerr != nil {
				err = errors.Join(err, uerr)
			}
		}
	}()
	// One loop device for the whole disk (GRUB writes its MBR code and the
	// BIOS boot partition through it) and one per file system, by offset:
	// partition devices (losetup -P, kpartx) need partition table support
	// or device-mapper in the host kernel, which minimal VM kernels (like
	// our CI's) lack; offsets work on every kernel.
	attach := func(offset, size int64) (string, error) {
		args := []string{"--find", "--show"}
		if size > 0 {
			args = append(args, "--offset", strconv.FormatInt(offset, 10), "--sizelimit", strconv.FormatInt(size, 10))
		}
		out, err := run(ctx, "losetup", append(args, disk)...)
		if err != nil {
			return "", err
		}
		dev := strings.TrimSpace(string(out))
		undo = append(undo, func() error { return detachLoop(dev) })
		return dev, nil
	}
	whole, err := attach(0, 0)
	if err != nil {
		return err
	}
	espDev, err := attach(parts[1].start, parts[1].size)
	if err != nil {
		return err
	}
	rootDev, err := attach(parts[2].start, parts[2].size)
	if err != nil {
		return err
	}

	if _, err := run(ctx, "mkfs.ext4", "-q", "-U", b.rootUUID, "-L", "root", rootDev); err != nil {
		return err
	}
	mnt := filepath.Join(b.dir, "mnt")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		return err
	}
	if err := mountExt4(rootDev, mnt); err != nil {
		return fmt.Errorf("mounting %s (root) on %s: %w", rootDev, mnt, err)
	}
	undo = append(undo, func() error {
		if err := unmount(mnt); err != nil {
			return err
		}
		return os.Remove(mnt)
	})
	return b.install(ctx, mnt, whole, espDev, parts[1].start)
}

// install fills the mounted root file system at mnt and makes the disk
// bootable: GRUB's BIOS code through the whole-disk device, the ESP through
// its own.
func (b *builder) install(ctx context.Context, mnt, whole, espDev string, espOffset int64) error {
	if err := b.step(ctx, "copy the root", func(ctx context.Context) error {
		_, err := run(ctx, "cp", "-a", b.root+"/.", mnt+"/")
		return err
	}); err != nil {
		return err
	}
	if err := b.step(ctx, "configure the root", func(ctx context.Context) error { return b.configureRoot(ctx, mnt) }); err != nil {
		return err
	}
	if err := b.step(ctx, "check the initramfs", func(ctx context.Context) error { return b.checkInitramfs(ctx, mnt) }); err != nil {
		return err
	}
	// The root is on another device than the disk GRUB is installed to, so
	// grub-install makes its core image find /boot/grub by file system UUID.
	if err := b.step(ctx, "install GRUB for BIOS", func(ctx context.Context) error {
		_, err := run(ctx, "grub-install", "--target=i386-pc", "--boot-directory="+filepath.Join(mnt, "boot"),
			"--modules=part_gpt ext2 search_fs_uuid", whole)
		return err
	}); err != nil {
		return err
	}
	if err := b.step(ctx, "write the EFI system partition", func(ctx context.Context) error { return b.writeESP(ctx, espDev, espOffset) }); err != nil {
		return err
	}
	// Give the blocks of deleted files back, so the raw file stays sparse.
	if _, err := run(ctx, "fstrim", mnt); err != nil {
		b.logf("bootimage: fstrim (not fatal): %v", err)
	}
	return nil
}

// runInput runs a program with input on its stdin.
func runInput(ctx context.Context, input, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(input)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(out, 3000))
	}
	return nil
}

type partition struct{ start, size int64 } // bytes

// createDisk creates the sparse raw file and its partition table.
func createDisk(ctx context.Context, disk string, sizeMiB int) ([]partition, error) {
	f, err := os.Create(disk)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(int64(sizeMiB) << 20); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	layout := fmt.Sprintf("label: gpt\nstart=2048, size=2048, type=%s, name=\"bios\"\nsize=%dMiB, type=%s, name=\"esp\"\ntype=%s, name=\"root\"\n",
		biosBootType, espMiB, espType, linuxType)
	if err := runInput(ctx, layout, "sfdisk", "--quiet", disk); err != nil {
		return nil, err
	}
	parts, err := readPartitions(ctx, disk)
	if err != nil {
		return nil, err
	}
	if len(parts) != 3 {
		return nil, fmt.Errorf("%s: want 3 partitions after sfdisk, found %d", disk, len(parts))
	}
	return parts, nil
}

// readPartitions reads the partition table sfdisk wrote.
func readPartitions(ctx context.Context, disk string) ([]partition, error) {
	out, err := run(ctx, "sfdisk", "--json", disk)
	if err != nil {
		return nil, err
	}
	var pt struct {
		PartitionTable struct {
			SectorSize int64 `json:"sectorsize"`
			Partitions []struct {
				Start int64 `json:"start"`
				Size  int64 `json:"size"`
			} `json:"partitions"`
		} `json:"partitiontable"`
	}
	if err := json.Unmarshal(out, &pt); err != nil {
		return nil, fmt.Errorf("sfdisk --json %s: %w", disk, err)
	}
	ss := pt.PartitionTable.SectorSize
	if ss == 0 {
		ss = 512
	}
	var parts []partition
	for _, p := range pt.PartitionTable.Partitions {
		parts = append(parts, partition{start: p.Start * ss, size: p.Size * ss})
	}
	return parts, nil
}

// unmount flushes and unmounts a file system, retrying briefly while it is
// busy (udev or blkid may still hold it just after grub-install).
func unmount(dir string) error {
	var err error
	for i := 0; i < 50; i++ {
		if err = unmountOnce(dir); err == nil || errors.Is(err, syscall.EINVAL) {
			return nil // EINVAL: not mounted (any more)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("unmounting %s: %w", dir, err)
}

// detachLoop detaches a loop device, retrying while it is busy.
func detachLoop(dev string) error {
	var out []byte
	var err error
	for i := 0; i < 50; i++ {
		if out, err = exec.Command("losetup", "-d", dev).CombinedOutput(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("losetup -d %s: %v: %s", dev, err, strings.TrimSpace(string(out)))
}
