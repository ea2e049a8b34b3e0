//go:generate packer-sdc mapstructure-to-hcl2 -type Config
//go:generate packer-sdc struct-markdown

package vsphereova

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
	"github.com/mitchellh/mapstructure"

	"github.com/ovakit/packer-plugin-vsphere-ova/ovftarget"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovfvm"
)

// Config is the `vsphere-ova` post-processor's configuration. Every option
// is optional: with none, the artifact's single `.ovf` is packed into
// `<ovf folder>/<ovf base name>.ova` with a SHA-256 manifest and a `.sha256`
// checksum file.
//
// With `target`, one OVA is written per import target; the import targets
// and descriptor options (`target`, `product`, `property`, `signing`, ...)
// are listed under "Import targets and descriptor options" below.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`
	// The OVF customization and import targets.
	ovftarget.Customization `mapstructure:",squash"`

	// Path of the OVA to write. A template: `{{.BuildName}}`,
	// `{{.BuilderType}}` and `{{.Target}}` (the import target this OVA is
	// for) are available, as are the upstream build's generated data.
	// Relative paths are relative to the folder Packer runs in. Defaults to
	// `<ovf folder>/<ovf base name>.ova`, next to the exported `.ovf`; for an
	// artifact of disks (see `vm`), to `<first disk's folder>/<vm name>.ova`;
	// for an `.ova` input (see `ovf`), to `<ova base name>-<target>.ova` beside
	// it for every target, so the input is never overwritten.
	// The checksum file is written beside it as `<output>.sha256` (or
	// `.sha512`).
	//
	// With several `target`s, one OVA is written per target. The first
	// target's OVA gets the path above; every other target's gets
	// `-<target>` added before the `.ova` extension (`app.ova`,
	// `app-workstation.ova`, `app-virtualbox.ova`), unless `output` uses
	// `{{.Target}}`, in which case each target's OVA is written where its
	// rendering says. Two targets that render to the same path are a
	// configuration error.
	OutputPath string `mapstructure:"output"`
	// Which `.ovf` of the input artifact to pack, by file name (`vm.ovf`) or
	// path. Only needed when the artifact contains more than one `.ovf`.
	//
	// An artifact without an `.ovf` but with an `.ova` (an `artifice` file,
	// another build's OVA, this post-processor's own) is re-targeted: its
	// descriptor gets the same targets and options as an export's, its
	// members are read in place (no extracted copy) and checked against its
	// manifest while they are read, and without `output` each target's OVA
	// is written as `<ova folder>/<ova base name>-<target>.ova`. With
	// several `.ova` files, name the one to use here (`app.ova`).
	OVF string `mapstructure:"ovf"`
	// Digest algorithm of the `.mf` manifest inside the OVA: `sha256`
	// (default), `sha512` or `sha1`. Use `sha1` only for old importers that
	// require it (OVF 1.0 era, ESXi 5.x).
	ManifestAlgorithm string `mapstructure:"manifest_algorithm"`
	// Digest algorithm of the checksum file written beside the OVA
	// (`<output>.sha256` or `<output>.sha512`, in `sha256sum -c` format):
	// `sha256` (default), `sha512`, or `none` to write no checksum file.
	ChecksumAlgorithm string `mapstructure:"checksum_algorithm"`
	// Overwrite an existing OVA (and its checksum file). Packer's
	// `packer build -force` has the same effect. Without either, an existing
	// output is an error and the file is left untouched.
	Force bool `mapstructure:"force"`
	// Make the OVA byte-for-byte reproducible: every member's modification
	// time is set to `$SOURCE_DATE_EPOCH` when that is set, else to 0
	// (1970-01-01). Setting `SOURCE_DATE_EPOCH` in the environment has the
	// same effect even without this option. Default false: members keep the
	// files' own modification times.
	Reproducible bool `mapstructure:"reproducible"`
	// The virtual machine to describe when the input artifact has disks but
	// no `.ovf`: Packer's `qemu` builder (raw or qcow2), `vmware-iso` (a
	// `.vmx` and its VMDKs), or disk images given to `file` or `artifice`.
	// The post-processor then converts each disk to a streamOptimized VMDK
	// and writes the OVF itself; see "Disk artifacts". Ignored, with a
	// warning, when the artifact has an `.ovf`.
	VM ovfvm.Config `mapstructure:"vm"`
	// Deploy-time configurations (sizes) of the OVA, one
	// `deployment_option` block each; see "Deployment options".
	DeploymentOptions []DeploymentOption `mapstructure:"deployment_option"`

	ctx interpolate.Context
}

var (
	manifestAlgorithms = []string{"sha256", "sha512", "sha1"}
	checksumAlgorithms = []string{"sha256", "sha512", "none"}
)

// Prepare decodes and validates raw configuration (see PostProcessor.Configure).
func (c *Config) Prepare(raws ...interface{}) error {
	err := config.Decode(c, &config.DecodeOpts{
		PluginType:         "vsphere-ova",
		Interpolate:        true,
		InterpolateContext: &c.ctx,
		InterpolateFilter: &interpolate.RenderFilter{
			// Rendered in PostProcess, when the build's data is known.
			Exclude: []string{"output"},
		},
		DecodeHooks: append(append([]mapstructure.DecodeHookFunc(nil), config.DefaultDecodeHookFuncs...), exactVMKeys),
	}, raws...)
	if err != nil {
		return fmt.Errorf("vsphere-ova post-processor: %w", err)
	}
	var errs *packersdk.MultiError
	c.ManifestAlgorithm, err = enum("manifest_algorithm", c.ManifestAlgorithm, manifestAlgorithms)
	if err != nil {
		errs = packersdk.MultiErrorAppend(errs, err)
	}
	c.ChecksumAlgorithm, err = enum("checksum_algorithm", c.ChecksumAlgorithm, checksumAlgorithms)
	if err != nil {
		errs = packersdk.MultiErrorAppend(errs, err)
	}
	if c.OutputPath != "" {
		if err := interpolate.Validate(c.OutputPath, &c.ctx); err != nil {
			errs = packersdk.MultiErrorAppend(errs, fmt.Errorf(
				"output %q is not a valid template: %w (use e.g. \"output/{{.BuildName}}.ova\")", c.OutputPath, err))
		}
	}
	for _, err := range c.Customization.Prepare() {
		errs = packersdk.MultiErrorAppend(errs, err)
	}
	for _, err := range c.VM.Prepare() {
		errs = packersdk.MultiErrorAppend(errs, err)
	}
	for _, err := range prepareDeploymentOptions(c.DeploymentOptions) {
		errs = packersdk.MultiErrorAppend(errs, err)
	}
	if strings.ContainsAny(c.OVF, "*?[") {
		errs = packersdk.MultiErrorAppend(errs, fmt.Errorf(
			"ovf %q: give the .ovf's file name or path, not a pattern", c.OVF))
	}
	if errs != nil && len(errs.Errors) > 0 {
		return errs
	}
	return nil
}

// exactVMKeys makes the vm block's keys match its options exactly. The
// renamed `cpus` and its successor `CPUs` differ only in case, and
// mapstructure falls back to a case-insensitive match for an option whose
// key is missing: `CPUs` alone would also set `cpus` (and be refused as
// renamed), `cpus` alone would also set `CPUs`. Giving every option a key
// (nil: left unset) turns the fallback off, as Packer's HCL2 decoding does
// by sending every attribute of the spec.
func exactVMKeys(from, to reflect.Type, data interface{}) (interface{}, error) {
	m, ok := data.(map[string]interface{})
	if !ok || to != reflect.TypeOf(ovfvm.Config{}) {
		return data, nil
	}
	out := make(map[string]interface{}, to.NumField())
	for i := 0; i < to.NumField(); i++ {
		if name, _, _ := strings.Cut(to.Field(i).Tag.Get("mapstructure"), ","); name != "" {
			out[name] = nil
		}
	}
	for k, v := range m {
		out[k] = v
	}
	return out, nil
}

// enum normalises v (case-insensitive, "" means the first allowed value) and
// rejects values outside allowed with the list of valid ones.
func enum(key, v string, allowed []string) (string, error) {
	if v == "" {
		return allowed[0], nil
	}
	l := strings.ToLower(strings.TrimSpace(v))
	for _, a := range allowed {
		if l == a {
			return a, nil
		}
	}
	return v, fmt.Errorf("%s = %q is not supported: use one of %s (default %q)",
		key, v, strings.Join(quoteAll(allowed), ", "), allowed[0])
}

func quoteAll(s []string) []string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return q
}
