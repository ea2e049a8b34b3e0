// Command packer-plugin-vsphere-ova is the Packer plugin that builds, provisions
// and packs VMware appliances as OVA files.
package main

import (
	"fmt"
	"os"

	"github.com/hashicorp/packer-plugin-sdk/plugin"

	"github.com/ovakit/packer-plugin-vsphere-ova/version"
)

func main() {
	pps := plugin.NewSet()
	// Components register here, one line each (plugin.DEFAULT_NAME is the bare
	// plugin name, `vsphere-ova`).
	pps.SetVersion(version.PluginVersion)
	if err := pps.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err.Error())
		os.Exit(1)
	}
}
