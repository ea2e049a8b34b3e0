# shellcheck shell=bash
# Shared by example/demo.sh, demo-builder.sh and demo-qemu.sh (sourced, not run):
# paths, the private Packer folders, and the stages the scripts share.
# Callers set DEMO_NAME (for messages) before sourcing.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${DEMO_OUT:-$ROOT/example/output-demo}
PACKER=$ROOT/bin/packer
PLUGIN=${DEMO_PLUGIN:-$ROOT/bin/packer-plugin-vsphere-ova}

# Private Packer folders: the demo never touches the user's own plugins.
export PACKER_CONFIG_DIR=$OUT/packer-config
export PACKER_PLUGIN_PATH=$OUT/packer-plugins
export CHECKPOINT_DISABLE=1

say() { printf '\n==> %s\n' "$*"; }

check_tools() {
	local missing=0
	for f in "$PACKER" "$PLUGIN"; do
		if [[ ! -x $f ]]; then
			echo "$DEMO_NAME: $f not found: run 'make tools build' (or 'make demo', which does)" >&2
			missing=1
		fi
	done
	for p in qemu-img sha256sum tar go; do
		if ! command -v "$p" >/dev/null; then
			echo "$DEMO_NAME: $p not found on PATH (qemu-img: apt-get install qemu-utils)" >&2
			missing=1
		fi
	done
	return $missing
}

# install_plugin STAGE: packer plugins install --path, as users install it.
install_plugin() {
	say "Stage $1: packer plugins install --path $PLUGIN"
	mkdir -p "$PACKER_CONFIG_DIR" "$PACKER_PLUGIN_PATH"
	"$PACKER" plugins install --path "$PLUGIN" github.com/ovakit/vsphere-ova
}

# descriptor_has OVA NAME WHAT... lists the OVA and checks that its
# descriptor NAME.ovf contains each WHAT (a hardware line the build set).
descriptor_has() {
	local ova=$1 name=$2 desc want
	shift 2
	tar -tvf "$ova"
	desc=$(tar -xOf "$ova" "$name.ovf")
	for want in "$@"; do
		if ! grep -qF "$want" <<<"$desc"; then
			echo "$DEMO_NAME: the OVA's descriptor lacks $want (hardware not reconfigured?)" >&2
			return 1
		fi
	done
}
