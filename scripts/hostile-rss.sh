#!/usr/bin/env bash
# hostile-rss.sh — peak RSS of `clearance inspect` (release build) on hostile
# layers and archives: 256 MiB long names, links and PAX headers, endless
# sparse maps, a 30 GiB sparse file, a million entries, 900 KiB paths, a
# zstd window of 128 MiB, archives with header bombs and too many members.
# Prints a table; the test fails if any case is answered wrongly or peaks at
# 64 MiB or more. Usage: scripts/hostile-rss.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
cargo build --release -p clearance
CLEARANCE_UNDER_TEST="$PWD/target/release/clearance" \
  cargo test --release -p clearance --test hostile_images -- --nocapture --test-threads 1
