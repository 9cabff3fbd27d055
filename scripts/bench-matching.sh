#!/usr/bin/env bash
# bench-matching.sh — matching speed (issue 9, point 7): an advisory
# database built from the real feed snapshots in ../shared/data (OSV PyPI,
# Go, crates.io; Alpine secdb v3.10/v3.11: over 10,000 advisories), then
# 2,000 packages looked up and matched, best of ROUNDS. Prints the time
# against the 100 ms target.
#
# Usage: scripts/bench-matching.sh [ROUNDS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
data=$(cd .. && pwd)/shared/data
if [ ! -d "$data/osv" ]; then
  echo "bench-matching: $data/osv is missing; this benchmark reads the feed snapshots beside the repository (../shared/data)" >&2
  exit 2
fi
feeds=("$data"/osv/PyPI.zip "$data"/osv/Go.zip "$data"/osv/crates.io.zip "$data"/alpine-secdb/v3.10 "$data"/alpine-secdb/v3.11)
cargo bench -p clearance-scan --bench matching -- "$rounds" "${feeds[@]}"
