package vsphereova

import (
	"os"
	"runtime/pprof"
)

// profileEnv names a file for a CPU profile of the packing. Packer runs the
// post-processor in a plugin process of its own, out of reach of `go test`
// and of Packer's flags; `make bench` sets this to see where a `packer build`
// spends its packing time (`go tool pprof -top <file>`).
const profileEnv = "OVAKIT_CPUPROFILE"

// startProfile starts the CPU profile when profileEnv is set; the returned
// func stops it. A profile that cannot be written is reported, never fatal.
func startProfile(warn func(string)) (stop func()) {
	path := os.Getenv(profileEnv)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		warn("not profiling: " + err.Error())
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		warn("not profiling: " + err.Error())
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
