// Command vcsim serves govmomi's vCenter/ESXi simulator with the ovakit
// additions (NFC upload storage, ExportVm, CreateDescriptor, guest IPs) on a
// loopback address, for `make demo` and manual runs. It prints
//
//	VCSIM_URL=https://user:pass@127.0.0.1:port/sdk
//	VCSIM_HOST=127.0.0.1:port
//	VCSIM_USERNAME=user
//	VCSIM_PASSWORD=pass
//
// and serves until SIGINT or SIGTERM. The simulator accepts any credentials;
// these are printed because they are the simulator's, not a secret.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
)

func main() {
	mode := flag.String("mode", vcsim.ModeVCenter, `"vcenter" or "esxi"`)
	listen := flag.String("listen", "127.0.0.1:0", "loopback address to serve on")
	autoIP := flag.String("auto-ip", "", "IP that VMware Tools of every powered-on VM report (empty: none)")
	sessionTimeout := flag.Duration("session-timeout", 0, "drop sessions idle for this long, as vCenter does (0: never)")
	machines := flag.Int("machines", 0, "pre-made powered-off VMs per host (vcenter: DC0_C0_RP0_VM0 ...), for vsphere-clone")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: vcsim [-mode vcenter|esxi] [-listen 127.0.0.1:0] [-auto-ip IP] [-session-timeout 30m] [-machines N]")
		os.Exit(2)
	}
	if *autoIP != "" && net.ParseIP(*autoIP) == nil {
		fmt.Fprintf(os.Stderr, "vcsim: -auto-ip %q is not an IP address\n", *autoIP)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := vcsim.StartWith(ctx, vcsim.Options{Mode: *mode, Listen: *listen, SessionTimeout: *sessionTimeout, Machines: *machines})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer s.Close()
	if *autoIP != "" {
		s.AutoGuestIP(*autoIP)
	}
	fmt.Printf("VCSIM_URL=%s\nVCSIM_HOST=%s\nVCSIM_USERNAME=%s\nVCSIM_PASSWORD=%s\n", s.URL, s.Host, s.Username, s.Password)
	<-ctx.Done()
}
