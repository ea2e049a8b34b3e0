//go:build linux || darwin || freebsd

package vsphereovaqemu

import "golang.org/x/sys/unix"

// diskFree is the space an unprivileged user may still take on path's
// file system (f_bavail, without the root reserve).
func diskFree(path string) (int64, bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, false, err
	}
	return int64(uint64(st.Bavail) * uint64(st.Bsize)), true, nil
}
