package sumfile

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	d := strings.Repeat("ab", 32)
	f, err := Parse([]byte("# k3s\n" + d + "  k3s\n" + strings.ToUpper(d) + " *dist/k3s-airgap.tar.zst\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := f.Lookup("k3s"); !ok || got != d {
		t.Errorf("k3s: %q %v", got, ok)
	}
	if got, ok := f.Lookup("k3s-airgap.tar.zst"); !ok || got != d {
		t.Errorf("by base name: %q %v", got, ok)
	}
	if _, ok := f.Lookup("nope"); ok {
		t.Error("found a name that is not listed")
	}
	if Line(d, "x.ova") != d+"  x.ova\n" {
		t.Error("Line is not sha256sum's text format")
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	for _, in := range []string{"zz  k3s\n", "abcd\n", "\n" + strings.Repeat("a", 64) + "\n"} {
		_, err := Parse([]byte(in))
		if err == nil || !strings.Contains(err.Error(), "line ") {
			t.Errorf("%q: want an error naming the line, got %v", in, err)
		}
	}
}
