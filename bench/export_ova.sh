#!/usr/bin/env bash
# OVA export benchmark (issue 16): the `vsphere-ova` builder inside a real
# `packer build` against the simulator (internal/testkit/vcsim), the same
# base VM built two ways in the same run, alternately:
#
#   ova      export { output_format = "ova" }: the NFC download streams
#            straight into one OVA (plus the checksum file's re-read).
#   two-step export { output_format = "ovf" } (the export folder) and
#            post-processor "vsphere-ova" {} packing it into an OVA.
#
# Both end with an OVA, its SHA-256 manifest and a .sha256 checksum file.
# Reported per path, best and median of the runs:
#   build    the whole `packer build`'s wall time (import, boot and shutdown
#            are the same in both paths, so the difference is the export
#            and packing);
#   export   the export step's own duration, from its "Exported N files ...
#            in Xs" line (for two-step the folder only, without the packing);
#   written  bytes the packer process tree wrote: write_bytes (to the
#            storage layer: the files) and wchar (passed to write(2),
#            sockets included, so the import's upload of the base disk to
#            the simulator counts in both paths) from /proc/<pid>/io
#            of the shell that ran and reaped `packer build` (reaped
#            children's counts add up in their parent: Packer's, the
#            plugin's); the simulator's own writes are not counted.
# Ratios ova / two-step are printed; exits non-zero when the OVA path's
# build is not faster (set EXPORT_OVA_BENCH_STRICT=0 to only report).
#
# Env: EXPORT_OVA_BENCH_MIB (2048; incompressible, so the VMDK is that big),
# EXPORT_OVA_BENCH_REPEAT (3).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mib=${EXPORT_OVA_BENCH_MIB:-2048}
repeat=${EXPORT_OVA_BENCH_REPEAT:-3}
strict=${EXPORT_OVA_BENCH_STRICT:-1}
work=$root/bench/out/export_ova
packer=${PACKER_BIN:-$root/bin/packer}
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
packer_env "$work"

vcsim_pid=''
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  [[ -z $vcsim_pid ]] || { kill -INT "$vcsim_pid" 2> /dev/null || true; wait "$vcsim_pid" 2> /dev/null || true; }
  rm -rf "$work/out" "$work/base.ova"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$work" && mkdir -p "$work/bin" "$PACKER_CONFIG_DIR" "$PACKER_PLUGIN_PATH"
(cd "$root" && go build -o "$work/bin/packer-plugin-vsphere-ova" . && go build -o "$work/bin/vcsim" ./internal/testkit/cmd/vcsim)
install_plugin "$work/bin/packer-plugin-vsphere-ova"

base_ova "$work" "$mib"
start_vcsim "$work"

# template KIND FORMAT POSTPROCESSOR: $work/tmpl-KIND, `packer init`ed.
template() {
  mkdir -p "$work/tmpl-$1"
  {
    plugin_block
    cat << EOF
variable "host" { type = string }
variable "source_path" { type = string }
variable "out" { type = string }
source "vsphere-ova" "bench" {
  vcenter_server      = var.host
  username            = "user"
  password            = "pass"
  insecure_connection = true
  cluster             = "DC0_C0"
  source_path         = var.source_path
  vm_name             = "bench-\${uuidv4()}"
  communicator        = "none"
  ip_settle_timeout   = "1s"
  export {
    name             = "bench"
    output_directory = var.out
    force            = true
    manifest         = "sha256"
    output_format    = "$2"
  }
}
build {
  sources = ["source.vsphere-ova.bench"]
  $3
}
EOF
  } > "$work/tmpl-$1/build.pkr.hcl"
  (cd "$work/tmpl-$1" && "$packer" init . > /dev/null)
}
template ova ova ''
template two-step ovf 'post-processor "vsphere-ova" {}'

res=$work/results && mkdir -p "$res"
# run KIND: one build; appends to results/KIND.{build,export,wbytes,wchar}.
run() {
  local kind=$1 s e io
  rm -rf "$work/out" && sync
  s=$(date +%s.%N)
  # The inner shell reaps packer, so its /proc/self/io then holds the tree's.
  io=$(bash -c '"$@" > "'"$work/build-$kind.log"'" 2>&1 || exit 1; cat /proc/$$/io' _ \
    "$packer" build -color=false -force -var host="$host" -var source_path="$work/base.ova" -var out="$work/out" "$work/tmpl-$kind") ||
    { cat "$work/build-$kind.log" >&2; echo "packer build ($kind) failed" >&2; exit 1; }
  e=$(date +%s.%N)
  echo "$e - $s" | bc >> "$res/$kind.build"
  sed -n 's/.*Exported [0-9]* files to .* in \([0-9.]*\)s (.*/\1/p' "$work/build-$kind.log" | tail -1 >> "$res/$kind.export"
  awk '/^write_bytes:/ { print $2 }' <<< "$io" >> "$res/$kind.wbytes"
  awk '/^wchar:/ { print $2 }' <<< "$io" >> "$res/$kind.wchar"
  ova=$work/out/bench.ova
  [[ -s $ova ]] || { cat "$work/build-$kind.log" >&2; echo "no OVA from the $kind build" >&2; exit 1; }
  (cd "$work/out" && sha256sum -c --quiet bench.ova.sha256) || { echo "$kind: the OVA does not match its checksum file" >&2; exit 1; }
  size=$(stat -c %s "$ova")
}
for ((i = 1; i <= repeat; i++)); do
  for kind in ova two-step; do run "$kind"; done
  echo "   run $i: build ova $(tail -1 "$res/ova.build")s, two-step $(tail -1 "$res/two-step.build")s (load $(loadavg))"
done

mibs() { awk '{ printf "%.0f", $1 / 1048576 }'; }
echo
echo "OVA export vs export folder + vsphere-ova post-processor, one disk of $mib MiB (OVA $((size >> 20)) MiB), best/median of $repeat runs"
for kind in ova two-step; do
  printf '  %-9s build %8.2fs (median %.2fs)  export step %7.2fs  written %6s MiB (write_bytes), %6s MiB (wchar)\n' "$kind" \
    "$(best < "$res/$kind.build")" "$(median < "$res/$kind.build")" "$(best < "$res/$kind.export")" \
    "$(sort -g "$res/$kind.wbytes" | head -1 | mibs)" "$(sort -g "$res/$kind.wchar" | head -1 | mibs)"
done
rt=$(awk -v a="$(best < "$res/ova.build")" -v b="$(best < "$res/two-step.build")" 'BEGIN { printf "%.2f", a / b }')
rw=$(awk -v a="$(sort -g "$res/ova.wchar" | head -1)" -v b="$(sort -g "$res/two-step.wchar" | head -1)" 'BEGIN { printf "%.2f", a / b }')
rb=$(awk -v a="$(sort -g "$res/ova.wbytes" | head -1)" -v b="$(sort -g "$res/two-step.wbytes" | head -1)" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
echo "  ova / two-step: build time $rt (target < 1.0), wchar $rw, write_bytes $rb"
if ! awk -v r="$rt" 'BEGIN { exit !(r < 1.0) }'; then
  echo "  TARGET MISSED: the OVA path is not faster"
  [[ $strict == 0 ]] || exit 1
fi
