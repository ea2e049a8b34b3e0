//go:build !linux

package ova

import "os"

func preallocate(f *os.File, size int64) {}

func startWriteback(f *os.File, off, n int64) {}
