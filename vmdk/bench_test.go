package vmdk

import (
	"bufio"
	"bytes"
	stdzlib "compress/zlib"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
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

// BenchmarkDecode compares the builder's decode before and after DecodeTo,
// on the same stream: Read in 1 MiB blocks, skipping all-zero ones
// (sequential), against DecodeTo (parallel), both into a new file in
// TMPDIR, reading through a SHA-256 as the builder's manifest check does.
// VMDK_BENCH_STREAM names a streamOptimized VMDK to use (e.g. the one in
// the QEMU builder's base OVA); by default it is the 32 MiB disk above.
func BenchmarkDecode(b *testing.B) {
	v := benchStream(b)
	sr, err := NewStreamReader(bytes.NewReader(v))
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d-byte stream of a %d-byte disk", len(v), sr.Size())
	dir := b.TempDir()
	for _, c := range []struct {
		name   string
		decode func(sr *StreamReader, f *os.File) error
	}{
		{"read-loop", readLoop},
		{"DecodeTo", func(sr *StreamReader, f *os.File) error {
			_, err := sr.DecodeTo(context.Background(), f, DecodeOptions{})
			return err
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(v)))
			for range b.N {
				sr, err := NewStreamReader(bufio.NewReaderSize(io.TeeReader(bytes.NewReader(v), sha256.New()), 1<<20))
				if err != nil {
					b.Fatal(err)
				}
				p := filepath.Join(dir, "disk.raw")
				f, err := os.Create(p)
				if err != nil {
					b.Fatal(err)
				}
				if err := c.decode(sr, f); err != nil {
					b.Fatal(err)
				}
				f.Truncate(sr.Size())
				f.Close()
				b.StopTimer()
				os.Remove(p)
				b.StartTimer()
			}
		})
	}
}

// readLoop is the builder's decode before DecodeTo.
func readLoop(sr *StreamReader, f *os.File) error {
	buf := make([]byte, 1<<20)
	zero := make([]byte, 1<<20)
	var off int64
	for {
		k, err := io.ReadFull(sr, buf)
		if k > 0 && !bytes.Equal(buf[:k], zero[:k]) {
			if _, err := f.WriteAt(buf[:k], off); err != nil {
				return err
			}
		}
		off += int64(k)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func benchStream(b *testing.B) []byte {
	if p := os.Getenv("VMDK_BENCH_STREAM"); p != "" {
		v, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		return v
	}
	disk := make([]byte, 32*mib)
	for off := int64(0); off < int64(len(disk)); off += 2 * mib {
		copy(disk[off:], randomBytes(uint64(off), int(mib)))
		copy(disk[off+mib:], textBytes(uint64(off), int(mib)))
	}
	var v bytes.Buffer
	if _, err := Write(context.Background(), &v, bytes.NewReader(disk), int64(len(disk)), Options{}); err != nil {
		b.Fatal(err)
	}
	return v.Bytes()
}

// BenchmarkInflate inflates the grains of the same stream with the
// inflater (klauspost/compress) and with the standard library, one core:
// the choice of decoder.
func BenchmarkInflate(b *testing.B) {
	v := benchStream(b)
	sr, err := NewStreamReader(bytes.NewReader(v))
	if err != nil {
		b.Fatal(err)
	}
	var grains [][]byte
	var out int64
	buf := make([]byte, sr.maxGrainFrame())
	for {
		lba, _, data, err := sr.readGrain(buf)
		if err != nil {
			b.Fatal(err)
		}
		if lba < 0 {
			break
		}
		grains = append(grains, bytes.Clone(data))
		out += min(GrainSize, sr.Size()-lba*SectorSize)
		if lba*SectorSize+GrainSize >= sr.Size() {
			break
		}
	}
	dst := make([]byte, GrainSize)
	b.Run("klauspost", func(b *testing.B) {
		b.SetBytes(out)
		var f inflater
		for range b.N {
			for _, g := range grains {
				if _, err := f.inflate(dst, g); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		b.SetBytes(out)
		var src bytes.Reader
		var zr io.ReadCloser
		for range b.N {
			for _, g := range grains {
				src.Reset(g)
				if zr == nil {
					if zr, err = stdzlib.NewReader(&src); err != nil {
						b.Fatal(err)
					}
				} else if err := zr.(stdzlib.Resetter).Reset(&src, nil); err != nil {
					b.Fatal(err)
				}
				// Read to the end: the Adler-32 is checked there.
				if _, err := io.ReadFull(zr, dst); err != nil && err != io.ErrUnexpectedEOF {
					b.Fatal(err)
				}
				if _, err := zr.Read(dst[:1]); err != io.EOF {
					b.Fatal(err)
				}
			}
		}
	})
}
