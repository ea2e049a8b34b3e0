// Command ovapack drives ova.Pack for bench/ova.sh: it generates a sample
// export of incompressible data and packs an export into an OVA.
//
//	ovapack gen -dir DIR -mib 2048     # vm.ovf, vm-disk-0/1.vmdk, vm.mf
//	ovapack pack -ovf DIR/vm.ovf -out X.ova [-force]
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ovapack gen|pack [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "pack":
		err = pack(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: use gen or pack", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ovapack:", err)
		os.Exit(1)
	}
}

func pack(args []string) error {
	fs := flag.NewFlagSet("pack", flag.ExitOnError)
	ovfPath := fs.String("ovf", "", "the export's .ovf")
	out := fs.String("out", "", "the OVA to write")
	force := fs.Bool("force", false, "overwrite")
	mfAlg := fs.String("manifest-algorithm", "", "sha256|sha512|sha1")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile here")
	fs.Parse(args)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	mt, err := ova.SourceDateEpoch()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	res, err := ova.Pack(ctx, ova.Options{
		OVFPath: *ovfPath, Output: *out, Force: *force, ManifestAlgorithm: *mfAlg, ModTime: mt,
		Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, "warning: "+f+"\n", a...) },
	})
	if err != nil {
		return err
	}
	fmt.Printf("packed %s: %d bytes, sha256 %s, reused export manifest: %v, %.2fs\n",
		res.Path, res.Size, res.Digest, res.ReusedManifest, time.Since(start).Seconds())
	return nil
}

// gen writes a sample export: 3/4 of the data in disk 0, 1/4 in disk 1,
// incompressible (ChaCha8), plus an ovftool-style SHA256 manifest.
func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	dir := fs.String("dir", "", "output folder")
	mib := fs.Int64("mib", 2048, "total disk MiB")
	fs.Parse(args)
	if *dir == "" {
		return fmt.Errorf("-dir is required")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	sizes := []int64{*mib * 3 / 4 << 20, (*mib - *mib*3/4) << 20}
	rng := rand.NewChaCha8([32]byte{42})
	var refs strings.Builder
	var mf strings.Builder
	digests := map[string]string{}
	var names []string
	for i, n := range sizes {
		name := fmt.Sprintf("vm-disk-%d.vmdk", i)
		names = append(names, name)
		h := sha256.New()
		f, err := os.Create(filepath.Join(*dir, name))
		if err != nil {
			return err
		}
		if _, err := io.CopyN(io.MultiWriter(f, h), rng, n); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		digests[name] = hex.EncodeToString(h.Sum(nil))
		fmt.Fprintf(&refs, "    <File ovf:href=\"%s\" ovf:id=\"file%d\" ovf:size=\"%d\"/>\n", name, i+1, n)
	}
	desc := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<!-- Sample export for the benchmark (random disk data, not a bootable VM). -->
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References>
%s  </References>
  <VirtualSystem ovf:id="vm"><Info>A virtual machine</Info></VirtualSystem>
</Envelope>
`, refs.String())
	if err := os.WriteFile(filepath.Join(*dir, "vm.ovf"), []byte(desc), 0o644); err != nil {
		return err
	}
	s := sha256.Sum256([]byte(desc))
	fmt.Fprintf(&mf, "SHA256(vm.ovf)= %s\n", hex.EncodeToString(s[:]))
	for _, n := range names {
		fmt.Fprintf(&mf, "SHA256(%s)= %s\n", n, digests[n])
	}
	return os.WriteFile(filepath.Join(*dir, "vm.mf"), []byte(mf.String()), 0o644)
}
