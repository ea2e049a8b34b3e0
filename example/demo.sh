#!/usr/bin/env bash
# `make demo` (after `make tools build`), from the repository root: the main
# job on generated sample data. Each stage is a function so later components
# (the vsphere-ova builder) can add their own stages.
#
#   1. make a sample vSphere 8 style export (internal/testkit/cmd/mkexport
#      -shape vsphere8: vmx-21, EFI with Secure Boot and a .nvram, PVSCSI, a
#      SATA CD-ROM, a serial port; SHA256 .mf; streamOptimized disk by qemu-img)
#   2. install the plugin into a private Packer config/plugin folder
#   3. packer init + build example/post-processor/demo.pkr.hcl
#      (null builder -> artifice -> vsphere-ova, targets vsphere,
#      workstation, virtualbox and portable: four OVAs from one read of the
#      export)
#   4. check each OVA with sha256sum -c, list it with tar, show the product
#      and vApp property its descriptor carries, and what each target changed
#      against the vsphere OVA (descriptor diff, members left out)
set -euo pipefail

DEMO_NAME=demo
# shellcheck source=example/demo-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/demo-common.sh"
VM_NAME=demo-vm

make_export() {
	say "Stage 1: sample vSphere 8 style export in $OUT/export"
	rm -rf "$OUT/export"
	(cd "$ROOT" && go run ./internal/testkit/cmd/mkexport -dir "$OUT/export" -name "$VM_NAME" -shape vsphere8 \
		-disk-mib "${DEMO_DISK_MIB:-256}" -data-mib "${DEMO_DATA_MIB:-32}" -manifest)
	ls -l "$OUT/export"
}

pack_ova() {
	say "Stage 3: packer build example/post-processor/demo.pkr.hcl"
	local tmpl=$ROOT/example/post-processor/demo.pkr.hcl
	"$PACKER" init "$tmpl"
	# -force: re-running the demo replaces the previous OVA.
	"$PACKER" build -color=false -force \
		-var "export_dir=$OUT/export" -var "vm_name=$VM_NAME" -var "output=$OUT/$VM_NAME.ova" \
		-var 'targets=["vsphere","workstation","virtualbox","portable"]' \
		"$tmpl"
}

# descriptor OVA prints the OVA's .ovf.
descriptor() { tar -xOf "$1" "$VM_NAME.ovf"; }

indent() { sed 's/^/     /'; }

# members OVA lists the OVA's member names, one per line.
members() { tar -tf "$1"; }

verify_ova() {
	say "Stage 4: verify"
	local ova target base=$OUT/$VM_NAME.ova
	for ova in "$VM_NAME.ova" "$VM_NAME-workstation.ova" "$VM_NAME-virtualbox.ova" "$VM_NAME-portable.ova"; do
		echo "-- $ova"
		(cd "$OUT" && sha256sum -c "$ova.sha256")
		tar -tvf "$OUT/$ova"
		# What the import wizards show: the product and the vApp property.
		descriptor "$OUT/$ova" | grep -E '<(Product|Vendor|Version)>|<Property |VirtualSystemType' | sed 's/^ */   /'
	done
	say "What each target changed, against the vsphere OVA (the export as vCenter wrote it, plus the options)"
	local changed left
	for target in workstation virtualbox portable; do
		ova=$OUT/$VM_NAME-$target.ova
		echo "-- $target"
		changed=$(diff <(descriptor "$base") <(descriptor "$ova") | grep '^[<>]' || true)
		left=$(comm -23 <(members "$base" | sort) <(members "$ova" | sort))
		if [[ -z $changed && -z $left ]]; then
			echo "   nothing: this importer knows every device and the hardware version (vmx-21) of this export"
			continue
		fi
		[[ -z $changed ]] || { echo "   descriptor (< vsphere, > $target):"; indent <<<"$changed"; }
		[[ -z $left ]] || { echo "   members left out:"; indent <<<"$left"; }
	done
	echo
	echo "OVAs:      $OUT/$VM_NAME.ova (vsphere), $OUT/$VM_NAME-workstation.ova, $OUT/$VM_NAME-virtualbox.ova, $OUT/$VM_NAME-portable.ova"
	echo "Checksums: <ova>.sha256 beside each"
}

main() {
	check_tools
	make_export
	install_plugin 2
	pack_ova
	verify_ova
}

main "$@"
