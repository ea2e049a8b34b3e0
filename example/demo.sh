#!/usr/bin/env bash
# `make demo` (after `make tools build`), from the repository root: the main
# job on generated sample data. Each stage is a function so later components
# (the vsphere-ova builder) can add their own stages.
#
#   1. make a sample vSphere-style export (internal/fixture/cmd/mkexport:
#      .ovf with vmw namespaces, SHA256 .mf, streamOptimized disk by qemu-img)
#   2. install the plugin into a private Packer config/plugin folder
#   3. packer init + build example/post-processor/demo.pkr.hcl
#      (null builder -> artifice -> vsphere-ova)
#   4. check the OVA with sha256sum -c and list it with tar
set -euo pipefail

DEMO_NAME=demo
# shellcheck source=example/demo-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/demo-common.sh"
VM_NAME=demo-vm

make_export() {
	say "Stage 1: sample vSphere-style export in $OUT/export"
	rm -rf "$OUT/export"
	(cd "$ROOT" && go run ./internal/fixture/cmd/mkexport -dir "$OUT/export" -name "$VM_NAME" \
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
	(cd "$OUT" && sha256sum -c "$VM_NAME.ova.sha256")
	tar -tvf "$OUT/$VM_NAME.ova"
	echo
	echo "OVA:      $OUT/$VM_NAME.ova"
	echo "Checksum: $OUT/$VM_NAME.ova.sha256"
}

main() {
	check_tools
	make_export
	install_plugin 2
	pack_ova
	verify_ova
}

main "$@"
