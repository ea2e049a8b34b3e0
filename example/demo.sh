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

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${DEMO_OUT:-$ROOT/example/output-demo}
PACKER=$ROOT/bin/packer
PLUGIN=$ROOT/bin/packer-plugin-vsphere-ova
VM_NAME=demo-vm

# Private Packer folders: the demo never touches the user's own plugins.
export PACKER_CONFIG_DIR=$OUT/packer-config
export PACKER_PLUGIN_PATH=$OUT/packer-plugins
export CHECKPOINT_DISABLE=1

say() { printf '\n==> %s\n' "$*"; }

check_tools() {
	local missing=0
	for f in "$PACKER" "$PLUGIN"; do
		if [[ ! -x $f ]]; then
			echo "demo: $f not found: run 'make tools build' (or 'make demo', which does)" >&2
			missing=1
		fi
	done
	for p in qemu-img sha256sum tar go; do
		if ! command -v "$p" >/dev/null; then
			echo "demo: $p not found on PATH (qemu-img: apt-get install qemu-utils)" >&2
			missing=1
		fi
	done
	return $missing
}

make_export() {
	say "Stage 1: sample vSphere-style export in $OUT/export"
	rm -rf "$OUT/export"
	(cd "$ROOT" && go run ./internal/fixture/cmd/mkexport -dir "$OUT/export" -name "$VM_NAME" \
		-disk-mib "${DEMO_DISK_MIB:-256}" -data-mib "${DEMO_DATA_MIB:-32}" -manifest)
	ls -l "$OUT/export"
}

install_plugin() {
	say "Stage 2: packer plugins install --path $PLUGIN"
	mkdir -p "$PACKER_CONFIG_DIR" "$PACKER_PLUGIN_PATH"
	"$PACKER" plugins install --path "$PLUGIN" github.com/ovakit/vsphere-ova
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
	install_plugin
	pack_ova
	verify_ova
}

main "$@"
