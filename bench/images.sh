#!/usr/bin/env bash
# Image bundling benchmark: ociarchive.Write vs one `skopeo copy` per image,
# same images from the same real docker-registry on 127.0.0.1, same run.
# Extra arguments go to the Go program, e.g. `bash bench/images.sh -mib 100 -runs 3`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./bench/imagebundle "$@"
