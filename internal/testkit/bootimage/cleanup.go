package bootimage

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// buildPrefix names temporary build folders in the cache folder. Under the
// build lock, any such folder is the remains of a killed build.
const buildPrefix = ".bootimage-build-"

// removeStaleBuilds clears what killed builds left: their mounts, loop
// devices and files. The caller holds the build lock, so none is running.
func removeStaleBuilds(cacheDir string, logf func(string, ...any)) error {
	stale, _ := filepath.Glob(filepath.Join(cacheDir, buildPrefix+"*"))
	for _, dir := range stale {
		logf("bootimage: removing the remains of an interrupted build: %s", dir)
		if err := removeBuildDir(dir); err != nil {
			return err
		}
	}
	return nil
}

// removeBuildDir unmounts everything under dir, detaches the loop devices
// backed by files in it, then deletes it. It refuses to delete while a mount
// remains: a bind-mounted /dev or /proc below dir must never be recursed into.
func removeBuildDir(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	var errs []error
	if err := unmountUnder(dir); err != nil {
		errs = append(errs, err)
	}
	if err := detachLoopsUnder(dir); err != nil {
		errs = append(errs, err)
	}
	left, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		errs = append(errs, fmt.Errorf("not removing %s: still mounted: %s", dir, strings.Join(left, ", ")))
		return errors.Join(errs...)
	}
	if err := os.RemoveAll(dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// unmountUnder unmounts every mount point at or below dir, deepest first,
// lazily if a plain unmount fails (a process still using it).
func unmountUnder(dir string) error {
	mounts, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range mounts {
		if err := unmountOnce(m); err != nil {
			if err2 := unmountLazy(m); err2 != nil {
				errs = append(errs, fmt.Errorf("unmounting %s: %w", m, err2))
			}
		}
	}
	return errors.Join(errs...)
}

// mountsUnder lists mount points at or below dir from /proc/self/mountinfo,
// deepest first.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, nil
}

// unescapeMountinfo decodes the octal escapes (\040 for a space) the kernel
// writes into mountinfo paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// detachLoopsUnder detaches loop devices whose backing file is below dir.
func detachLoopsUnder(dir string) error {
	devs, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
	var errs []error
	for _, p := range devs {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		backing := strings.TrimSuffix(strings.TrimSpace(string(data)), " (deleted)")
		if !strings.HasPrefix(backing, dir+"/") {
			continue
		}
		dev := "/dev/" + filepath.Base(filepath.Dir(filepath.Dir(p)))
		if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("losetup -d %s (backed by %s): %v: %s", dev, backing, err, strings.TrimSpace(string(out))))
		}
	}
	return errors.Join(errs...)
}

// loopsBacking lists the loop devices whose backing file is path.
func loopsBacking(path string) []string {
	devs, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
	var out []string
	for _, p := range devs {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if strings.TrimSuffix(strings.TrimSpace(string(data)), " (deleted)") == path {
			out = append(out, "/dev/"+filepath.Base(filepath.Dir(filepath.Dir(p))))
		}
	}
	return out
}
