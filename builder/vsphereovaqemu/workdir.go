package vsphereovaqemu

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/qemu"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ovasource"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"
)

// Each build has one working folder, made by stepDecodeDisks in
// working_directory (default: beside output_directory) and locked while
// the build lives (atomicfile.TempDir): the working disks, the OVF
// environment CD (ovfEnvSubdir) and QEMU's own files (qemuSubdir). Not in
// TMPDIR: that is a RAM-backed tmpfs on Debian 13 and Fedora, and the
// disks are as large as the appliance's data.
const (
	workDirPrefix = "packer-vsphere-ova-qemu-"
	ovfEnvSubdir  = "ovf-env"
	qemuSubdir    = "qemu"
	// ovfEnvDirPrefix named the OVF environment's own TMPDIR folder before
	// it moved into the working folder; stale ones are still removed.
	ovfEnvDirPrefix = "packer-ovf-env-"
)

// workParent is the folder the build's working folder is made in.
func workParent(c *QEMUConfig, outputDir string) string {
	if c.WorkingDirectory != "" {
		return c.WorkingDirectory
	}
	return filepath.Dir(filepath.Clean(outputDir))
}

// removeStaleWork removes the working folders of builds that were killed
// before they could clean up (kill -9, the OOM killer), and says so: in
// parent, and in TMPDIR, where earlier versions worked.
func removeStaleWork(ui packersdk.Ui, parent string) {
	dirs := []string{parent}
	if tmp := os.TempDir(); !sameDir(tmp, parent) {
		dirs = append(dirs, tmp)
	}
	for _, dir := range dirs {
		gone, err := atomicfile.RemoveStale(dir, workDirPrefix, ovfEnvDirPrefix, qemu.WorkDirPrefix)
		for _, r := range gone {
			ui.Say(fmt.Sprintf("Removed %s, left by an interrupted build", r))
		}
		if err != nil {
			ui.Error(fmt.Sprintf("Warning: %v", err))
		}
	}
}

func sameDir(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// freeSpace is the space available to this process on path's file system
// (ok false where the platform cannot say); a variable so that tests fake
// a full disk.
var freeSpace = diskFree

// diskNeed is the space the working copies of the disks take when decoded:
// each disk's ovf:populatedSize, or, where the OVF does not declare it,
// its compressed VMDK's size (a lower bound: the data only grows when
// inflated). Growing a disk (disk_size) costs nothing: the new part is a
// hole.
func diskNeed(m *ovfMachine, src *ovasource.Source) int64 {
	var need int64
	for _, d := range m.Disks {
		if d.PopulatedBytes > 0 {
			need += d.PopulatedBytes
			continue
		}
		if n, err := src.Stat(d.Href); err == nil {
			need += n
		}
	}
	return need
}

// checkSpace fails before anything is decoded when parent's file system
// has less room than need; where says which option chose parent.
func checkSpace(parent, where string, need int64) error {
	free, ok, err := freeSpace(parent)
	if err != nil || !ok {
		log.Printf("free space in %s unknown (%v): not checked", parent, err)
		return nil
	}
	if need <= free {
		return nil
	}
	return fmt.Errorf("the working disks need at least %s (the disks' data) in %s (%s), but its file system has only %s free: "+
		"free some space there, or set working_directory to a folder on a file system with room", progress.Size(need), parent, where, progress.Size(free))
}

// makeWorkDir makes the build's working folder in parent and its
// subfolders.
func makeWorkDir(parent string) (string, error) {
	dir, err := atomicfile.TempDir(parent, workDirPrefix)
	if err != nil {
		return "", fmt.Errorf("creating the build's working folder: %w (set working_directory to a writable folder)", err)
	}
	for _, sub := range []string{ovfEnvSubdir, qemuSubdir} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			return "", errors.Join(err, atomicfile.RemoveTemp(dir))
		}
	}
	return dir, nil
}
