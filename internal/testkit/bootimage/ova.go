package bootimage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/sshtest"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovfvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

// Default returns the default image (DefaultSpec), building it when it is
// not cached, for programs (bench/qemubase, `make demo-qemu`); tests use
// Get. Building needs root, the programs Get lists and this machine's
// Debian mirror; a cached image needs none of them.
func Default(ctx context.Context, logf func(string, ...any)) (*Image, error) {
	spec := DefaultSpec()
	if img, err := Load(filepath.Join(CacheDir(), dirName(spec))); err == nil {
		return img, nil
	}
	mirror, err := sshtest.DebianMirror()
	if err != nil {
		return nil, fmt.Errorf("no cached boot image, and none can be built: %w", err)
	}
	img, _, err := Ensure(ctx, CacheDir(), spec, mirror, logf)
	return img, err
}

// OVAVersion changes when BaseOVA makes a different OVA from the same
// image, so a cached one is not reused.
const OVAVersion = 1

// BaseOVA is the image as the appliance the vsphere-ova-qemu builder's
// tests, `make bench` (bench/qemu.sh) and `make demo-qemu` build from: the
// disk converted with our VMDK writer, described by an OVF shaped like a
// vSphere export (ovfvm.Generate: 1 vCPU, 1024 MiB, pvscsi, vmxnet3, BIOS)
// and tarred by our OVA packer. Cached beside the disk (the image folder's
// name is its content key) and made once: a cached OVA is returned at
// once. The caller serializes calls within a process; an OVA is only ever
// complete under its final name (ova.Pack writes it atomically).
func (img *Image) BaseOVA(ctx context.Context) (string, error) {
	dir := filepath.Join(img.Dir, fmt.Sprintf("qemu-builder-base-v%d", OVAVersion))
	out := filepath.Join(dir, "base.ova")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(dir, "base-"+atomicfile.TempInfix)
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	href := "base-disk-1.vmdk"
	st, err := writeVMDK(ctx, img, filepath.Join(work, href))
	if err != nil {
		return "", fmt.Errorf("base OVA: converting %s: %w", img.Disk, err)
	}
	desc, err := ovfvm.Generate(&ovfvm.Config{
		Name: "base", CPUs: 1, CoresPerSocket: 1, Memory: 1024,
		OSType: "debian12_64Guest", DiskControllerType: []string{"pvscsi"},
	}, []ovfvm.Disk{{Href: href, Size: st.Size, Capacity: st.Capacity, PopulatedSize: st.PopulatedSize}})
	if err != nil {
		return "", err
	}
	ovfPath := filepath.Join(work, "base.ovf")
	if err := os.WriteFile(ovfPath, desc, 0o644); err != nil {
		return "", err
	}
	if _, err := ova.Pack(ctx, ova.Options{OVFPath: ovfPath, Output: out, ChecksumAlgorithm: "none"}); err != nil {
		return "", fmt.Errorf("base OVA: %w", err)
	}
	return out, nil
}

func writeVMDK(ctx context.Context, img *Image, path string) (vmdk.Stats, error) {
	in, err := os.Open(img.Disk)
	if err != nil {
		return vmdk.Stats{}, err
	}
	defer in.Close()
	f, err := os.Create(path)
	if err != nil {
		return vmdk.Stats{}, err
	}
	st, err := vmdk.Write(ctx, f, in, img.SizeBytes, vmdk.Options{Level: 1, HardwareVersion: 14})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return st, err
}
