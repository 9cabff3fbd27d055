#!/usr/bin/env bash
# test.sh — Clearance's test command: installs the peers the tests start
# (umoci, skopeo, Distribution's docker-registry, htpasswd, …) when missing,
# then runs every test of the workspace with cargo-nextest, and the doc tests.
#
# Usage: scripts/test.sh [extra nextest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "installing cargo-nextest"
  cargo install cargo-nextest --locked
fi
cargo nextest run --workspace --no-fail-fast "$@"
cargo test --workspace --doc --quiet
