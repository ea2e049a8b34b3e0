// Package version holds the plugin's version, reported by `describe` and used by
// `packer plugins install --path` to name the installed binary.
package version

import "github.com/hashicorp/packer-plugin-sdk/version"

var (
	// Version is the main version number that is being run at the moment.
	Version = "0.2.0"

	// VersionPrerelease is a pre-release marker for the Version. Empty means a
	// release, which lets `packer init` accept an installed copy offline.
	// Override at link time with -ldflags "-X .../version.VersionPrerelease=dev".
	VersionPrerelease = ""

	// VersionMetadata is metadata further describing the build type.
	VersionMetadata = ""

	// PluginVersion is used by the plugin set to allow Packer to recognize
	// what version this plugin is.
	PluginVersion = version.NewPluginVersion(Version, VersionPrerelease, VersionMetadata)
)
