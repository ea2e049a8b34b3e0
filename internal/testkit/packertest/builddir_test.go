package packertest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Folders of ended processes (and old ones without a PID) go; this
// process's folder and other names stay.
func TestSweepBuildDirs(t *testing.T) {
	dir := t.TempDir()
	mine := fmt.Sprintf("%s%d-123", buildDirPrefix, os.Getpid())
	ended := buildDirPrefix + "999999999-1" // above Linux's pid_max
	old := buildDirPrefix + "4567890"       // MkdirTemp's random suffix, no PID
	other := "ovakit-other-1"
	for _, n := range []string{mine, ended, old, other} {
		if err := os.Mkdir(filepath.Join(dir, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sweepBuildDirs(dir)
	for n, want := range map[string]bool{mine: true, ended: false, old: false, other: true} {
		_, err := os.Stat(filepath.Join(dir, n))
		if got := err == nil; got != want {
			t.Errorf("%s: exists %v, want %v", n, got, want)
		}
	}
}
