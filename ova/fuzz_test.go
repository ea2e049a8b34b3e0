package ova

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"testing"
)

// tinyOVA is a well-formed OVA: descriptor, manifest, one "disk".
func tinyOVA(tb testing.TB) []byte {
	tb.Helper()
	disk := bytes.Repeat([]byte("KDMV"), 300)
	desc := []byte(`<?xml version="1.0"?><Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><References><File ovf:href="d.vmdk" ovf:id="f1" ovf:size="1200"/></References><VirtualSystem ovf:id="vm"/></Envelope>`)
	mf := fmt.Sprintf("SHA256(vm.ovf)= %x\nSHA256(d.vmdk)= %x\n", sha256.Sum256(desc), sha256.Sum256(disk))
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range []struct {
		name string
		data []byte
	}{{"vm.ovf", desc}, {"vm.mf", []byte(mf)}, {"d.vmdk", disk}} {
		if err := tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Format: tar.FormatUSTAR}); err != nil {
			tb.Fatal(err)
		}
		tw.Write(m.data)
	}
	tw.Close()
	return buf.Bytes()
}

// FuzzArchive feeds NewArchive arbitrary bytes: it must return an error or
// an index whose members lie inside the input, and reading any member
// (verified against the manifest when listed) must not panic or read past
// the end. The seeds in testdata/fuzz/FuzzArchive run in every `go test`.
func FuzzArchive(f *testing.F) {
	good := tinyOVA(f)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(good[:1024])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := NewArchive(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		defer a.Close()
		for _, m := range a.Members() {
			if m.Offset < 0 || m.Size < 0 || m.Offset+m.Size > int64(len(data)) {
				t.Fatalf("member %q at %d+%d lies outside the %d-byte input", m.Name, m.Offset, m.Size, len(data))
			}
			rc, _, err := a.Open(m.Name)
			if err != nil {
				continue
			}
			n, _ := io.Copy(io.Discard, rc)
			rc.Close()
			if n > m.Size {
				t.Fatalf("member %q gave %d bytes, its size is %d", m.Name, n, m.Size)
			}
		}
		_, _ = a.Descriptor()
	})
}

// The good seed really is an OVA the reader takes, with its manifest
// checked: without this the fuzzer would only ever see errors.
func TestFuzzSeedIsValid(t *testing.T) {
	data := tinyOVA(t)
	a, err := NewArchive(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if a.DescriptorName() != "vm.ovf" || len(a.Members()) != 3 {
		t.Fatalf("descriptor %q, %d members", a.DescriptorName(), len(a.Members()))
	}
	rc, _, err := a.Open("d.vmdk")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatalf("verified read of the disk: %v", err)
	}
	// A flipped disk byte fails the manifest check.
	bad := bytes.Clone(data)
	bad[a.Members()[2].Offset+7] ^= 1
	b, _ := NewArchive(bytes.NewReader(bad), int64(len(bad)))
	rc, _, err = b.Open("d.vmdk")
	if err == nil {
		_, err = io.Copy(io.Discard, rc)
	}
	if err == nil {
		t.Fatal("a corrupted member read back without a manifest error")
	}
}
