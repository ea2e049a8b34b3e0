#!/usr/bin/env bash
# Builder export benchmark (issue 8): the `vsphere-ova` builder's export step
# inside a real `packer build` against the simulator (internal/vcsim, HTTPS on
# 127.0.0.1, as a vCenter serves the NFC lease), next to floors measured in the
# same run on the same exported disk:
#
#   export   the step's own duration, from its "Exported N files ... in Xs"
#            line: download over the lease, write, fsync, manifest digest.
#   cat      cat of the exported disk into a file + fsync (the copy limit).
#   sha      one SHA-256 pass over it (openssl).
#   floor    L = max(cat + fsync, sha), as for the post-processor (bench/ova.sh).
#
# The simulator serves the disk over TLS from this machine, so its encryption
# and our decryption share the same cores as the write and the hash: the
# transfer itself is part of what users wait for, but not part of L. The
# ratio is reported against L and the target is export <= 1.3 L (as the
# post-processor's); set EXPORT_BENCH_STRICT=0 to report without failing.
#
# Env: EXPORT_BENCH_MIB (4096; incompressible data, so the VMDK is that big),
# EXPORT_BENCH_REPEAT (3).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mib=${EXPORT_BENCH_MIB:-4096}
repeat=${EXPORT_BENCH_REPEAT:-3}
strict=${EXPORT_BENCH_STRICT:-1}
work=$root/bench/out/export
packer=${PACKER_BIN:-$root/bin/packer}
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
packer_env "$work"

vcsim_pid=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  if [[ -n $vcsim_pid ]]; then kill -INT "$vcsim_pid" 2> /dev/null || true; wait "$vcsim_pid" 2> /dev/null || true; fi
  rm -rf "$work/out" "$work/base" "$work"/*.ova "$work/cat.out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$work" && mkdir -p "$work/bin" "$PACKER_CONFIG_DIR" "$PACKER_PLUGIN_PATH"
(cd "$root" && go build -o "$work/bin/packer-plugin-vsphere-ova" . && go build -o "$work/bin/vcsim" ./internal/vcsim/cmd/vcsim &&
  go build -o "$work/bin/ovapack" ./bench/ovapack)
install_plugin "$work/bin/packer-plugin-vsphere-ova"

echo "generating a base OVA with one $mib MiB disk of random data"
(cd "$root" && go run ./internal/fixture/cmd/mkexport -dir "$work/base" -name base -disk-mib "$mib" -data-mib "$mib" -manifest > /dev/null)
files=(base.ovf base.mf)
for d in "$work"/base/base-disk-*.vmdk; do files+=("$(basename "$d")"); done
tar --format=ustar -cf "$work/base.ova" -C "$work/base" "${files[@]}"
rm -rf "$work/base"

"$work/bin/vcsim" -mode vcenter -listen 127.0.0.1:0 -auto-ip 127.0.0.1 > "$work/vcsim.env" 2> "$work/vcsim.log" &
vcsim_pid=$!
for _ in $(seq 1 100); do grep -q '^VCSIM_PASSWORD=' "$work/vcsim.env" 2> /dev/null && break; sleep 0.1; done
host=$(sed -n 's/^VCSIM_HOST=//p' "$work/vcsim.env")
[[ -n $host ]] || { cat "$work/vcsim.log" >&2; echo "vcsim did not start" >&2; exit 1; }

mkdir -p "$work/tmpl"
{
  plugin_block
  cat << 'EOF'
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
  vm_name             = "bench-${uuidv4()}"
  communicator        = "none"
  ip_settle_timeout   = "1s"
  export {
    name             = "bench"
    output_directory = var.out
    force            = true
    manifest         = "sha256"
  }
}
build { sources = ["source.vsphere-ova.bench"] }
EOF
} > "$work/tmpl/export.pkr.hcl"
(cd "$work/tmpl" && "$packer" init . > /dev/null)

res=$work/results && mkdir -p "$res"
for ((i = 1; i <= repeat; i++)); do
  rm -rf "$work/out"
  sync
  "$work/bin/ovapack" watch -plugin packer-plugin-vsphere-ova -log "$work/build.log" -- \
    "$packer" build -force -var host="$host" -var source_path="$work/base.ova" -var out="$work/out" "$work/tmpl" > "$work/watch"
  grep -q 'exit=0$' "$work/watch" || { cat "$work/build.log" >&2; echo "packer build failed" >&2; exit 1; }
  secs=$(sed -n 's/.*Exported [0-9]* files to .* in \([0-9.]*\)s (.*/\1/p' "$work/build.log" | tail -1)
  [[ -n $secs ]] || { cat "$work/build.log" >&2; echo "no export duration in the build output" >&2; exit 1; }
  (cd "$work/out" && sed -n 's/^SHA256(\(.*\))= \(.*\)/\2  \1/p' bench.mf | sha256sum -c --quiet) ||
    { echo "the export's manifest does not match its files" >&2; exit 1; }
  echo "$secs" >> "$res/export"
  sed -n 's/.*plugin_rss_mib=\([0-9.]*\).*/\1/p' "$work/watch" >> "$res/rss"
  disks=("$work"/out/bench-disk-*.vmdk) && disk=${disks[0]}
  # The export drops what it wrote from the page cache (paced writeback), and
  # the simulator served the disk from its cache: warm the floor's input the
  # same way, so the floors measure copying and hashing, not a disk read.
  cat "$disk" > /dev/null
  sync
  s=$(date +%s.%N); cat "$disk" > "$work/cat.out" && sync "$work/cat.out"; e=$(date +%s.%N)
  echo "$e - $s" | bc >> "$res/cat"; rm -f "$work/cat.out"
  s=$(date +%s.%N); openssl dgst -sha256 "$disk" > /dev/null; e=$(date +%s.%N)
  echo "$e - $s" | bc >> "$res/sha"
  echo "   run $i: export ${secs}s (load $(loadavg))"
done

size=$(stat -c %s "$disk")
ex=$(best < "$res/export"); c=$(best < "$res/cat"); h=$(best < "$res/sha")
L=$(awk -v a="$c" -v b="$h" 'BEGIN { print (a > b) ? a : b }')
ratio=$(awk -v a="$ex" -v b="$L" 'BEGIN { printf "%.2f", a / b }')
rss=$(sort -g "$res/rss" | tail -1)
echo
echo "Builder export step, one disk of $((size >> 20)) MiB over the simulator's HTTPS lease, best/median of $repeat runs"
printf '  %-28s %8.2fs  (median %.2fs)\n' "export step (packer build)" "$ex" "$(median < "$res/export")"
printf '  %-28s %8.2fs  (median %.2fs)\n' "cat + fsync" "$c" "$(median < "$res/cat")"
printf '  %-28s %8.2fs  (median %.2fs)\n' "sha256 (openssl)" "$h" "$(median < "$res/sha")"
echo "  export / floor L = $ratio (target <= 1.3), plugin peak RSS ${rss} MiB (target < 128)"
ok=$(awk -v r="$ratio" -v m="${rss:-0}" 'BEGIN { print (r <= 1.3 && m < 128) ? 1 : 0 }')
if [[ $ok != 1 ]]; then
  echo "  TARGET MISSED"
  [[ $strict == 0 ]] || exit 1
fi
