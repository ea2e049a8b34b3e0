// Command govc is the part of govmomi's govc that bench/export.sh compares
// the builder's export with: `govc export.ovf` (and `import.ova` to place the
// VM), built from govmomi's own cli packages at the version go.mod pins, so
// the baseline is the tool teams script today, not a re-implementation.
// The library post-processor's test reads a published item back with its
// `library.info`.
package main

import (
	"os"

	"github.com/vmware/govmomi/cli"
	_ "github.com/vmware/govmomi/cli/export"
	_ "github.com/vmware/govmomi/cli/importx"
	_ "github.com/vmware/govmomi/cli/library"
	_ "github.com/vmware/govmomi/cli/vm"
)

func main() {
	os.Exit(cli.Run(os.Args[1:]))
}
