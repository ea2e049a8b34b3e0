package hardware

import (
	"fmt"
	"math/bits"
	"regexp"
	"strconv"
	"strings"
)

// OVF allocation units (DSP0004 Annex C programmatic units) as vSphere
// writes them.
const (
	UnitsByte = "byte"
	UnitsMiB  = "byte * 2^20"
	UnitsMHz  = "hertz * 10^6"
)

var unitsRE = regexp.MustCompile(`^byte\s*(?:\*\s*2\s*\^\s*([0-9]+))?$`)

// unitNames are the older and other tools' spellings of byte multiples
// (OVF 1.0 examples, VirtualBox's ovfreader), compared case-insensitively.
var unitNames = map[string]uint{
	"bytes": 0, "kilobytes": 10, "kilobyte": 10, "kb": 10,
	"megabytes": 20, "megabyte": 20, "mb": 20, "gigabytes": 30, "gigabyte": 30, "gb": 30,
}

// ParseUnits reads byte allocation units ("byte", "byte * 2^20",
// "MegaBytes", ...) and returns the power of two they scale by.
func ParseUnits(units string) (uint, error) {
	u := strings.TrimSpace(units)
	if shift, ok := unitNames[strings.ToLower(u)]; ok {
		return shift, nil
	}
	m := unitsRE.FindStringSubmatch(strings.ToLower(u))
	if m == nil {
		return 0, fmt.Errorf("allocation units %q: expected \"byte * 2^N\"", units)
	}
	if m[1] == "" {
		return 0, nil
	}
	shift, err := strconv.Atoi(m[1])
	if err != nil || shift > 62 {
		return 0, fmt.Errorf("allocation units %q: 2^%s bytes is out of range", units, m[1])
	}
	return uint(shift), nil
}

// ScaleBytes turns n of units into bytes.
func ScaleBytes(n int64, units string) (int64, error) {
	shift, err := ParseUnits(units)
	if err != nil {
		return 0, err
	}
	if n < 0 || (n != 0 && bits.Len64(uint64(n))+int(shift) > 62) {
		return 0, fmt.Errorf("%d %s is out of range", n, units)
	}
	return n << shift, nil
}
