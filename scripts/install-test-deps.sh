#!/usr/bin/env bash
# install-test-deps.sh — ensure the external tools used by Clearance's
# integration tests and benchmarks are installed (Debian/Ubuntu, via apt).
#
# Usage: scripts/install-test-deps.sh
#
# Idempotent: when every tool is already on PATH it prints a single line
# ("test dependencies present") and exits 0. Otherwise it runs
# `apt-get update` once and installs only the missing packages (needs root).
# It also makes sure the Python virtualenv target/test-venv holds python-tuf
# (pinned, see below) for the python-tuf interop tests, that
# target/schemas holds the report formats' JSON schemas (fetch-schemas.sh),
# and that cargo-auditable (pinned) is installed for the binary cataloger's
# tests.
set -euo pipefail

# --- Python test environment (python-tuf interop tests) ---------------------
# crates/clearance-trust/tests/interop_python_tuf.rs runs python-tuf from a
# virtualenv at target/test-venv (relative to the repository root). Create it,
# or repair it, whenever it cannot import tuf and securesystemslib. Runs before
# the apt section below, which may exit early.
tuf_pin="tuf==7.0.0"
sslib_pin="securesystemslib[crypto]==1.4.0"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/target/test-venv"
if ! "$venv/bin/python" -c 'import tuf, securesystemslib' >/dev/null 2>&1; then
  py="${PYTHON:-python3}"
  if ! command -v "$py" >/dev/null 2>&1; then
    echo "error: $py not found; install Python 3 (apt-get install python3 python3-venv)" >&2
    exit 1
  fi
  echo "creating python test venv at $venv ($tuf_pin, $sslib_pin)"
  mkdir -p "$repo_root/target"
  if ! "$py" -m venv --clear "$venv"; then
    echo "error: '$py -m venv' failed; on Debian install python3-venv" >&2
    exit 1
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$tuf_pin" "$sslib_pin"
  if ! "$venv/bin/python" -c 'import tuf, securesystemslib' >/dev/null 2>&1; then
    echo "error: $venv still cannot import tuf and securesystemslib" >&2
    exit 1
  fi
fi

# --- Report schemas (crates/clearance-scan/tests/report.rs) ------------------
"$repo_root/scripts/fetch-schemas.sh"

# --- cargo-auditable (crates/clearance-scan/tests/binaries.rs) ---------------
# The tests build a tiny Rust program with `cargo auditable build` (offline,
# against a vendored crate) and read back what it embedded. ~1 min to build.
auditable_version="0.7.7"
if ! cargo install --list 2>/dev/null | grep -q "^cargo-auditable v$auditable_version:"; then
  echo "installing cargo-auditable $auditable_version"
  cargo install cargo-auditable --version "$auditable_version" --locked
fi

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
  [softhsm2-util]=softhsm2
  [curl]=curl
  [pg_ctlcluster]=postgresql
  [notary-server]=notary
  [/usr/bin/time]=time
  [rpm]=rpm
  [rpmbuild]=rpm
  [sqlite3]=sqlite3
  [go]=golang-go
)
# fixed order for stable output
cmds=(umoci skopeo docker-registry debootstrap htpasswd zstd gzip openssl softhsm2-util curl pg_ctlcluster notary-server /usr/bin/time rpm rpmbuild sqlite3 go)

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
