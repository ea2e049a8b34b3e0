package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/ovftest"
)

// gen writes a sample export of incompressible data (ChaCha8) with an
// ovftool-style SHA256 manifest: one disk holds all the data, or with
// -disks 2, 3/4 in disk 0 and 1/4 in disk 1. Files are fsynced so that
// evicting them later really drops them (dirty pages cannot be dropped).
func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	dir := fs.String("dir", "", "output folder")
	mib := fs.Int64("mib", 4096, "total disk MiB")
	disks := fs.Int("disks", 2, "1 or 2 disks")
	shape := fs.String("descriptor", "minimal", "minimal, or basic: internal/testkit/ovftest's real-shaped vSphere descriptor (one disk), for the target benchmark")
	fs.Parse(args)
	if *shape != "minimal" && (*shape != "basic" || *disks != 1) {
		return fmt.Errorf("-descriptor %q: use minimal, or basic with -disks 1", *shape)
	}
	if *dir == "" {
		return fmt.Errorf("-dir is required")
	}
	var sizes []int64
	switch *disks {
	case 1:
		sizes = []int64{*mib << 20}
	case 2:
		sizes = []int64{*mib * 3 / 4 << 20, (*mib - *mib*3/4) << 20}
	default:
		return fmt.Errorf("-disks %d: use 1 or 2", *disks)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{42})
	var refs, mf strings.Builder
	var lines []string
	for i, n := range sizes {
		name := fmt.Sprintf("vm-disk-%d.vmdk", i)
		h := sha256.New()
		f, err := os.Create(filepath.Join(*dir, name))
		if err != nil {
			return err
		}
		_, err = io.CopyN(io.MultiWriter(f, h), rng, n)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		lines = append(lines, fmt.Sprintf("SHA256(%s)= %s\n", name, hex.EncodeToString(h.Sum(nil))))
		fmt.Fprintf(&refs, "    <File ovf:href=\"%s\" ovf:id=\"file%d\" ovf:size=\"%d\"/>\n", name, i+1, n)
	}
	desc := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<!-- Sample export for the benchmark (random disk data, not a bootable VM). -->
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References>
%s  </References>
  <VirtualSystem ovf:id="vm"><Info>A virtual machine</Info></VirtualSystem>
</Envelope>
`, refs.String())
	if *shape == "basic" {
		// The same VM as vCenter describes it, under the benchmark's file names.
		desc = strings.NewReplacer(`ovf:href="basic-vm-disk-0.vmdk"`, `ovf:href="vm-disk-0.vmdk"`,
			`ovf:size="1234567"`, fmt.Sprintf(`ovf:size="%d"`, sizes[0])).Replace(string(ovftest.Basic()))
	}
	if err := os.WriteFile(filepath.Join(*dir, "vm.ovf"), []byte(desc), 0o644); err != nil {
		return err
	}
	s := sha256.Sum256([]byte(desc))
	fmt.Fprintf(&mf, "SHA256(vm.ovf)= %s\n", hex.EncodeToString(s[:]))
	mf.WriteString(strings.Join(lines, ""))
	return os.WriteFile(filepath.Join(*dir, "vm.mf"), []byte(mf.String()), 0o644)
}
