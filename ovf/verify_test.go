package ovf

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"
)

func TestVerifyReader(t *testing.T) {
	sum := sha256.Sum256([]byte("disk bytes"))
	e := ManifestEntry{Algorithm: "sha256", Name: "vm-disk-0.vmdk", Digest: strings.ToUpper(hex.EncodeToString(sum[:]))}

	rc, err := VerifyReader(io.NopCloser(strings.NewReader("disk bytes")), e, "vm.mf")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(rc); err != nil || string(b) != "disk bytes" {
		t.Fatalf("matching content: %q, %v", b, err)
	}

	rc, err = VerifyReader(io.NopCloser(strings.NewReader("disk bytez")), e, "vm.mf")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	if err == nil {
		t.Fatal("changed content read without error")
	}
	for _, want := range []string{"vm-disk-0.vmdk", "does not match vm.mf", strings.ToLower(e.Digest)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// The error sticks: a caller that reads again does not see io.EOF.
	if _, err2 := rc.Read(make([]byte, 1)); err2 == nil || err2 == io.EOF {
		t.Errorf("second read after mismatch: %v", err2)
	}

	if _, err := VerifyReader(io.NopCloser(strings.NewReader("")), ManifestEntry{Algorithm: "md4", Name: "x"}, "vm.mf"); err == nil {
		t.Error("unknown algorithm accepted")
	}
}
