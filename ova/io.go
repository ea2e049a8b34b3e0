package ova

import (
	"fmt"
	"os"
)

// openDisk opens a disk for one sequential read.
func openDisk(d *disk) (*os.File, error) {
	f, err := os.Open(d.path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", d.name, err)
	}
	adviseSequential(f)
	return f, nil
}
