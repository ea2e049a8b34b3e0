#!/usr/bin/env bash
# `make demo-qemu`: the vsphere-ova-qemu builder offline, with no vSphere:
# OVA in -> boot under QEMU -> OVA out, on a real bootable appliance.
#
#   1. install the plugin into a private Packer config/plugin folder
#   2. the bootable base OVA (bench/qemubase): the Debian appliance of
#      internal/testkit/bootimage (systemd, sshd, a login key) as a vSphere-shaped OVA,
#      the one the builder's end-to-end tests boot. Built once (as root, with
#      debootstrap and this machine's Debian mirror: minutes) and cached in
#      /var/cache/ovakit; later runs reuse it at once
#   3. packer build example/qemu/app.pkr.hcl: decodes the OVA's disk, boots
#      it under QEMU (TCG when KVM is unusable: minutes), runs a shell
#      provisioner over SSH, shuts the guest down, exports it as vSphere
#      would and packs the export into an OVA with post-processor "vsphere-ova"
#   4. check the OVA with sha256sum -c, list it, and show that its descriptor
#      has the template's hardware (2 vCPUs, 1536 MB, a 4096 MiB disk), not
#      the base OVA's (1 vCPU, 1024 MB, 2048 MiB)
set -euo pipefail

DEMO_NAME=demo-qemu
# shellcheck source=example/demo-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/demo-common.sh"
QOUT=$OUT/qemu
VM_NAME=qemu-appliance

check_qemu() {
	if ! command -v qemu-system-x86_64 >/dev/null; then
		echo "$DEMO_NAME: qemu-system-x86_64 not found on PATH (apt-get install qemu-system-x86)" >&2
		return 1
	fi
}

base_ova() {
	say "Stage 2: the bootable base OVA (bench/qemubase)"
	mkdir -p "$QOUT"
	(cd "$ROOT" && go run ./bench/qemubase) >"$QOUT/base.env"
	BASE_OVA=$(sed -n 's/^BASE_OVA=//p' "$QOUT/base.env")
	SSH_USER=$(sed -n 's/^SSH_USER=//p' "$QOUT/base.env")
	SSH_KEY=$(sed -n 's/^SSH_KEY=//p' "$QOUT/base.env")
	[[ -f $BASE_OVA ]] || { echo "$DEMO_NAME: no base OVA" >&2; return 1; }
	tar -tvf "$BASE_OVA"
	echo "OVA in: $BASE_OVA (log in as $SSH_USER with $SSH_KEY)"
}

build() {
	say "Stage 3: packer build example/qemu/app.pkr.hcl (boots the appliance under QEMU)"
	local tmpl=$ROOT/example/qemu/app.pkr.hcl
	rm -rf "$QOUT/output"
	"$PACKER" init "$tmpl"
	"$PACKER" build -color=false -force \
		-var "source_path=$BASE_OVA" -var "ssh_username=$SSH_USER" -var "ssh_private_key_file=$SSH_KEY" \
		-var "output_directory=$QOUT/output" \
		"$tmpl"
}

verify() {
	say "Stage 4: verify"
	local ova=$QOUT/output/$VM_NAME.ova
	[[ -f $ova.sha256 ]] || { echo "$DEMO_NAME: no $ova.sha256" >&2; ls -l "$QOUT/output" >&2 || true; return 1; }
	(cd "$QOUT/output" && sha256sum -c "$VM_NAME.ova.sha256")
	descriptor_has "$ova" "$VM_NAME" '<rasd:VirtualQuantity>2</rasd:VirtualQuantity>' \
		'<rasd:VirtualQuantity>1536</rasd:VirtualQuantity>' 'ovf:capacity="4294967296"'
	echo "Hardware in the OVA: 2 vCPUs, 1536 MB, a 4096 MiB disk (the base OVA: 1 vCPU, 1024 MB, 2048 MiB)"
	echo
	echo "OVA in:  $BASE_OVA"
	echo "OVA out: $ova (booted, provisioned with /etc/ovakit-build, exported and packed in ${SECONDS}s)"
}

main() {
	check_tools
	check_qemu
	install_plugin 1
	base_ova
	build
	verify
}

main "$@"
