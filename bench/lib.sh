# shellcheck shell=bash
# Shell functions the benchmarks share (sourced by bench/*.sh, not run).
# Callers set root (the repository) and, before calling ensure_packer or
# install_plugin, packer (the Packer binary).
# shellcheck disable=SC2154 # root and packer are the caller's

# packer_env DIR: Packer's folders under DIR, never the user's own plugins
# or config; no update check, no colours. The caller creates the folders.
packer_env() {
  export CHECKPOINT_DISABLE=1 PACKER_NO_COLOR=1
  export PACKER_CONFIG_DIR=$1/packer/config PACKER_PLUGIN_PATH=$1/packer/plugins
}

# ensure_packer: builds Packer from tools/go.mod into $packer when missing.
ensure_packer() {
  if [[ ! -x $packer ]]; then
    echo "building Packer from tools/go.mod into $packer (make tools)"
    (cd "$root" && go build -modfile=tools/go.mod -o "$packer" github.com/hashicorp/packer)
  fi
}

# install_plugin BINARY: the plugin built into BINARY (by the caller)
# installed for $packer with `packer plugins install --path`, as users do.
install_plugin() {
  ensure_packer
  "$packer" plugins install --path "$1" github.com/ovakit/vsphere-ova > /dev/null
}

# plugin_block: the templates' packer block, requiring the installed plugin.
plugin_block() {
  cat << 'EOF_PLUGIN'
packer {
  required_plugins {
    vsphere-ova = {
      version = ">= 0.2.0"
      source  = "github.com/ovakit/vsphere-ova"
    }
  }
}
EOF_PLUGIN
}

# build_plugin HELPER PLUGIN: bench/ovapack built into HELPER and the plugin
# into PLUGIN, which is then installed for $packer.
build_plugin() {
  (cd "$root" && go build -o "$1" ./bench/ovapack && go build -o "$2" .)
  install_plugin "$2"
}

# artifice_templates DIR VARIABLES FILES POSTPROCESSOR: the two templates a
# "with minus without" benchmark runs, DIR/with and DIR/without (each
# `packer init`ed): a null source and an artifice post-processor of FILES
# (an HCL expression) after VARIABLES (HCL variable blocks); "with" adds
# POSTPROCESSOR (an HCL post-processor block) after the artifice.
artifice_templates() {
  local dir=$1 vars=$2 files=$3 pp=$4 kind
  for kind in with without; do
    mkdir -p "$dir/$kind"
    {
      plugin_block
      printf '%s\nsource "null" "bench" { communicator = "none" }\nbuild {\n  sources = ["source.null.bench"]\n' "$vars"
      printf '  post-processors {\n    post-processor "artifice" {\n      files = %s\n    }\n' "$files"
      if [[ $kind == with ]]; then printf '%s\n' "$pp"; fi
      printf '  }\n}\n'
    } > "$dir/$kind/bench.pkr.hcl"
    (cd "$dir/$kind" && "$packer" init . > /dev/null)
  done
}

# Statistics. field FILE KEY: the KEY=value values of every run (lines of
# bench/ovapack watch), one a line; best, median, maxof read numbers on
# stdin, one a line.
field() { grep -oE "(^| )$2=[0-9.]*" "$1" | cut -d= -f2; }
best() { sort -g | head -1; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
maxof() { sort -g | tail -1; }
# calc EXPR: awk arithmetic, two decimals. le A B: whether A <= B.
calc() { awk "BEGIN { printf \"%.2f\", $1 }"; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# loadavg: the 1, 5 and 15 minute load averages, for the run lines.
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# base_ova WORK MIB writes WORK/base.ova: one MIB MiB disk of random data
# (incompressible, so the VMDK is that big), .ovf first, as an OVA must be.
base_ova() {
  local work=$1 mib=$2 d files=(base.ovf base.mf)
  echo "generating a base OVA with one $mib MiB disk of random data"
  (cd "$root" && go run ./internal/testkit/cmd/mkexport -dir "$work/base" -name base -disk-mib "$mib" -data-mib "$mib" -manifest > /dev/null)
  for d in "$work"/base/base-disk-*.vmdk; do files+=("$(basename "$d")"); done
  tar --format=ustar -cf "$work/base.ova" -C "$work/base" "${files[@]}"
  rm -rf "$work/base"
}

# start_vcsim WORK starts WORK/bin/vcsim (vCenter mode, guest IPs on) on
# 127.0.0.1 and sets vcsim_pid and host (for the caller); WORK/vcsim.env has
# its URL and login.
start_vcsim() {
  local work=$1
  "$work/bin/vcsim" -mode vcenter -listen 127.0.0.1:0 -auto-ip 127.0.0.1 > "$work/vcsim.env" 2> "$work/vcsim.log" &
  # shellcheck disable=SC2034 # read by the sourcing script
  vcsim_pid=$!
  for _ in $(seq 1 100); do grep -q '^VCSIM_PASSWORD=' "$work/vcsim.env" 2> /dev/null && break; sleep 0.1; done
  host=$(sed -n 's/^VCSIM_HOST=//p' "$work/vcsim.env")
  [[ -n $host ]] || { cat "$work/vcsim.log" >&2; echo "vcsim did not start" >&2; exit 1; }
}
