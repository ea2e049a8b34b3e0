package ova

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// SourceDateEpoch returns the time in $SOURCE_DATE_EPOCH
// (https://reproducible-builds.org/specs/source-date-epoch/), or nil when it
// is unset or empty, for Options.ModTime.
func SourceDateEpoch() (*time.Time, error) {
	v := strings.TrimSpace(os.Getenv("SOURCE_DATE_EPOCH"))
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > 0o77777777777 {
		return nil, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a valid time: set it to a non-negative whole number of seconds since 1970-01-01 UTC (e.g. `git log -1 --format=%%ct`) or unset it", v)
	}
	t := time.Unix(n, 0).UTC()
	return &t, nil
}
