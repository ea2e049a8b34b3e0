//go:build !linux

package vmdk

import "os"

// fileDataRanges: only Linux's SEEK_DATA/SEEK_HOLE are used; elsewhere every
// byte is read (all-zero grains are still skipped).
func fileDataRanges(*os.File, int64) func(off int64) (int64, int64, error) { return nil }
