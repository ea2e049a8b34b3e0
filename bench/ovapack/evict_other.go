//go:build !linux

package main

import "errors"

// evict: the cold rounds use Linux's posix_fadvise and mincore.
func evict([]string) error {
	return errors.New("evicting files from the page cache needs Linux (posix_fadvise, mincore)")
}
