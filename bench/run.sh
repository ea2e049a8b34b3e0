#!/usr/bin/env bash
# `make bench`: every benchmark of the project, each reporting ratios against
# a baseline measured in the same run on the same machine. Exits non-zero
# when any benchmark misses its target (or fails).
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for b in bench/ova.sh bench/export.sh bench/export_ova.sh bench/targets.sh bench/images.sh bench/vmdk.sh bench/qemu.sh; do
	if [ -f "$b" ]; then
		echo "=== $b"
		bash "$b" || { echo "=== $b: target missed or failed"; status=1; }
	fi
done
echo "=== go test -bench (library micro-benchmarks)"
go test -run '^$' -bench . -benchtime 3x ./ova/... ./ovf/... ./ociarchive/... ./vmdk/... || status=1
exit $status
