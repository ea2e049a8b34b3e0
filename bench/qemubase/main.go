// Command qemubase prints where the bootable test appliance is, making it
// first when it is not cached: the same base OVA the vsphere-ova-qemu
// builder's end-to-end tests boot (internal/testkit/bootimage: a Debian disk with
// systemd and sshd, as a vSphere-shaped OVA). bench/qemu.sh and
// example/demo-qemu.sh read its output, one KEY=value per line:
//
//	BASE_OVA=/var/cache/ovakit/bootimage-bookworm-<key>/qemu-builder-base-v1/base.ova
//	SSH_USER=ovakit
//	SSH_KEY=/var/cache/ovakit/bootimage-bookworm-<key>/id_ed25519
//
// Building the boot image (only when not cached) needs root, debootstrap
// and this machine's Debian mirror, and takes minutes.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/bootimage"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("qemubase: ")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	img, err := bootimage.Default(ctx, log.Printf)
	if err != nil {
		log.Fatal(err)
	}
	ova, err := img.BaseOVA(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("BASE_OVA=%s\nSSH_USER=%s\nSSH_KEY=%s\n", ova, img.User, img.PrivateKeyPath)
}
