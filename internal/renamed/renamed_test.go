package renamed

import (
	"strings"
	"testing"
)

func TestRefuse(t *testing.T) {
	v := "2"
	errs := Refuse(
		Option{Old: "vm.cpus", Set: IsSet(&v), New: "vm.CPUs", From: "vsphere-iso"},
		Option{Old: "vm.memory", Set: IsSet(nil), New: "vm.RAM", From: "vsphere-iso"},
		Option{Old: "secure_boot", Set: true, New: `firmware = "efi-secure"`, Hint: "it is EFI with Secure Boot"},
	)
	if len(errs) != 2 {
		t.Fatalf("got %d errors, want 2 (memory is not set): %v", len(errs), errs)
	}
	if got, want := errs[0].Error(), "vm.cpus was renamed to vm.CPUs (the name vsphere-iso uses)"; !strings.HasPrefix(got, want) {
		t.Errorf("got %q, want it to start with %q", got, want)
	}
	if got, want := errs[1].Error(), `secure_boot was renamed to firmware = "efi-secure": it is EFI with Secure Boot`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
