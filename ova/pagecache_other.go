//go:build !linux

package ova

import "os"

func preallocate(*os.File, int64)           {}
func adviseSequential(*os.File)             {}
func startWriteback(*os.File, int64, int64) {}
func awaitWriteback(*os.File, int64, int64) {}
