// Command packer-plugin-vsphere-ova is the Packer plugin that builds, provisions
// and packs VMware appliances as OVA files.
package main

import (
	"fmt"
	"os"

	"github.com/hashicorp/packer-plugin-sdk/plugin"

	ovabuilder "github.com/ovakit/packer-plugin-vsphere-ova/builder/vsphereova"
	qemubuilder "github.com/ovakit/packer-plugin-vsphere-ova/builder/vsphereovaqemu"
	ovapp "github.com/ovakit/packer-plugin-vsphere-ova/post-processor/vsphereova"
	librarypp "github.com/ovakit/packer-plugin-vsphere-ova/post-processor/vsphereovalibrary"
	"github.com/ovakit/packer-plugin-vsphere-ova/provisioner/k3sbundle"
	"github.com/ovakit/packer-plugin-vsphere-ova/version"
)

func main() {
	pps := plugin.NewSet()
	// Components register here, one line each (plugin.DEFAULT_NAME is the bare
	// plugin name, `vsphere-ova`).
	pps.RegisterBuilder(plugin.DEFAULT_NAME, new(ovabuilder.Builder))
	pps.RegisterBuilder("qemu", new(qemubuilder.Builder)) // HCL: vsphere-ova-qemu
	pps.RegisterPostProcessor(plugin.DEFAULT_NAME, new(ovapp.PostProcessor))
	pps.RegisterPostProcessor("library", new(librarypp.PostProcessor)) // HCL: vsphere-ova-library
	pps.RegisterProvisioner("k3s-bundle", new(k3sbundle.Provisioner))
	pps.SetVersion(version.PluginVersion)
	if err := pps.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err.Error())
		os.Exit(1)
	}
}
