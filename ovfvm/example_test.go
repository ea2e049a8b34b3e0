package ovfvm_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/ovfvm"
)

// The post-processor's flow for an artifact without an OVF, on the files
// Packer's qemu builder leaves (a raw disk named after the VM and OVMF's
// variables): classify them, resolve the vm {} block against them, and
// write the OVF for the converted disks. The conversion itself (the vmdk
// package's streamOptimized writer) gives each disk's VMDK size, capacity
// and populated bytes; here they are made up.
func Example() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	web := filepath.Join(dir, "packer-web")
	if err := os.WriteFile(web, nil, 0o644); err == nil {
		err = os.Truncate(web, 64<<20) // a 64 MiB raw disk (sparse)
	}
	if err := os.WriteFile(filepath.Join(dir, "efivars.fd"), make([]byte, 128<<10), 0o644); err != nil {
		fmt.Println(err)
		return
	}

	vm := ovfvm.Config{Name: "web", CPUs: 2, Memory: 2048} // decoded from the vm { ... } block
	if errs := vm.Prepare(); len(errs) > 0 {
		fmt.Println(errs) // Configure returns them
		return
	}
	in, err := ovfvm.Classify([]string{web, filepath.Join(dir, "efivars.fd")}) // artifact.Files()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("input:", in.Kind)
	for _, f := range in.Ignored {
		fmt.Printf("left out: %s: %s\n", filepath.Base(f.Path), f.Reason)
	}
	plan, err := vm.Resolve(in)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range plan.Notes {
		fmt.Println("note:", strings.ReplaceAll(n, dir+string(filepath.Separator), "")) // ui.Say
	}
	var disks []ovfvm.Disk
	for i, d := range plan.Disks {
		fmt.Printf("disk %d: %s, %s, %d MiB\n", i, filepath.Base(d.Path), d.Format, d.Capacity>>20)
		disks = append(disks, ovfvm.Disk{Href: ovfvm.DiskHref(plan.VM.Name, i), Size: 4096, Capacity: d.Capacity})
	}
	descriptor, err := ovfvm.Generate(&plan.VM, disks)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(plan.VM.Summary())
	fmt.Println("references web-disk-0.vmdk:", strings.Contains(string(descriptor), `ovf:href="web-disk-0.vmdk"`))
	// Output:
	// input: disk images
	// left out: efivars.fd: UEFI variable store
	// disk 0: packer-web, raw, 64 MiB
	// "web": 2 vCPUs (1 per socket), 2048 MiB, BIOS, otherLinux64Guest (CIM OS 101), vmx-14, pvscsi, NICs: vmxnet3 on "VM Network"
	// references web-disk-0.vmdk: true
}
