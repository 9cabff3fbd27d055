#!/usr/bin/env bash
# tuf-conformance.sh — run the TUF conformance suite against Clearance's client.
#
# Usage: scripts/tuf-conformance.sh PATH/TO/tuf-conformance [pytest args…]
#
# The suite is not on a package registry and is not copied into this
# project: pass the path of a checkout you fetched (github.com/
# theupdateframework/tuf-conformance). Its Python dependencies come from pip
# into a virtualenv under target/; faketime comes from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:-}
if [ -z "$suite" ] || [ ! -f "$suite/tuf_conformance/conftest.py" ]; then
  echo "tuf-conformance: no suite checkout at '${suite}'." >&2
  echo "Fetch github.com/theupdateframework/tuf-conformance and pass its path:" >&2
  echo "  scripts/tuf-conformance.sh ~/src/tuf-conformance" >&2
  exit 2
fi
shift
suite=$(cd "$suite" && pwd)

if ! command -v faketime >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime
fi
venv=target/tuf-conformance-venv
if [ ! -x "$venv/bin/pytest" ]; then
  python3 -m venv "$venv"
  # The suite's pinned dependencies (its pyproject.toml), from PyPI.
  "$venv/bin/pip" install -q "securesystemslib[crypto]==1.4.0" "tuf==7.0.0" "pytest==9.1.1" "pytest-json-report==1.5.0"
fi
cargo build -q -p clearance
client=$PWD/scripts/tuf-conformance-client
pytest=$PWD/$venv/bin/pytest
cd "$suite"
PYTHONPATH="$suite" "$pytest" tuf_conformance --entrypoint "$client" -p no:cacheprovider "$@"
