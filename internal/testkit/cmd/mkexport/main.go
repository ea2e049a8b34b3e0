// Command mkexport writes a sample folder shaped like a vSphere `export {}`
// (<name>.ovf, <name>-disk-N.vmdk, optional <name>.mf) for `make demo` and
// benchmarks. It stands in for a real vCenter export; see internal/testkit/fixture.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/fixture"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args, writes the export and prints the .ovf path; it returns
// the exit code (2 for usage errors).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o fixture.ExportOptions
	fs := flag.NewFlagSet("mkexport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "folder to write the export into (required)")
	fs.StringVar(&o.Name, "name", "demo-vm", "VM name and file base name")
	fs.IntVar(&o.Disks, "disks", 1, "number of disks")
	fs.IntVar(&o.DiskMiB, "disk-mib", 64, "virtual size of each disk in MiB")
	fs.IntVar(&o.DataMiB, "data-mib", 8, "MiB of seeded random data written into each disk")
	fs.BoolVar(&o.WithManifest, "manifest", true, "write <name>.mf with SHA256 lines, as vSphere does")
	fs.StringVar(&o.QemuImg, "qemu-img", "qemu-img", "qemu-img program")
	fs.StringVar(&o.Shape, "shape", fixture.ShapeBasic, "descriptor shape: basic (vmx-13, BIOS, LSI Logic) or vsphere8 (vmx-21, EFI + .nvram, PVSCSI, SATA CD-ROM)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: mkexport -dir DIR [-name NAME] [-disks N] [-disk-mib N] [-data-mib N] [-manifest=true|false] [-shape basic|vsphere8]")
		return 2
	}
	ovf, err := fixture.WriteExportContext(ctx, *dir, o)
	if err != nil {
		fmt.Fprintln(stderr, "mkexport:", err)
		return 1
	}
	fmt.Fprintln(stdout, ovf)
	return 0
}
