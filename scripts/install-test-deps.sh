#!/usr/bin/env bash
# install-test-deps.sh — ensure the external tools used by Clearance's
# integration tests and benchmarks are installed (Debian/Ubuntu, via apt).
#
# Usage: scripts/install-test-deps.sh
#
# Idempotent: when every tool is already on PATH it prints a single line
# ("test dependencies present") and exits 0. Otherwise it runs
# `apt-get update` once and installs only the missing packages (needs root).
set -euo pipefail

# command -> Debian package providing it
declare -A pkg_for=(
  [umoci]=umoci
  [skopeo]=skopeo
  [docker-registry]=docker-registry
  [debootstrap]=debootstrap
  [htpasswd]=apache2-utils
  [zstd]=zstd
  [gzip]=gzip
  [openssl]=openssl
)
# fixed order for stable output
cmds=(umoci skopeo docker-registry debootstrap htpasswd zstd gzip openssl)

missing_pkgs=()
missing_cmds=()
for c in "${cmds[@]}"; do
  if ! command -v "$c" >/dev/null 2>&1; then
    missing_cmds+=("$c")
    missing_pkgs+=("${pkg_for[$c]}")
  fi
done

if [ "${#missing_pkgs[@]}" -eq 0 ]; then
  echo "test dependencies present"
  exit 0
fi

echo "missing commands: ${missing_cmds[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "error: not running as root; install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing_pkgs[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: apt-get not found; install these packages manually: ${missing_pkgs[*]}" >&2
  exit 1
fi

echo "installing: ${missing_pkgs[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_pkgs[@]}"

# verify
still=()
for c in "${missing_cmds[@]}"; do
  command -v "$c" >/dev/null 2>&1 || still+=("$c")
done
if [ "${#still[@]}" -ne 0 ]; then
  echo "error: still missing after install: ${still[*]}" >&2
  exit 1
fi
echo "test dependencies installed: ${missing_pkgs[*]}"
