package ovfvm_test

import (
	"fmt"
	"os"

	"github.com/ovakit/packer-plugin-vsphere-ova/disk"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovfvm"
)

// The post-processor's flow for an artifact without an OVF. convert stands
// for the disk conversion (the vmdk package's streamOptimized writer),
// which returns the VMDK's size, capacity and populated bytes.
func Example() {
	var vm ovfvm.Config // decoded from the vm { ... } block
	if errs := vm.Prepare(); len(errs) > 0 {
		fmt.Println(errs) // Configure returns them
		return
	}
	files := []string{"output/packer-web", "output/efivars.fd"} // artifact.Files()
	in, err := ovfvm.Classify(files)
	if err != nil {
		fmt.Println(err)
		return
	}
	if in.Kind == ovfvm.KindOVF {
		return // pack in.OVFs as before
	}
	plan, err := vm.Resolve(in)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range plan.Notes {
		fmt.Println(n) // ui.Say
	}
	var disks []ovfvm.Disk
	for i, d := range plan.Disks {
		href := ovfvm.DiskHref(plan.VM.Name, i)
		size, capacity, populated := convert(d, href)
		disks = append(disks, ovfvm.Disk{Href: href, Size: size, Capacity: capacity, PopulatedSize: populated})
	}
	descriptor, err := ovfvm.Generate(&plan.VM, disks)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(plan.VM.Summary())
	_ = os.WriteFile(plan.VM.Name+".ovf", descriptor, 0o644) // then ovftarget.Customize per target, and pack
}

func convert(d disk.Info, href string) (size, capacity, populated int64) {
	return 0, d.Capacity, 0
}
