#!/usr/bin/env bash
# QEMU builder benchmark (issue 11): what users wait for, from `packer build`
# to the OVA, for the base appliance, broken down by phase, next to qemu-img
# doing the disk conversions in the same run on the same machine.
#
# One real `packer build` (the plugin installed with `packer plugins install
# --path`) of source "vsphere-ova-qemu" from the bootable test appliance
# (bench/qemubase: the base OVA the builder's end-to-end tests boot), a small
# shell provisioner, shutdown, export, then post-processor "vsphere-ova" ->
# OVA, checked with sha256sum -c. The phases come from the lines the steps
# already print, each stamped as it arrives (packer also runs with
# -timestamp-ui, whose whole-second stamps stay in the log):
#
#   decode     "Working disks in"          -> "Starting QEMU"
#   boot       "Starting QEMU"             -> "Connected to SSH!"
#   provision  "Connected to SSH!"         -> "Running shutdown_command"
#   shutdown   "Running shutdown_command"  -> "The guest powered off"
#   encode     "Exporting to"              -> "Exported N files"
#   pack       "Running post-processor"    -> "Build ... finished"
#   other      the rest: plugin start, opening the source, cleanup
#
# Baselines, best of QEMU_BENCH_REPEAT (3), inputs warm in the page cache as
# the build's are:
#   decode  qemu-img convert -O raw of the same streamOptimized VMDK, which
#           qemu-img cannot read inside an OVA: tar extraction + convert is
#           the fair baseline (it starts from the OVA, as the builder does),
#           convert alone is reported as the lower bound.
#   encode  qemu-img convert -O vmdk -o subformat=streamOptimized of the
#           working disk the export encoded (the exported VMDK decoded back
#           to raw, untimed), plus sync of the result: the export fsyncs its
#           files. The export also hashes them for the manifest and writes
#           the OVF; qemu-img does neither.
#
# Targets: our decode <= qemu-img's extraction + convert, our encode <=
# qemu-img's encode (best runs). Exits 1 when one is missed
# (QEMU_BENCH_STRICT=0: report only). The guest runs under TCG here (no
# usable KVM), so boot and provisioning dominate the total.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
repeat=${QEMU_BENCH_REPEAT:-3}
strict=${QEMU_BENCH_STRICT:-1}
work=$root/bench/out/qemu
packer=${PACKER_BIN:-$root/bin/packer}
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
packer_env "$work"

for p in qemu-img qemu-system-x86_64 sha256sum tar; do
  command -v "$p" > /dev/null || { echo "qemu bench: $p is required (apt-get install qemu-utils qemu-system-x86)" >&2; exit 2; }
done

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { rm -rf "$work/out" "$work/base" "$work/enc"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$work" && mkdir -p "$work/bin" "$work/tmpl" "$work/base" "$work/enc" "$PACKER_CONFIG_DIR" "$PACKER_PLUGIN_PATH"
(cd "$root" && go build -o "$work/bin/packer-plugin-vsphere-ova" . && go build -o "$work/bin/qemubase" ./bench/qemubase)
install_plugin "$work/bin/packer-plugin-vsphere-ova"

"$work/bin/qemubase" > "$work/base.env"
base=$(sed -n 's/^BASE_OVA=//p' "$work/base.env")
user=$(sed -n 's/^SSH_USER=//p' "$work/base.env")
key=$(sed -n 's/^SSH_KEY=//p' "$work/base.env")
[[ -f $base && -n $user && -f $key ]] || { cat "$work/base.env" >&2; echo "qemu bench: no base OVA" >&2; exit 1; }

{
  plugin_block
  cat << 'EOF'
variable "source_path" { type = string }
variable "ssh_username" { type = string }
variable "ssh_private_key_file" { type = string }
variable "out" { type = string }
source "vsphere-ova-qemu" "bench" {
  source_path          = var.source_path
  vm_name              = "bench"
  ssh_username         = var.ssh_username
  ssh_private_key_file = var.ssh_private_key_file
  ssh_timeout          = "20m"
  shutdown_command     = "sudo systemctl poweroff"
  shutdown_timeout     = "5m"
  export {
    output_directory = var.out
    force            = true
  }
}
build {
  sources = ["source.vsphere-ova-qemu.bench"]
  provisioner "shell" {
    inline = ["echo built-by-bench | sudo tee /etc/ovakit-bench", "sync"]
  }
  # The export stays for the encode baseline.
  post-processor "vsphere-ova" { keep_input_artifact = true }
}
EOF
} > "$work/tmpl/bench.pkr.hcl"
(cd "$work/tmpl" && "$packer" init . > /dev/null)

# stamp: each line of stdin prefixed with the time it arrived (seconds).
stamp() { while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done; }

echo "packer build of the base appliance ($(du -m "$base" | cut -f1) MiB OVA) under QEMU, load $(loadavg)"
cat "$base" > /dev/null # warm, as for the baselines
sync
t0=$EPOCHREALTIME
set +e
(cd "$work/tmpl" && "$packer" build -timestamp-ui -force -var source_path="$base" -var ssh_username="$user" \
  -var ssh_private_key_file="$key" -var out="$work/out" . 2>&1) | stamp > "$work/build.log"
rc=${PIPESTATUS[0]}
set -e
t1=$EPOCHREALTIME
if [[ $rc != 0 ]]; then cut -d' ' -f2- "$work/build.log" >&2; echo "qemu bench: packer build failed" >&2; exit 1; fi
(cd "$work/out" && sha256sum -c --quiet bench.ova.sha256) || { echo "qemu bench: sha256sum -c failed on the OVA" >&2; exit 1; }

# at PATTERN: the arrival time of the first build line matching PATTERN.
at() {
  local t
  t=$(grep -m1 -E "$1" "$work/build.log" | cut -d' ' -f1)
  [[ -n $t ]] || { cut -d' ' -f2- "$work/build.log" >&2; echo "qemu bench: no line matching '$1' in the build output" >&2; exit 1; }
  echo "$t"
}
t_decode=$(at 'Working disks in ')
t_qemu=$(at 'Starting QEMU: ')
t_ssh=$(at 'Connected to SSH!')
t_shut=$(at 'Running shutdown_command')
t_off=$(at 'The guest powered off')
t_exp=$(at 'Exporting to ')
t_expd=$(at 'Exported [0-9]+ files to ')
t_pp=$(at 'Running post-processor')
t_done=$(at "Build '.*' finished")
declare -A ph
ph[decode]=$(calc "$t_qemu - $t_decode")
ph[boot]=$(calc "$t_ssh - $t_qemu")
ph[provision]=$(calc "$t_shut - $t_ssh")
ph[shutdown]=$(calc "$t_off - $t_shut")
ph[encode]=$(calc "$t_expd - $t_exp")
ph[pack]=$(calc "$t_done - $t_pp")
total=$(calc "$t1 - $t0")
ph[other]=$(calc "$total - ${ph[decode]} - ${ph[boot]} - ${ph[provision]} - ${ph[shutdown]} - ${ph[encode]} - ${ph[pack]}")

# Baselines. The VMDK inside the base OVA, and the working disk the export
# encoded (its VMDK decoded back to raw, untimed).
href=$(tar -tf "$base" | grep -m1 '\.vmdk$')
vmdks=("$work"/out/bench-disk-*.vmdk)
qemu-img convert -f vmdk -O raw "${vmdks[0]}" "$work/enc/work.raw"
res=$work/results && mkdir -p "$res"
# timed FILE CMD...: runs CMD, appends its wall seconds to FILE.
timed() {
  local f=$1 s; shift
  s=$EPOCHREALTIME
  "$@"
  calc "$EPOCHREALTIME - $s" >> "$f"
  echo >> "$f"
}
for ((i = 1; i <= repeat; i++)); do
  rm -f "$work/base/$href" "$work/base/disk.raw" "$work/enc/disk.vmdk"
  cat "$base" > /dev/null
  sync
  timed "$res/extract" tar -xf "$base" -C "$work/base" "$href"
  timed "$res/decode" qemu-img convert -f vmdk -O raw "$work/base/$href" "$work/base/disk.raw"
  cat "$work/enc/work.raw" > /dev/null
  sync
  # shellcheck disable=SC2016 # expanded by sh
  timed "$res/encode" sh -c 'qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$0" "$1" && sync "$1"' \
    "$work/enc/work.raw" "$work/enc/disk.vmdk"
  echo "   qemu-img round $i done (load $(loadavg))"
done
paste -d' ' "$res/extract" "$res/decode" | awk 'NF == 2 { printf "%.2f\n", $1 + $2 }' > "$res/xdecode"
q_x=$(best < "$res/extract"); q_dec=$(best < "$res/decode"); q_xdec=$(best < "$res/xdecode"); q_enc=$(best < "$res/encode")
raw_mib=$(( $(stat -c %s "$work/enc/work.raw") >> 20 ))
data_mib=$(( $(du -B1 "$work/enc/work.raw" | cut -f1) >> 20 ))

echo
echo "packer build -> OVA (vsphere-ova-qemu, TCG), $(nproc) cores, load average now $(loadavg)"
printf '  %-10s %8s %7s\n' phase seconds share
for p in decode boot provision shutdown encode pack other; do
  printf '  %-10s %8s %6s%%\n' "$p" "${ph[$p]}" "$(calc "100 * ${ph[$p]} / $total")"
done
printf '  %-10s %8s\n' total "$total"
echo
echo "disk: $raw_mib MiB virtual, $data_mib MiB of data; base VMDK $(( $(tar -tvf "$base" "$href" | awk '{ print $3 }') >> 20 )) MiB," \
  "exported VMDK ours $(( $(stat -c %s "${vmdks[0]}") >> 20 )) MiB, qemu-img $(( $(stat -c %s "$work/enc/disk.vmdk") >> 20 )) MiB"
echo "qemu-img, best of $repeat (median):"
printf '  %-44s %6s (%s)\n' "tar extraction of the VMDK from the OVA" "$q_x" "$(median < "$res/extract")"
printf '  %-44s %6s (%s)\n' "convert -O raw (decode)" "$q_dec" "$(median < "$res/decode")"
printf '  %-44s %6s (%s)\n' "extraction + convert (fair decode baseline)" "$q_xdec" "$(median < "$res/xdecode")"
printf '  %-44s %6s (%s)\n' "convert -O vmdk streamOptimized + sync" "$q_enc" "$(median < "$res/encode")"
echo
status=0
verdict() { if awk "BEGIN { exit !($2) }"; then echo "target met:    $1"; else echo "target MISSED: $1"; status=1; fi; }
echo "decode: ours ${ph[decode]}s; / (extraction + convert) = $(calc "${ph[decode]} / $q_xdec"), / convert alone = $(calc "${ph[decode]} / $q_dec")"
echo "encode: ours ${ph[encode]}s (with manifest hash and OVF); / qemu-img = $(calc "${ph[encode]} / $q_enc")"
verdict "decode <= qemu-img extraction + convert (${ph[decode]} <= $q_xdec)" "${ph[decode]} <= $q_xdec"
verdict "encode <= qemu-img convert to streamOptimized (${ph[encode]} <= $q_enc)" "${ph[encode]} <= $q_enc"
echo "the OVA passed sha256sum -c; build log with packer's -timestamp-ui stamps: $work/build.log"
if [[ $strict == 0 ]]; then exit 0; fi
exit $status
