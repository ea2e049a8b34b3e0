package vmdk_test

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

// A raw disk written as a streamOptimized VMDK, as an OVA carries it, then
// read back front to back, as an importer reads it out of the tar stream.
// All-zero grains are not stored: of the 4 MiB disk with 64 KiB of data,
// one 64 KiB grain is kept.
func Example() {
	raw := make([]byte, 4<<20)
	copy(raw[1<<20:], bytes.Repeat([]byte("appliance "), 6553))

	var out bytes.Buffer
	st, err := vmdk.Write(context.Background(), &out, bytes.NewReader(raw), int64(len(raw)), vmdk.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("capacity %d, %d grain(s) stored, %d bytes populated\n", st.Capacity, st.AllocatedGrains, st.PopulatedSize)

	sr, err := vmdk.NewStreamReader(&out)
	if err != nil {
		fmt.Println(err)
		return
	}
	back, err := io.ReadAll(sr)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("create type:", sr.Descriptor().CreateType)
	fmt.Println("read back identical:", bytes.Equal(back, raw))
	// Output:
	// capacity 4194304, 1 grain(s) stored, 65536 bytes populated
	// create type: streamOptimized
	// read back identical: true
}
