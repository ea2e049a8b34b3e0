package vmdk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
)

// goodVMDK writes a small VMDK with data in two grain tables and returns its
// bytes.
func goodVMDK(t testing.TB) []byte {
	t.Helper()
	dir := t.TempDir()
	sparseFile(t, dir+"/d.raw", 40*mib, map[int64][]byte{
		0:             textBytes(1, int(mib)),
		33*mib + 4096: randomBytes(2, int(200*kib)),
	})
	writeVMDK(t, dir+"/d.raw", dir+"/d.vmdk", fixedIDs)
	b, err := os.ReadFile(dir + "/d.vmdk")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLayoutWalk walks our VMDK marker by marker with its own reading of
// the format (independent of CheckStreamLayout) and checks VMware's rules.
func TestLayoutWalk(t *testing.T) {
	b := goodVMDK(t)
	le := binary.LittleEndian
	hdr := b[:512]
	if string(hdr[:4]) != "KDMV" || le.Uint32(hdr[4:]) != 3 {
		t.Fatalf("magic %q version %d, want KDMV 3", hdr[:4], le.Uint32(hdr[4:]))
	}
	if f := le.Uint32(hdr[8:]); f != 0x30001 {
		t.Fatalf("flags %#x, want 0x30001", f)
	}
	if gd := le.Uint64(hdr[56:]); gd != ^uint64(0) {
		t.Fatalf("header gdOffset %#x, want GD_AT_END", gd)
	}
	if le.Uint16(hdr[77:]) != 1 || string(hdr[73:77]) != "\n \r\n" || le.Uint64(hdr[20:]) != 128 || le.Uint32(hdr[44:]) != 512 {
		t.Fatalf("header fields: %x", hdr[:80])
	}
	desc := string(bytes.TrimRight(b[512:le.Uint64(hdr[64:])*512], "\x00"))
	for _, want := range []string{`createType="streamOptimized"`, `RDONLY 81920 SPARSE "generated-stream.vmdk"`,
		`ddb.adapterType = "lsilogic"`, `ddb.geometry.cylinders = "40"`, `ddb.geometry.heads = "64"`, `ddb.geometry.sectors = "32"`,
		`ddb.virtualHWVersion = "4"`, `ddb.toolsInstallType = "4"`, "CID=12345678"} {
		if !strings.Contains(desc, want) {
			t.Errorf("descriptor lacks %q:\n%s", want, desc)
		}
	}
	if len(b)%512 != 0 {
		t.Fatalf("file size %d not sector-aligned", len(b))
	}
	var types []uint32
	var gdAt, footerAt int64
	grains := 0
	for at := int64(le.Uint64(hdr[64:])) * 512; at < int64(len(b)); {
		if at%512 != 0 {
			t.Fatalf("marker at %d is not 512-aligned", at)
		}
		m := b[at:]
		size := le.Uint32(m[8:])
		if size != 0 {
			grains++
			at += (12 + int64(size) + 511) / 512 * 512
			continue
		}
		typ := le.Uint32(m[12:])
		types = append(types, typ)
		switch typ {
		case markerGD:
			gdAt = at/512 + 1
		case markerFooter:
			footerAt = at + 512
		case markerEOS:
			if at != int64(len(b))-512 {
				t.Fatalf("EOS at %d, file ends at %d: EOS must be the last 512 bytes", at, len(b))
			}
		}
		at += 512 + int64(le.Uint64(m))*512
	}
	if want := []uint32{markerGT, markerGT, markerGD, markerFooter, markerEOS}; !equalU32(types, want) {
		t.Fatalf("metadata markers %v, want %v (a table after each table's grains, then directory, footer, EOS)", types, want)
	}
	footer := b[footerAt : footerAt+512]
	if le.Uint64(footer[56:]) != uint64(gdAt) {
		t.Fatalf("footer gdOffset %d, directory at sector %d", le.Uint64(footer[56:]), gdAt)
	}
	expect := append([]byte(nil), hdr...)
	le.PutUint64(expect[56:], uint64(gdAt))
	if !bytes.Equal(footer, expect) {
		t.Fatal("footer differs from the header in more than gdOffset")
	}
	if grains != 20 {
		t.Fatalf("%d grains stored, want 16 (text) + 4 (random)", grains)
	}
}

func equalU32(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCheckStreamLayoutRejects proves the checker fails on each rule.
func TestCheckStreamLayoutRejects(t *testing.T) {
	good := goodVMDK(t)
	if _, err := CheckStreamLayout(bytes.NewReader(good), int64(len(good))); err != nil {
		t.Fatalf("good VMDK rejected: %v", err)
	}
	l, _ := CheckStreamLayout(bytes.NewReader(good), int64(len(good)))
	le := binary.LittleEndian
	firstGrain := l.GrainOffsets[0]
	cases := []struct {
		name   string
		mutate func([]byte) []byte
		want   string
	}{
		{"zeros after EOS", func(b []byte) []byte { return append(b, make([]byte, 512)...) }, "end-of-stream"},
		{"version 1", func(b []byte) []byte { le.PutUint32(b[4:], 1); return b }, "version 1"},
		{"redundant table flag", func(b []byte) []byte { le.PutUint32(b[8:], 0x30003); return b }, "flags 0x30003"},
		{"directory in header", func(b []byte) []byte { le.PutUint64(b[56:], 5); return b }, "grain directory at sector 5"},
		{"footer differs", func(b []byte) []byte { b[len(b)-1024+12]++; return b }, "footer is not the header"},
		{"grain table entry", func(b []byte) []byte {
			gt := bytes.Index(b[firstGrain:], []byte{4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0})
			le.PutUint32(b[firstGrain+int64(gt)+512:], 7)
			return b
		}, "grain table 0 entry 0"},
		{"misaligned marker", func(b []byte) []byte { le.PutUint32(b[firstGrain+8:], le.Uint32(b[firstGrain+8:])+512); return b }, ""},
		{"truncated", func(b []byte) []byte { return b[:len(b)/1024*512] }, "no end-of-stream marker"},
		{"no footer", func(b []byte) []byte { return append(b[:len(b)-3*512], b[len(b)-512:]...) }, "without a grain directory and footer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.mutate(append([]byte(nil), good...))
			_, err := CheckStreamLayout(bytes.NewReader(b), int64(len(b)))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// TestQemuImgStreamFailsLayout: qemu-img's layout is readable but not
// VMware's, so disk.Open marks it for re-encoding.
func TestQemuImgStreamFailsLayout(t *testing.T) {
	qemu := qemuImg(t)
	dir := t.TempDir()
	sparseFile(t, dir+"/d.raw", 10*mib, map[int64][]byte{3 * mib: textBytes(3, 200000)})
	run(t, qemu, "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", dir+"/d.raw", dir+"/q.vmdk")
	b, err := os.ReadFile(dir + "/q.vmdk")
	if err != nil {
		t.Fatal(err)
	}
	_, err = CheckStreamLayout(bytes.NewReader(b), int64(len(b)))
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("qemu-img's stream passed the VMware layout check: %v", err)
	}
	t.Logf("qemu-img stream: %v", err)
}
