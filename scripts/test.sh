#!/usr/bin/env bash
# test.sh — Clearance's test command: installs the peers the tests start
# (umoci, skopeo, Distribution's docker-registry, htpasswd, …) when missing,
# then compiles the doc examples and runs every test of the workspace with
# cargo-nextest.
#
# Usage: scripts/test.sh [extra nextest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "installing cargo-nextest"
  cargo install cargo-nextest --locked
fi
# Doc examples first (compile checks), so nextest's summary is the last word.
cargo test --workspace --doc --quiet
cargo nextest run --workspace --no-fail-fast "$@"
