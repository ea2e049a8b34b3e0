package repocheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// bareShort is a tier gate written by hand instead of through testenv.
var bareShort = regexp.MustCompile(`testing\.Short\(\)`)

// TestTiersGatedOneWay: tests declare their tier with testenv.Require (or a
// testenv helper that does, such as LookPath); only testenv reads
// testing.Short, so `make unit` skips the same things everywhere and the
// tiers are listed in one place.
func TestTiersGatedOneWay(t *testing.T) {
	root := testenv.RepoRoot(t)
	var n int
	for _, f := range trackedFiles(t) {
		if !strings.HasSuffix(f, ".go") || strings.HasPrefix(f, "internal/testkit/testenv/") || strings.HasPrefix(f, "internal/testkit/repocheck/") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		n++
		for i, line := range strings.Split(string(data), "\n") {
			if bareShort.MatchString(line) && !strings.HasPrefix(strings.TrimSpace(line), "//") {
				t.Errorf("%s:%d: testing.Short() outside testenv: declare the test's tier with testenv.Require(t, testenv.<Tier>, why)", f, i+1)
			}
		}
	}
	if n == 0 {
		t.Fatal("no Go files found: the check would pass vacuously")
	}
}
