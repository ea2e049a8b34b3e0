package ovf_test

import (
	"fmt"
	"io"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// A manifest as other tools write it (spaces around the parentheses and the
// equals sign), read, written back in ovftool's form, and used to check a
// member while it is read: the damaged copy fails at its end, naming the
// member and both digests.
func ExampleParseManifest() {
	mf, err := ovf.ParseManifest([]byte(
		"SHA256 (app.ovf) = 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(mf.Bytes()))

	e, _ := mf.Lookup("app.ovf")
	for _, content := range []string{"hello", "hellO"} {
		r, err := ovf.VerifyReader(io.NopCloser(strings.NewReader(content)), e, "app.mf")
		if err != nil {
			fmt.Println(err)
			return
		}
		_, err = io.ReadAll(r)
		fmt.Printf("%q: %v\n", content, err)
	}
	// Output:
	// SHA256(app.ovf)= 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
	// "hello": <nil>
	// "hellO": app.ovf does not match app.mf: SHA256 expected 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824, actual 04a6f55face2f46be8c23f627d539827615851e10751b63ec59db6d2c706b770; the file is damaged or was modified
}
