//go:generate packer-sdc struct-markdown

package vsphereova

import (
	"errors"
	"fmt"
	"strings"
)

// LocationConfig is where in the inventory the VM is created
// (placement.go, used by step_import.go). Every name is looked up before
// anything is created; a name that does not exist is an error listing those
// that do.
type LocationConfig struct {
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
}

// Prepare checks the section. vm_name has its default (from the build name)
// by now.
func (c *LocationConfig) Prepare() []error {
	var errs []error
	if c.VMName == "" {
		errs = append(errs, errors.New("vm_name is required"))
	} else if strings.ContainsAny(c.VMName, "/\\") {
		errs = append(errs, fmt.Errorf("vm_name %q: a VM name cannot contain / or \\ (use folder to choose the VM folder)", c.VMName))
	}
	return errs
}
