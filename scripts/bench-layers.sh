#!/usr/bin/env bash
# bench-layers.sh — the layer-walk benchmark (issue 1): builds (or reuses) a
# real Debian image of ~220 MB in 4 layers under bench-data/, then streams
# every layer through the layer reader and compares with `gzip -dc` over the
# same blobs in the same run. Prints the ratio and peak RSS.
#
# Usage: scripts/bench-layers.sh [ROUNDS]     (default 3; needs root for debootstrap
#        the first time, and umoci + debootstrap: scripts/install-test-deps.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
scripts/install-test-deps.sh
scripts/build-bench-image.sh bench-data
cargo bench -p clearance-oci --bench layer_walk -- "oci:$PWD/bench-data/oci:bench" "$rounds"
