//go:generate packer-sdc mapstructure-to-hcl2 -type Config,NetworkMapping,ExportConfig
//go:generate packer-sdc struct-markdown

package vsphereova

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/common"
	"github.com/hashicorp/packer-plugin-sdk/communicator"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
)

// Config is the builder's configuration. Option names follow the vSphere
// plugin's `vsphere-clone` builder so a template can switch with few edits.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`
	Comm                communicator.Config `mapstructure:",squash"`

	// The vCenter Server or standalone ESXi host to connect to: a host name or
	// IP address, optionally with a port (`vc.example.com`, `10.0.0.5:8443`),
	// or a full `https://host/sdk` URL.
	VCenterServer string `mapstructure:"vcenter_server" required:"true"`
	// The user name for the vSphere API.
	Username string `mapstructure:"username" required:"true"`
	// The password for the vSphere API. It is never written to logs.
	Password string `mapstructure:"password" required:"true"`
	// Skip the verification of the server's TLS certificate. Defaults to `false`.
	InsecureConnection bool `mapstructure:"insecure_connection"`
	// The datacenter to build in. Optional when the inventory has exactly one
	// datacenter (always the case for a standalone ESXi host).
	Datacenter string `mapstructure:"datacenter"`

	// The name of the temporary (or kept) virtual machine. Defaults to
	// `packer-<build name>-<unix time>`.
	VMName string `mapstructure:"vm_name"`
	// The VM folder to create the virtual machine in (vCenter only). Defaults
	// to the datacenter's root VM folder.
	Folder string `mapstructure:"folder"`
	// The cluster to place the virtual machine in (vCenter only).
	Cluster string `mapstructure:"cluster"`
	// The ESXi host to place the virtual machine on. With `cluster`, picks that
	// host in the cluster.
	Host string `mapstructure:"host"`
	// The resource pool to place the virtual machine in. Defaults to the root
	// resource pool of the cluster or host.
	ResourcePool string `mapstructure:"resource_pool"`
	// The datastore for the virtual machine's files and disks. Optional when
	// the host or cluster sees exactly one datastore.
	Datastore string `mapstructure:"datastore"`

	// The OVA or OVF to build from: a local `.ova` or `.ovf` path, or an
	// `http://` / `https://` URL of an `.ova`. A local OVA is streamed into
	// vSphere straight from the tar archive, without an extracted copy; a URL
	// is downloaded once into a temporary file that is removed at the end.
	SourcePath string `mapstructure:"source_path" required:"true"`
	// Checksum of the file at `source_path`, checked before anything is
	// created: `<algorithm>:<hex>` (`sha256`, `sha512`, `sha1`, `md5`), or
	// `file:<path>` to a `sha256sum`-style file that lists the source's base
	// name. Leave empty to skip (the OVA's own manifest is still verified).
	SourceChecksum string `mapstructure:"source_checksum"`
	// Maps each OVF network name to a vSphere network (`network_mapping {
	// name = "VM Network", network = "dvpg-build" }`). A name the OVF does not
	// declare, or a network that does not exist, is an error before anything
	// is created.
	NetworkMapping []NetworkMapping `mapstructure:"network_mapping"`
	// The OVF deployment option (configuration) to import, for OVFs that offer
	// several.
	DeploymentOption string `mapstructure:"deployment_option"`
	// OVF properties (`ovf:key` = value) set at import time.
	Properties map[string]string `mapstructure:"properties"`
	// Disk provisioning at import: `thin`, `thick`, `eagerZeroedThick`,
	// `flat`, `monolithicSparse`, `monolithicFlat`, `twoGbMaxExtentSparse`,
	// `twoGbMaxExtentFlat`, `seSparse` or `sparse`. Defaults to the server's
	// choice.
	DiskProvisioning string `mapstructure:"disk_provisioning"`

	// Number of virtual CPUs. 0 keeps the OVF's value.
	CPUs int32 `mapstructure:"CPUs"`
	// Number of cores per CPU socket. 0 keeps the OVF's value.
	CpuCores int32 `mapstructure:"cpu_cores"`
	// Memory in MiB. 0 keeps the OVF's value.
	RAM int64 `mapstructure:"RAM"`
	// New size in MiB of the first disk (as in `vsphere-clone`). Disks only
	// grow: a size smaller than the disk is an error. 0 keeps the size.
	DiskSize int64 `mapstructure:"disk_size"`
	// New sizes in MiB per disk, in the order of the VM's disks; 0 keeps a
	// disk's size. Overrides `disk_size` for the first disk when both are set.
	DiskSizes []int64 `mapstructure:"disk_sizes"`
	// Extra configuration parameters (VMX options) applied before first boot,
	// such as `guestinfo.*` keys read by cloud-init or VMware Tools.
	ConfigParams map[string]string `mapstructure:"configuration_parameters"`

	// How long to wait for VMware Tools to report an IP address. Defaults to
	// `30m`.
	WaitTimeout time.Duration `mapstructure:"ip_wait_timeout"`
	// How long the reported IP address must stay the same before it is used.
	// Defaults to `5s`.
	SettleTimeout time.Duration `mapstructure:"ip_settle_timeout"`
	// Only use an IP address inside this CIDR (`10.0.0.0/8`). Defaults to the
	// first IPv4 address, or any address when the VM has no IPv4 one.
	WaitAddress *string `mapstructure:"ip_wait_address"`

	// Command run over the communicator to shut the guest down. When empty
	// (and always with `communicator = "none"`), the guest is shut down through
	// VMware Tools.
	Command string `mapstructure:"shutdown_command"`
	// How long to wait for the VM to power off after the shutdown request.
	// Defaults to `5m`.
	Timeout time.Duration `mapstructure:"shutdown_timeout"`
	// Do not shut the VM down; wait (up to `shutdown_timeout`) for the guest to
	// power itself off, for example at the end of a provisioner.
	DisableShutdown bool `mapstructure:"disable_shutdown"`

	// Keep the virtual machine after the build (it is destroyed by default).
	KeepVM bool `mapstructure:"keep_vm"`
	// Convert the virtual machine to a template after the build (vCenter only);
	// implies keeping it.
	ConvertToTemplate bool `mapstructure:"convert_to_template"`

	// Export the built VM as an OVF with its disks. When the block is absent
	// nothing is exported.
	Export *ExportConfig `mapstructure:"export"`

	ctx interpolate.Context
	// waitNet is the parsed ip_wait_address.
	waitNet *net.IPNet
}

// NetworkMapping maps one network of the OVF to a vSphere network.
type NetworkMapping struct {
	// The network name as the OVF declares it (`<Network ovf:name=...>`).
	Name string `mapstructure:"name" required:"true"`
	// The vSphere network (port group, distributed port group or opaque
	// network) name or inventory path.
	Network string `mapstructure:"network" required:"true"`
}

// ExportConfig is the `export {}` block.
type ExportConfig struct {
	// Name of the exported OVF, without extension. Defaults to `vm_name`.
	Name string `mapstructure:"name"`
	// Overwrite files in an existing `output_directory`. Defaults to `false`.
	Force bool `mapstructure:"force"`
	// Also export ISO/floppy images attached to the VM. Defaults to `false`.
	Images bool `mapstructure:"images"`
	// Also export the VM's NVRAM file (UEFI variables), when vSphere offers it
	// in the export lease. Defaults to `false`.
	NVRAM bool `mapstructure:"nvram"`
	// Manifest algorithm: `none`, `sha1`, `sha256` or `sha512`. Defaults to
	// `sha256`. The digests are computed while the files download.
	Manifest string `mapstructure:"manifest"`
	// Folder the OVF, manifest and disks are written to. Defaults to
	// `output-<build name>`.
	OutputDir string `mapstructure:"output_directory"`
	// Advanced export flags passed to the OVF manager (for example `nodevicesubtypes`).
	Options []string `mapstructure:"options"`
}

var checksumRE = regexp.MustCompile(`^(?i)(md5|sha1|sha256|sha512):([0-9a-f]+)$`)

var provisioningTypes = []string{"thin", "thick", "eagerZeroedThick", "flat", "monolithicSparse",
	"monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat", "seSparse", "sparse"}

// Prepare decodes and validates the raw configuration.
func (c *Config) Prepare(raws ...interface{}) ([]string, error) {
	err := config.Decode(c, &config.DecodeOpts{
		PluginType:         BuilderId,
		Interpolate:        true,
		InterpolateContext: &c.ctx,
		InterpolateFilter:  &interpolate.RenderFilter{Exclude: []string{"shutdown_command"}},
	}, raws...)
	if err != nil {
		return nil, err
	}
	// Set early so that no later log line or error can show it.
	if c.Password != "" {
		packersdk.LogSecretFilter.Set(c.Password)
	}

	var errs *packersdk.MultiError
	add := func(format string, a ...any) { errs = packersdk.MultiErrorAppend(errs, fmt.Errorf(format, a...)) }

	if c.VCenterServer == "" {
		add("vcenter_server is required: set it to the vCenter or ESXi host name, e.g. vcenter_server = \"vc.example.com\"")
	} else if _, err := serverURL(c.VCenterServer); err != nil {
		add("vcenter_server %q: %v", c.VCenterServer, err)
	}
	if c.Username == "" {
		add("username is required")
	}
	if c.Password == "" {
		add("password is required")
	}
	if c.VMName == "" {
		c.VMName = fmt.Sprintf("packer-%s-%d", c.PackerBuildName, time.Now().Unix())
	}

	if c.SourcePath == "" {
		add("source_path is required: a local .ova/.ovf file or an http(s) URL of an .ova")
	} else if !isURL(c.SourcePath) {
		ext := strings.ToLower(filepath.Ext(c.SourcePath))
		if ext != ".ova" && ext != ".ovf" {
			add("source_path %q: expected a file ending in .ova or .ovf", c.SourcePath)
		} else if st, err := os.Stat(c.SourcePath); err != nil {
			add("source_path: %v", err)
		} else if st.IsDir() {
			add("source_path %q is a folder: point it at the .ovf file inside", c.SourcePath)
		}
	} else if u, err := url.Parse(c.SourcePath); err != nil || u.Host == "" {
		add("source_path %q is not a valid URL", c.SourcePath)
	}
	if c.SourceChecksum != "" && !checksumRE.MatchString(c.SourceChecksum) && !strings.HasPrefix(c.SourceChecksum, "file:") {
		add("source_checksum %q: expected <algorithm>:<hex> (md5, sha1, sha256, sha512) or file:<path of a checksum file>", c.SourceChecksum)
	}
	seen := map[string]bool{}
	for i, m := range c.NetworkMapping {
		if m.Name == "" || m.Network == "" {
			add("network_mapping[%d]: both name (the OVF network) and network (the vSphere network) are required", i)
		}
		if seen[m.Name] {
			add("network_mapping[%d]: OVF network %q is mapped twice", i, m.Name)
		}
		seen[m.Name] = true
	}
	if c.DiskProvisioning != "" && !contains(provisioningTypes, c.DiskProvisioning) {
		add("disk_provisioning %q: expected one of %s", c.DiskProvisioning, strings.Join(provisioningTypes, ", "))
	}
	if c.CPUs < 0 || c.CpuCores < 0 || c.RAM < 0 || c.DiskSize < 0 {
		add("CPUs, cpu_cores, RAM and disk_size must not be negative")
	}
	for i, s := range c.DiskSizes {
		if s < 0 {
			add("disk_sizes[%d] = %d: must not be negative", i, s)
		}
	}
	if c.DiskSize > 0 {
		if len(c.DiskSizes) == 0 {
			c.DiskSizes = []int64{c.DiskSize}
		} else if c.DiskSizes[0] == 0 {
			c.DiskSizes[0] = c.DiskSize
		}
	}

	if c.WaitTimeout == 0 {
		c.WaitTimeout = 30 * time.Minute
	}
	if c.SettleTimeout == 0 {
		c.SettleTimeout = 5 * time.Second
	}
	if c.WaitAddress != nil && *c.WaitAddress != "" {
		_, n, err := net.ParseCIDR(*c.WaitAddress)
		if err != nil {
			add("ip_wait_address %q: expected a CIDR such as 10.0.0.0/8: %v", *c.WaitAddress, err)
		}
		c.waitNet = n
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Minute
	}

	if c.Export != nil {
		e := c.Export
		if e.Name == "" {
			e.Name = c.VMName
		}
		if e.Manifest == "" {
			e.Manifest = "sha256"
		}
		if !contains([]string{"none", "sha1", "sha256", "sha512"}, e.Manifest) {
			add("export.manifest %q: expected none, sha1, sha256 or sha512", e.Manifest)
		}
		if e.OutputDir == "" {
			e.OutputDir = "output-" + c.PackerBuildName
		}
		if st, err := os.Stat(e.OutputDir); err == nil && !c.PackerForce && !e.Force {
			if !st.IsDir() {
				add("export.output_directory %q exists and is not a folder", e.OutputDir)
			} else if ents, _ := os.ReadDir(e.OutputDir); len(ents) > 0 {
				add("export.output_directory %q exists and is not empty: remove it, or set export.force = true (or run packer build -force)", e.OutputDir)
			}
		}
		if strings.ContainsAny(e.Name, `/\`) {
			add("export.name %q must be a file name, not a path", e.Name)
		}
	}

	if c.Comm.Type == "" {
		c.Comm.Type = "ssh"
	}
	if es := c.Comm.Prepare(&c.ctx); len(es) > 0 {
		errs = packersdk.MultiErrorAppend(errs, es...)
	}

	if errs != nil && len(errs.Errors) > 0 {
		return nil, errs
	}
	return nil, nil
}

// serverURL turns vcenter_server into the SDK endpoint URL (without credentials).
func serverURL(s string) (*url.URL, error) {
	raw := s
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Host == "" {
		return nil, fmt.Errorf("no host name")
	}
	if u.User != nil {
		return nil, fmt.Errorf("put the user name and password in username and password, not in the URL")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/sdk"
	}
	return u, nil
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
