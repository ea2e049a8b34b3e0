// Command ovapack is bench/ova.sh's helper:
//
//	ovapack gen -dir DIR -mib 4096 -disks 1   # vm.ovf, vm-disk-N.vmdk, vm.mf [-descriptor basic]
//	ovapack pack -ovf DIR/vm.ovf -out X.ova   # ova.Pack, the library alone
//	ovapack evict FILE...                     # drop files from the page cache, prove it
//	ovapack watch -plugin BIN -- CMD ARGS...  # run CMD: wall, CPU, plugin RSS
//	ovapack serve -file F                     # HTTPS on 127.0.0.1, as the simulator's NFC download
//	ovapack fetch -url U                      # GET into /dev/null with Go's client
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ovapack gen|pack|evict|watch|serve|fetch [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "pack":
		err = pack(os.Args[2:])
	case "evict":
		err = evict(os.Args[2:])
	case "watch":
		err = watch(os.Args[2:])
	case "serve":
		err = serve(os.Args[2:])
	case "fetch":
		err = fetch(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: use gen, pack, evict, watch, serve or fetch", os.Args[1])
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
