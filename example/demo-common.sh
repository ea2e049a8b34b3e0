# shellcheck shell=bash
# Shared by example/demo.sh, demo-builder.sh and demo-qemu.sh (sourced, not run):
# paths, the private Packer folders, and the stages the scripts share.
# Callers set DEMO_NAME (for messages) before sourcing.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${DEMO_OUT:-$ROOT/example/output-demo}
# The oldest Packer with `packer plugins install --path`.
PACKER_MIN=1.10.0
PLUGIN=${DEMO_PLUGIN:-$ROOT/bin/packer-plugin-vsphere-ova}

# Private Packer folders: the demo never touches the user's own plugins.
export PACKER_CONFIG_DIR=$OUT/packer-config
export PACKER_PLUGIN_PATH=$OUT/packer-plugins
export CHECKPOINT_DISABLE=1

say() { printf '\n==> %s\n' "$*"; }

# version_ge A B: A >= B for dotted versions.
version_ge() { [[ $(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1) == "$2" ]]; }

# find_packer sets PACKER: $DEMO_PACKER, else a `packer` on PATH of at least
# PACKER_MIN, else bin/packer, built if missing (the version tools/go.mod
# pins; a minute or two with a warm Go cache).
find_packer() {
	PACKER=${DEMO_PACKER:-}
	if [[ -z $PACKER ]] && command -v packer >/dev/null; then
		local v
		v=$(packer version 2>/dev/null | sed -n '1s/^Packer v\([0-9.]*\).*/\1/p')
		if [[ -n $v ]] && version_ge "$v" "$PACKER_MIN"; then
			PACKER=$(command -v packer)
		else
			echo "$DEMO_NAME: $(command -v packer) is Packer ${v:-of unknown version}, older than $PACKER_MIN: using bin/packer"
		fi
	fi
	if [[ -z $PACKER ]]; then
		[[ -x $ROOT/bin/packer ]] || make -C "$ROOT" --no-print-directory "$ROOT/bin/packer"
		PACKER=$ROOT/bin/packer
	fi
	echo "$DEMO_NAME: using $PACKER ($("$PACKER" version | head -n 1))"
}

# check_tools finds Packer and checks the plugin and the programs the demo
# drives, installing qemu-utils (qemu-img) when it is missing.
check_tools() {
	local missing=0
	find_packer
	if [[ ! -x $PLUGIN ]]; then
		echo "$DEMO_NAME: $PLUGIN not found: run 'make build' (or 'make demo', which does)" >&2
		missing=1
	fi
	command -v qemu-img >/dev/null || bash "$ROOT/.ci/install-deps" qemu-utils
	for p in qemu-img sha256sum tar go; do
		if ! command -v "$p" >/dev/null; then
			echo "$DEMO_NAME: $p not found on PATH" >&2
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
