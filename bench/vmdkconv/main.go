// Command vmdkconv drives the vmdk package for bench/vmdk.sh:
//
//	vmdkconv gen -out disk.raw -size 4096 -data 1024 -text DIR
//	    a sparse raw disk of -size MiB holding -data MiB in 8 MiB chunks
//	    spread over the disk, alternately random bytes and text (the *.go
//	    files under DIR, e.g. $(go env GOROOT)/src)
//	vmdkconv convert -in disk.raw -out disk.vmdk [-level N] [-workers N]
//	    disk.Open + WriteStreamOptimized; prints the stats
//	vmdkconv check -raw disk.raw -vmdk disk.vmdk
//	    CheckStreamLayout, then reads the VMDK back and compares
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/disk"
	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: vmdkconv gen|convert|check [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "convert":
		err = convert(ctx, os.Args[2:])
	case "check":
		err = check(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: use gen, convert or check", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmdkconv:", err)
		os.Exit(1)
	}
}

const chunk = 8 << 20

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	out := fs.String("out", "", "raw disk to write")
	sizeMiB := fs.Int64("size", 4096, "disk size in MiB")
	dataMiB := fs.Int64("data", 1024, "MiB of data (half random, half text)")
	textDir := fs.String("text", "", "folder whose *.go files are the text")
	fs.Parse(args)
	if *out == "" || *textDir == "" {
		return errors.New("gen needs -out and -text")
	}
	text, err := loadText(*textDir, 64<<20)
	if err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	size := *sizeMiB << 20
	if err := f.Truncate(size); err != nil {
		return err
	}
	chunks := *dataMiB << 20 / chunk
	stride := size / chunks // data spread evenly, holes between
	rng := rand.NewChaCha8([32]byte{42})
	buf := make([]byte, chunk)
	textPos := 0
	for i := int64(0); i < chunks; i++ {
		if i%2 == 0 {
			rng.Read(buf)
		} else {
			for n := 0; n < len(buf); {
				c := copy(buf[n:], text[textPos:])
				n += c
				textPos = (textPos + c) % len(text)
			}
		}
		if _, err := f.WriteAt(buf, i*stride); err != nil {
			return err
		}
	}
	return f.Sync()
}

// loadText concatenates the *.go files under dir (sorted) up to limit bytes.
func loadText(dir string, limit int) ([]byte, error) {
	var files []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.Contains(p, "testdata") {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	var b bytes.Buffer
	for _, p := range files {
		if b.Len() >= limit {
			break
		}
		data, err := os.ReadFile(p)
		if err == nil {
			b.Write(data)
		}
	}
	if b.Len() < 1<<20 {
		return nil, fmt.Errorf("only %d bytes of *.go text under %s", b.Len(), dir)
	}
	return b.Bytes(), nil
}

func convert(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("convert", flag.ExitOnError)
	in := fs.String("in", "", "input disk")
	out := fs.String("out", "", "VMDK to write")
	level := fs.Int("level", 0, "DEFLATE level (0: the package default)")
	workers := fs.Int("workers", 0, "compressing goroutines (0: GOMAXPROCS)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile here")
	fs.Parse(args)
	if *cpuprofile != "" {
		pf, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	d, err := disk.Open(ctx, *in, disk.OpenOptions{})
	if err != nil {
		return err
	}
	defer d.Close()
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	start := time.Now()
	st, err := d.WriteStreamOptimized(ctx, f, vmdk.Options{Level: *level, Workers: *workers})
	if err == nil {
		err = f.Close()
	} else {
		f.Close()
	}
	if err != nil {
		os.Remove(*out)
		return err
	}
	fmt.Printf("format %s: wrote %d bytes, capacity %d, %d grains, populated %d, in %.2fs\n",
		d.Format, st.Size, st.Capacity, st.AllocatedGrains, st.PopulatedSize, time.Since(start).Seconds())
	return nil
}

func check(args []string) error {
	fs := flag.NewFlagSet("check", flag.ExitOnError)
	raw := fs.String("raw", "", "the raw disk")
	vmdkPath := fs.String("vmdk", "", "the VMDK made from it")
	fs.Parse(args)
	f, err := os.Open(*vmdkPath)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	l, err := vmdk.CheckStreamLayout(f, fi.Size())
	if err != nil {
		return fmt.Errorf("layout: %w", err)
	}
	im, err := vmdk.Open(f, fi.Size())
	if err != nil {
		return err
	}
	r, err := os.Open(*raw)
	if err != nil {
		return err
	}
	defer r.Close()
	a, b := make([]byte, 1<<20), make([]byte, 1<<20)
	for off := int64(0); off < im.Size(); off += int64(len(a)) {
		n, err := im.ReadAt(a, off)
		if err != nil && err != io.EOF {
			return err
		}
		m, err := r.ReadAt(b[:n], off)
		if err != nil && err != io.EOF {
			return err
		}
		clear(b[m:n])
		if !bytes.Equal(a[:n], b[:n]) {
			return fmt.Errorf("VMDK differs from the raw disk at [%d, %d)", off, off+int64(n))
		}
	}
	fmt.Printf("layout ok (%d grains, %d grain tables); reads back identical\n", l.Grains, l.GrainTables)
	return nil
}
