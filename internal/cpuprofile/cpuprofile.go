// Package cpuprofile profiles one phase of a plugin process. Packer runs each
// component in a plugin process of its own, out of reach of `go test` and of
// Packer's flags; `make bench` sets OVAKIT_CPUPROFILE to see where a
// `packer build` spends its packing or export time (`go tool pprof -top`).
package cpuprofile

import (
	"os"
	"runtime/pprof"
)

// Env names the file the CPU profile is written to.
const Env = "OVAKIT_CPUPROFILE"

// Start starts the CPU profile when Env is set; the returned func stops it.
// A profile that cannot be written is reported through warn, never fatal.
func Start(warn func(string)) (stop func()) {
	path := os.Getenv(Env)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		warn(Env + ": not profiling: " + err.Error())
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		warn(Env + ": not profiling: " + err.Error())
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
