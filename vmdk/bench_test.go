package vmdk

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// BenchmarkWrite converts 32 MiB in memory: half random, half text (the
// full comparison with qemu-img is bench/vmdk.sh).
func BenchmarkWrite(b *testing.B) {
	disk := make([]byte, 32*mib)
	for off := int64(0); off < int64(len(disk)); off += 2 * mib {
		copy(disk[off:], randomBytes(uint64(off), int(mib)))
		copy(disk[off+mib:], textBytes(uint64(off), int(mib)))
	}
	b.SetBytes(int64(len(disk)))
	b.ResetTimer()
	for range b.N {
		if _, err := Write(context.Background(), io.Discard, bytes.NewReader(disk), int64(len(disk)), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamReader decodes the same disk front to back.
func BenchmarkStreamReader(b *testing.B) {
	disk := make([]byte, 32*mib)
	for off := int64(0); off < int64(len(disk)); off += 2 * mib {
		copy(disk[off:], randomBytes(uint64(off), int(mib)))
		copy(disk[off+mib:], textBytes(uint64(off), int(mib)))
	}
	var v bytes.Buffer
	if _, err := Write(context.Background(), &v, bytes.NewReader(disk), int64(len(disk)), Options{Level: 1}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(disk)))
	b.ResetTimer()
	for range b.N {
		sr, err := NewStreamReader(bytes.NewReader(v.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, sr); err != nil {
			b.Fatal(err)
		}
	}
}
