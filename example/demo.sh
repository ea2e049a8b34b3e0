#!/usr/bin/env bash
# `make demo` (after `make tools build`), from the repository root: the main
# job on generated sample data. Each stage is a function so later components
# (the vsphere-ova builder) can add their own stages.
#
#   1. make a sample vSphere-style export (internal/testkit/cmd/mkexport:
#      .ovf with vmw namespaces, SHA256 .mf, streamOptimized disk by qemu-img)
#   2. install the plugin into a private Packer config/plugin folder
#   3. packer init + build example/post-processor/demo.pkr.hcl
#      (null builder -> artifice -> vsphere-ova, targets vsphere,
#      workstation and virtualbox: three OVAs from one read of the export)
#   4. check each OVA with sha256sum -c, list it with tar and show the
#      product and vApp property its descriptor carries
set -euo pipefail

DEMO_NAME=demo
# shellcheck source=example/demo-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/demo-common.sh"
VM_NAME=demo-vm

make_export() {
	say "Stage 1: sample vSphere-style export in $OUT/export"
	rm -rf "$OUT/export"
	(cd "$ROOT" && go run ./internal/testkit/cmd/mkexport -dir "$OUT/export" -name "$VM_NAME" \
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
		"$tmpl"
}

verify_ova() {
	say "Stage 4: verify"
	local ova
	for ova in "$VM_NAME.ova" "$VM_NAME-workstation.ova" "$VM_NAME-virtualbox.ova"; do
		echo "-- $ova"
		(cd "$OUT" && sha256sum -c "$ova.sha256")
		tar -tvf "$OUT/$ova"
		# What the import wizards show: the product and the vApp property.
		tar -xOf "$OUT/$ova" "$VM_NAME.ovf" | grep -E '<(Product|Vendor|Version)>|<Property |VirtualSystemType' | sed 's/^ */   /'
	done
	# The sample export (vmx-13, LSI Logic, BIOS, no .nvram) needs nothing
	# changed for Workstation or VirtualBox; a vSphere 8 EFI export does
	# (hardware version, SATA subtype, .nvram: see the docs' target table).
	if cmp -s <(tar -xOf "$OUT/$VM_NAME.ova" "$VM_NAME.ovf") <(tar -xOf "$OUT/$VM_NAME-virtualbox.ova" "$VM_NAME.ovf"); then
		echo "The vsphere and virtualbox descriptors are identical: this sample export imports into VirtualBox as it is."
	else
		echo "The virtualbox descriptor differs from the vsphere one:"
		diff <(tar -xOf "$OUT/$VM_NAME.ova" "$VM_NAME.ovf") <(tar -xOf "$OUT/$VM_NAME-virtualbox.ova" "$VM_NAME.ovf") || true
	fi
	echo
	echo "OVAs:      $OUT/$VM_NAME.ova (vsphere), $OUT/$VM_NAME-workstation.ova, $OUT/$VM_NAME-virtualbox.ova"
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
