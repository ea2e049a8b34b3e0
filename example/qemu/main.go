// Command qemu boots a disk image under QEMU with the hardware a vSphere VM
// has, through the driver of the vsphere-ova-qemu builder (driver/qemu),
// on a throw-away qcow2 overlay: the image itself is never written. It
// prints how to log in and where the serial console goes; Ctrl-C presses
// the ACPI power button and, if the guest has not powered off in time,
// kills QEMU.
//
// With the test appliance of internal/testkit/bootimage (built by its tests, as
// root: go test ./internal/testkit/bootimage):
//
//	go run ./example/qemu -disk /var/cache/ovakit/bootimage-bookworm-*/disk.raw \
//	    -key /var/cache/ovakit/bootimage-bookworm-*/id_ed25519 -controller nvme -nic e1000e
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/qemu"
)

func main() {
	disk := flag.String("disk", "", "disk image to boot (raw, qcow2 or vmdk); required")
	format := flag.String("format", "", "format of -disk (default: from its extension, raw for .raw/.img)")
	controller := flag.String("controller", qemu.PVSCSI, "disk controller: pvscsi, lsilogic, lsilogicsas, sata, nvme or ide")
	nic := flag.String("nic", qemu.VMXNET3, "network adapter: vmxnet3, e1000e or e1000")
	firmware := flag.String("firmware", "bios", "bios or efi")
	secureBoot := flag.Bool("secure-boot", false, "efi with Secure Boot enforced (Microsoft keys)")
	machine := flag.String("machine", "q35", "q35 or pc")
	cpus := flag.Int("cpus", 1, "virtual CPUs")
	memory := flag.Int("memory", 1024, "memory in MiB")
	accel := flag.String("accel", "auto", "auto, kvm or tcg")
	vnc := flag.String("vnc", "", "VNC bind address, e.g. 127.0.0.1 (default: no VNC)")
	user := flag.String("user", "ovakit", "SSH user, for the login hint")
	key := flag.String("key", "", "SSH private key, for the login hint")
	timeout := flag.Duration("shutdown-timeout", 2*time.Minute, "how long Ctrl-C waits for an ACPI power-off")
	flag.Parse()
	if *disk == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*disk, *format, *key, *user, *timeout, qemu.Config{
		Accelerator: *accel, MachineType: *machine, CPUs: *cpus, MemoryMiB: *memory,
		Firmware: *firmware, SecureBoot: *secureBoot,
		Controllers: []qemu.Controller{{Type: *controller}},
		NICs:        []qemu.NIC{{Model: *nic}},
		ForwardPort: 22, VNCBindAddress: *vnc,
	}); err != nil {
		fmt.Fprintln(os.Stderr, "qemu:", err)
		os.Exit(1)
	}
}

func run(disk, format, key, user string, timeout time.Duration, cfg qemu.Config) error {
	if format == "" {
		format = strings.TrimPrefix(filepath.Ext(disk), ".")
		if format == "img" || format == "" {
			format = "raw"
		}
	}
	tmp, err := os.MkdirTemp("", "ovakit-example-qemu-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	overlay := filepath.Join(tmp, "overlay.qcow2")
	if err := qemu.CreateOverlay(ctx, "", disk, format, overlay); err != nil {
		return err
	}
	cfg.Disks = []qemu.Disk{{Path: overlay}}
	cfg.SerialLog = filepath.Join(tmp, "serial.log")
	cfg.Logf = func(string, ...any) {} // the command line is long; errors say enough
	// The machine must outlive the first Ctrl-C (which powers it off), so
	// it gets its own context; it is killed on every return below.
	m, err := qemu.Start(context.Background(), cfg)
	if err != nil {
		return err
	}
	defer m.Kill()
	fmt.Printf("QEMU pid %d (%s)\nserial console: tail -f %s\n", m.PID, m.Accelerator, m.SerialLog)
	if key == "" {
		key = "KEY"
	}
	fmt.Printf("log in: ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -i %s -p %d %s@127.0.0.1\n", key, m.HostPort, user)
	if vnc, err := m.VNCAddress(ctx); err == nil && vnc != "" {
		fmt.Printf("VNC: %s\n", vnc)
	}
	fmt.Println("Ctrl-C powers the guest off")
	select {
	case <-m.Exited():
		return m.Err()
	case <-ctx.Done():
	}
	stop() // a second Ctrl-C kills at once
	fmt.Println("\npowering off (ACPI)...")
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	sctx, stop2 := signal.NotifyContext(sctx, os.Interrupt, syscall.SIGTERM)
	defer stop2()
	if err := m.Shutdown(sctx); err != nil {
		return fmt.Errorf("%w; killing QEMU", err)
	}
	return nil
}
