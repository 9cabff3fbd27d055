#!/usr/bin/env python3
"""Run python-tuf's client (tuf.ngclient.Updater) against a repository, for
Clearance's interop tests (crates/clearance-trust/tests/interop_python_tuf.rs).

Usage: client.py METADATA_URL TARGETS_URL ROOT_FILE WORK_DIR TARGET...

Starts from ROOT_FILE (the trusted root), keeps metadata in WORK_DIR/metadata
and downloads each TARGET into WORK_DIR/targets. Prints one JSON object on
stdout:
  {"ok": true, "metadata": {ROLE: {"version": N, "unrecognized_fields": {...}}},
   "targets": {NAME: {"path": P, "length": N, "sha256": H}}}
or, on any failure, {"ok": false, "error": EXCEPTION_CLASS, "message": TEXT}
and exits with status 1.
"""

import hashlib
import json
import os
import sys
from urllib import parse

from tuf.api.metadata import Metadata
from tuf.ngclient import Updater


def trusted_metadata(metadata_dir):
    """Versions and unknown fields of every role python-tuf now trusts."""
    out = {}
    for fname in sorted(os.listdir(metadata_dir)):
        if not fname.endswith(".json"):
            continue
        md = Metadata.from_file(os.path.join(metadata_dir, fname))
        out[parse.unquote(fname[: -len(".json")])] = {
            "version": md.signed.version,
            "unrecognized_fields": md.signed.unrecognized_fields,
        }
    return out


def run(metadata_url, targets_url, root_file, work_dir, names):
    metadata_dir = os.path.join(work_dir, "metadata")
    target_dir = os.path.join(work_dir, "targets")
    os.makedirs(metadata_dir, exist_ok=True)
    os.makedirs(target_dir, exist_ok=True)
    with open(root_file, "rb") as f:
        bootstrap = f.read()
    updater = Updater(
        metadata_dir=metadata_dir,
        metadata_base_url=metadata_url,
        target_dir=target_dir,
        target_base_url=targets_url,
        bootstrap=bootstrap,
    )
    updater.refresh()
    results = {}
    for name in names:
        info = updater.get_targetinfo(name)
        if info is None:
            raise LookupError(f"target {name!r} not found")
        path = updater.download_target(info)
        with open(path, "rb") as f:
            data = f.read()
        results[name] = {
            "path": os.path.abspath(path),
            "length": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    return {"ok": True, "metadata": trusted_metadata(metadata_dir), "targets": results}


def main(argv):
    if len(argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        result = run(argv[1], argv[2], argv[3], argv[4], argv[5:])
    except Exception as e:  # report every refusal to the caller as JSON
        print(json.dumps({"ok": False, "error": type(e).__name__, "message": str(e)}))
        return 1
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
