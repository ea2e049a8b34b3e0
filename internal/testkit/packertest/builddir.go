package packertest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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

// processRuns says whether a process with this PID exists (signal 0 checks
// without signalling; EPERM means it exists but is someone else's).
func processRuns(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
