package common

import (
	"slices"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		cpus, cores int
		ram, disk   int64
		sizes       []int64
		want        []string
	}{
		{0, 0, 0, 0, nil, nil},
		{4, 2, 2048, 100, []int64{0, 50}, nil},
		{-1, 0, 0, 0, nil, []string{"CPUs (-1), cpu_cores (0), RAM (0) and disk_size (0) must not be negative"}},
		{6, 4, 0, 0, nil, []string{"CPUs = 6 is not a multiple of cpu_cores = 4: vSphere needs whole sockets"}},
		{0, 0, 0, 0, []int64{1, -1}, []string{"disk_sizes[1] = -1: must not be negative"}},
	} {
		hw := HardwareConfig{CPUs: c.cpus, CpuCores: c.cores, RAM: c.ram, DiskSize: c.disk, DiskSizes: c.sizes}
		errs := hw.Prepare()
		var got []string
		for _, e := range errs {
			got = append(got, e.Error())
		}
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%+v: %q, want %q", c, got, c.want)
		}
	}
}

func TestDiskSizes(t *testing.T) {
	for _, c := range []struct {
		disk  int64
		sizes []int64
		want  []int64
	}{
		{0, nil, nil},
		{100, nil, []int64{100}},
		{100, []int64{0, 50}, []int64{100, 50}},
		{100, []int64{70, 50}, []int64{70, 50}},
		{0, []int64{0, 50}, []int64{0, 50}},
	} {
		in := slices.Clone(c.sizes)
		hw := HardwareConfig{DiskSize: c.disk, DiskSizes: c.sizes}
		if got := hw.WantedDiskSizes(); !slices.Equal(got, c.want) {
			t.Errorf("disk_size %d, disk_sizes %v: %v, want %v", c.disk, c.sizes, got, c.want)
		}
		if !slices.Equal(in, c.sizes) {
			t.Errorf("WantedDiskSizes changed disk_sizes: %v", c.sizes)
		}
		for i, want := range c.want {
			if got := hw.DiskSizeMiB(i); got != want {
				t.Errorf("DiskSizeMiB(%d) = %d, want %d", i, got, want)
			}
		}
		if got := hw.DiskSizeMiB(len(c.want)); got != 0 {
			t.Errorf("DiskSizeMiB past the list = %d, want 0", got)
		}
	}
}
