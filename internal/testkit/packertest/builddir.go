package packertest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// buildDirPrefix starts the name of a plugin build folder; the test
// process's PID follows it.
const buildDirPrefix = "ovakit-plugin-"

// sweepBuildDirs removes the plugin build folders under dir whose test
// process has ended. A folder whose name carries no PID (made before PIDs
// were added) is removed too; one whose process runs is kept.
func sweepBuildDirs(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, buildDirPrefix) {
			continue
		}
		pidStr, _, _ := strings.Cut(strings.TrimPrefix(name, buildDirPrefix), "-")
		if pid, err := strconv.Atoi(pidStr); err == nil && processRuns(pid) {
			continue
		}
		_ = os.RemoveAll(filepath.Join(dir, name))
	}
}

// processRuns says whether a process with this PID exists.
func processRuns(pid int) bool { return testenv.ProcessRuns(pid) }
