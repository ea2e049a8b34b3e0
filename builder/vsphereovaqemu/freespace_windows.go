package vsphereovaqemu

import "golang.org/x/sys/windows"

// diskFree is the space available to this user on path's volume.
func diskFree(path string) (int64, bool, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, false, err
	}
	var avail, total, free uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &free); err != nil {
		return 0, false, err
	}
	return int64(avail), true, nil
}
