// Package vmhardware holds what both builders do with the virtual hardware
// options they share (CPUs, cpu_cores, RAM, disk_size, disk_sizes): the
// checks, whose messages name those options, and the size each disk gets.
// Each builder keeps its own HardwareConfig, whose docs say how its
// hypervisor applies the options.
package vmhardware

import "fmt"

// Check checks the shared options. cpus, cores, ramMiB and diskSize are 0
// when unset (keep the OVF's value).
func Check(cpus, cores, ramMiB, diskSize int64, diskSizes []int64) []error {
	var errs []error
	if cpus < 0 || cores < 0 || ramMiB < 0 || diskSize < 0 {
		errs = append(errs, fmt.Errorf("CPUs (%d), cpu_cores (%d), RAM (%d) and disk_size (%d) must not be negative", cpus, cores, ramMiB, diskSize))
	}
	// Both builders' exports run on vSphere, which needs whole sockets.
	if cpus > 0 && cores > 0 && cpus%cores != 0 {
		errs = append(errs, fmt.Errorf("CPUs = %d is not a multiple of cpu_cores = %d: vSphere needs whole sockets", cpus, cores))
	}
	for i, s := range diskSizes {
		if s < 0 {
			errs = append(errs, fmt.Errorf("disk_sizes[%d] = %d: must not be negative", i, s))
		}
	}
	return errs
}

// DiskSizes is the wanted size in MiB per disk index (0: keep): disk_sizes,
// with disk_size filling in for the first disk when disk_sizes leaves it
// out.
func DiskSizes(diskSize int64, diskSizes []int64) []int64 {
	sizes := append([]int64(nil), diskSizes...)
	if diskSize > 0 {
		if len(sizes) == 0 {
			sizes = []int64{diskSize}
		} else if sizes[0] == 0 {
			sizes[0] = diskSize
		}
	}
	return sizes
}
