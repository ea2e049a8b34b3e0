package testenv

import (
	"os"
	"testing"
)

func TestStrict(t *testing.T) {
	for _, c := range []struct {
		strict, ci string // "-" = unset
		want       bool
	}{
		{"-", "-", false},
		{"1", "-", true},
		{"0", "-", false},
		{"-", "true", true},
		{"", "true", true},
		// An explicit OVAKIT_STRICT=0 (make unit) beats CI=true.
		{"0", "true", false},
		{"false", "true", false},
		{"1", "true", true},
	} {
		setOrUnset(t, "OVAKIT_STRICT", c.strict)
		setOrUnset(t, "CI", c.ci)
		if got := Strict(); got != c.want {
			t.Errorf("OVAKIT_STRICT=%s CI=%s: Strict() = %v, want %v", c.strict, c.ci, got, c.want)
		}
	}
}

// setOrUnset sets k to v, or unsets it for v "-"; t.Setenv restores the
// old value after the test either way.
func setOrUnset(t *testing.T, k, v string) {
	t.Setenv(k, v)
	if v == "-" {
		if err := os.Unsetenv(k); err != nil {
			t.Fatal(err)
		}
	}
}

// Under -short every gate skips, even in strict mode and even when the
// program exists; without -short a present program is returned.
func TestGatesUnderShort(t *testing.T) {
	t.Setenv("OVAKIT_STRICT", "1")
	gates := map[string]func(testing.TB){
		"LookPath":    func(t testing.TB) { LookPath(t, "sh") },
		"Unavailable": func(t testing.TB) { Unavailable(t, "reason") },
	}
	for tier := Large; tier <= Root; tier++ {
		gates["Require("+tier.String()+")"] = func(t testing.TB) { Require(t, tier, "heavy") }
	}
	for name, gate := range gates {
		var ran bool
		t.Run(name, func(t *testing.T) {
			if !testing.Short() {
				t.Skip("checks -short behaviour; `go test -short ./internal/testkit/testenv` runs it")
			}
			gate(t)
			ran = true
		})
		if testing.Short() && ran {
			t.Errorf("%s did not skip under -short", name)
		}
	}
	if !testing.Short() {
		if p := LookPath(t, "sh"); p == "" {
			t.Error("LookPath(sh) returned nothing")
		}
	}
}

// The unit tier never skips, under -short or not: it is what `make unit` runs.
func TestRequireUnitRuns(t *testing.T) {
	var ran bool
	t.Run("unit", func(t *testing.T) {
		Require(t, Unit, "nothing")
		ran = true
	})
	if !ran {
		t.Error("Require(Unit) skipped")
	}
}

// Allows says what Require lets run: everything without -short, only the
// unit tier under it.
func TestAllows(t *testing.T) {
	if !Allows(Unit) {
		t.Error("Allows(Unit) = false")
	}
	if got := Allows(RealProgram); got == testing.Short() {
		t.Errorf("Allows(RealProgram) = %v under -short=%v", got, testing.Short())
	}
}
