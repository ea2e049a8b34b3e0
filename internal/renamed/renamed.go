// Package renamed refuses the option names the plugin renamed before its
// first release, with a message that names the replacement. A renamed
// option stays in its struct as an undocumented field (a *string for a
// value, so that a number, a string or a bool all decode, or the old block's
// struct), which keeps its name in the HCL2 spec: Packer then hands the
// value to Prepare instead of refusing the template with "Unsupported
// argument", which would not name the new option.
package renamed

import "fmt"

// Option is one renamed option as the configuration decoded it.
type Option struct {
	// Old is the removed name, with its block path (`vm.cpus`).
	Old string
	// Set reports whether the configuration sets Old.
	Set bool
	// New is what to write instead: a name (`vm.CPUs`) or an assignment
	// (`firmware = "efi-secure"`).
	New string
	// From names where the new name comes from (`vsphere-iso`), "" for none.
	From string
	// Hint says more where the shape changed too ("" for none).
	Hint string
}

// Refuse returns one error for each option the configuration still sets.
func Refuse(opts ...Option) []error {
	var errs []error
	for _, o := range opts {
		if o.Set {
			errs = append(errs, o.Error())
		}
	}
	return errs
}

// Error is the refusal of o: what to write instead, and why.
func (o Option) Error() error {
	msg := fmt.Sprintf("%s was renamed to %s", o.Old, o.New)
	if o.From != "" {
		msg += fmt.Sprintf(" (the name %s uses)", o.From)
	}
	if o.Hint != "" {
		msg += ": " + o.Hint
	}
	return fmt.Errorf("%s", msg)
}

// IsSet reports whether a removed value option was set: Packer leaves it nil
// when the template does not name it.
func IsSet(v *string) bool { return v != nil }
