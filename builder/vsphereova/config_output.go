//go:generate packer-sdc struct-markdown

package vsphereova

// OutputConfig is what the build leaves behind: an `export {}` of the VM
// (step_export.go), the VM itself, or a template (step_template.go). By
// default the VM is destroyed at the end (step_import.go's cleanup).
type OutputConfig struct {
	// Keep the virtual machine after the build (it is destroyed by default).
	KeepVM bool `mapstructure:"keep_vm"`
	// Convert the virtual machine to a template after the build (vCenter only);
	// implies keeping it.
	ConvertToTemplate bool `mapstructure:"convert_to_template"`
	// Export the built VM as an OVF with its disks. When the block is absent
	// nothing is exported.
	Export *ExportConfig `mapstructure:"export"`
}

// Prepare checks the export block, when there is one.
func (c *OutputConfig) Prepare() []error {
	if c.Export == nil {
		return nil
	}
	return c.Export.Prepare()
}

// keepsVM reports whether the VM outlives a successful build.
func (c *OutputConfig) keepsVM() bool { return c.KeepVM || c.ConvertToTemplate }
