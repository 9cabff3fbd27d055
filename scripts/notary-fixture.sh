#!/usr/bin/env bash
# notary-fixture.sh — regenerate crates/clearance-trust/tests/data/notary:
# metadata written by Debian's Notary 0.7 (`notary` client, `notary-server`
# with its memory store and local ed25519 timestamp signer) for repository
# 127.0.0.1:5000/demo/app: tag v1 in targets, v2 in a targets/releases
# delegation whose key is an X.509 certificate; plus an older timestamp and
# snapshot for the rollback tests.
#
# Usage: scripts/notary-fixture.sh [OUT_DIR]
# Needs notary, notary-server, openssl and curl (scripts/install-test-deps.sh).
# The unit tests read the fixture at a fixed time (src/notary/tests.rs, `made`):
# update that date to the day this runs, since Notary's timestamp lasts 14 days.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$repo/crates/clearance-trust/tests/data/notary}"
work="$(mktemp -d)"
port=$((20000 + RANDOM % 20000))
gun=127.0.0.1:5000/demo/app
base="http://127.0.0.1:$port/v2/$gun/_trust/tuf"

cleanup() { kill "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

cat >"$work/server.json" <<EOF
{"server":{"http_addr":"127.0.0.1:$port"},
 "trust_service":{"type":"local","hostname":"","port":"","key_algorithm":"ecdsa"},
 "logging":{"level":"error"},"storage":{"backend":"memory"}}
EOF
notary-server -config "$work/server.json" 2>"$work/server.log" &
server=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/_notary_server/health" >/dev/null && break
  sleep 0.1
done

export NOTARY_ROOT_PASSPHRASE=root NOTARY_TARGETS_PASSPHRASE=targets \
  NOTARY_SNAPSHOT_PASSPHRASE=snapshot NOTARY_DELEGATION_PASSPHRASE=delegation
n() { notary -s "http://127.0.0.1:$port" -d "$work/client" "$@" </dev/null; }

echo '{"schemaVersion":2}' >"$work/m1.json"
echo '{"schemaVersion":2,"v":2}' >"$work/m2.json"
openssl ecparam -name prime256v1 -genkey -noout -out "$work/del.key"
openssl req -new -x509 -key "$work/del.key" -out "$work/del.crt" -days 3650 -subj /CN=releases
n init "$gun" -p
n add "$gun" v1 "$work/m1.json" -p
n delegation add "$gun" targets/releases "$work/del.crt" --all-paths -p
n key import "$work/del.key" --role targets/releases
n add "$gun" v2 "$work/m2.json" --roles targets/releases -p

mkdir -p "$out"
for f in root timestamp snapshot targets targets/releases 1.timestamp 2.snapshot; do
  curl -sf "$base/$f.json" -o "$out/$(echo "$f" | tr / -).json"
done
echo "wrote $(ls "$out" | wc -l) files to $out"
