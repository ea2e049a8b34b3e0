//go:build !linux

package ova

import "os"

func preallocate(*os.File, int64) {}
func adviseSequential(*os.File)   {}
