#!/usr/bin/env bash
# `make demo`, after example/demo.sh: the builder's full path against the
# simulator (internal/testkit/vcsim, the embedded default vCenter): OVA in -> build ->
# OVA out.
#
#   1. start internal/testkit/cmd/vcsim on 127.0.0.1 (random port) with -auto-ip,
#      so VMware Tools of the booted VM "report" an IP
#   2. make a base OVA: a sample export (internal/testkit/cmd/mkexport) put in
#      a tar, .ovf first, as an OVA must be
#   3. packer build example/builder/demo.pkr.hcl (vsphere-ova builder ->
#      vsphere-ova post-processor)
#   4. check the resulting OVA with sha256sum -c, and that its descriptor has
#      the template's hardware (4 vCPUs, 2 per socket, 3072 MB), not the base
#      OVA's (2 vCPUs, 1 per socket, 1024 MB)
# The simulator is stopped on exit, also on failure or Ctrl-C.
set -euo pipefail

DEMO_NAME=demo-builder
# shellcheck source=example/demo-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/demo-common.sh"
BOUT=$OUT/builder
BASE_NAME=base-vm
VM_NAME=demo-appliance
MODE=${DEMO_VCSIM_MODE:-vcenter} # or esxi

VCSIM_PID=
stop_vcsim() {
	if [[ -n $VCSIM_PID ]] && kill -0 "$VCSIM_PID" 2>/dev/null; then
		kill -INT "$VCSIM_PID" 2>/dev/null || true
		wait "$VCSIM_PID" 2>/dev/null || true
	fi
	VCSIM_PID=
}
trap stop_vcsim EXIT
trap 'stop_vcsim; exit 130' INT TERM

start_vcsim() {
	say "Stage 1: simulator ($MODE) on 127.0.0.1"
	mkdir -p "$BOUT"
	(cd "$ROOT" && go build -o "$BOUT/vcsim" ./internal/testkit/cmd/vcsim)
	local info=$BOUT/vcsim.env
	rm -f "$info"
	"$BOUT/vcsim" -mode "$MODE" -listen 127.0.0.1:0 -auto-ip 127.0.0.1 >"$info" 2>"$BOUT/vcsim.log" &
	VCSIM_PID=$!
	for _ in $(seq 1 100); do
		grep -q '^VCSIM_PASSWORD=' "$info" 2>/dev/null && break
		kill -0 "$VCSIM_PID" 2>/dev/null || { cat "$BOUT/vcsim.log" >&2; echo "demo-builder: vcsim exited" >&2; return 1; }
		sleep 0.1
	done
	VCSIM_HOST=$(sed -n 's/^VCSIM_HOST=//p' "$info")
	VCSIM_USERNAME=$(sed -n 's/^VCSIM_USERNAME=//p' "$info")
	VCSIM_PASSWORD=$(sed -n 's/^VCSIM_PASSWORD=//p' "$info")
	[[ -n $VCSIM_HOST ]] || { echo "demo-builder: vcsim printed no address" >&2; return 1; }
	echo "vCenter simulator at https://$VCSIM_HOST/sdk"
}

make_base_ova() {
	say "Stage 2: base OVA $BOUT/$BASE_NAME.ova"
	rm -rf "$BOUT/base"
	(cd "$ROOT" && go run ./internal/testkit/cmd/mkexport -dir "$BOUT/base" -name "$BASE_NAME" \
		-disk-mib "${DEMO_DISK_MIB:-256}" -data-mib "${DEMO_DATA_MIB:-32}" -manifest)
	# An OVA is a tar with the .ovf first and the manifest second.
	local files=("$BASE_NAME.ovf" "$BASE_NAME.mf")
	for d in "$BOUT/base/$BASE_NAME"-disk-*.vmdk; do files+=("$(basename "$d")"); done
	tar --format=ustar -cf "$BOUT/$BASE_NAME.ova.tmp" -C "$BOUT/base" "${files[@]}"
	mv "$BOUT/$BASE_NAME.ova.tmp" "$BOUT/$BASE_NAME.ova"
	tar -tvf "$BOUT/$BASE_NAME.ova"
}

build() {
	say "Stage 3: packer build example/builder/demo.pkr.hcl"
	local tmpl=$ROOT/example/builder/demo.pkr.hcl
	local cluster=""
	[[ $MODE == vcenter ]] && cluster=DC0_C0
	rm -rf "$BOUT/output"
	"$PACKER" init "$tmpl"
	"$PACKER" build -color=false -force \
		-var "vcenter_server=$VCSIM_HOST" -var "username=$VCSIM_USERNAME" -var "password=$VCSIM_PASSWORD" \
		-var "cluster=$cluster" -var "vm_name=$VM_NAME" \
		-var "source_path=$BOUT/$BASE_NAME.ova" -var "output_directory=$BOUT/output" \
		"$tmpl"
}

verify() {
	say "Stage 4: verify"
	local sums
	sums=$(find "$BOUT/output" -maxdepth 1 -name '*.ova.sha256' | head -n 1)
	if [[ -z $sums ]]; then
		echo "demo-builder: no .ova.sha256 in $BOUT/output" >&2
		ls -l "$BOUT/output" >&2 || true
		return 1
	fi
	(cd "$(dirname "$sums")" && sha256sum -c "$(basename "$sums")")
	local ova=${sums%.sha256}
	descriptor_has "$ova" "$VM_NAME" '<rasd:VirtualQuantity>4</rasd:VirtualQuantity>' \
		'<vmw:CoresPerSocket ovf:required="false">2</vmw:CoresPerSocket>' '<rasd:VirtualQuantity>3072</rasd:VirtualQuantity>'
	echo "Hardware in the OVA: 4 vCPUs (2 per socket), 3072 MB"
	echo
	echo "OVA in:  $BOUT/$BASE_NAME.ova"
	echo "OVA out: ${sums%.sha256}"
}

main() {
	check_tools
	install_plugin 0
	start_vcsim
	make_base_ova
	build
	verify
	stop_vcsim
}

main "$@"
