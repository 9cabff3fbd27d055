#!/usr/bin/env python3
"""Build a TUF repository with python-tuf's Metadata API, for Clearance's
interop tests (crates/clearance-trust/tests/interop_python_tuf.rs).

Usage: make_repo.py OUT_DIR

Writes
  OUT_DIR/metadata/   1.root.json, 2.root.json (root key rotated, v2
                      cross-signed by the old and the new root key),
                      N.targets.json, N.releases.json, N.snapshot.json and an
                      unversioned timestamp.json (consistent snapshots)
  OUT_DIR/targets/    every target as HASH.name, once per listed hash, in
                      subdirectories for names with "/"
  OUT_DIR/initial_root.json   root v1, what a client starts from
and prints a JSON summary of what it wrote on stdout.

Keys: root ed25519 (v1 and v2), targets RSA (rsassa-pss-sha256), snapshot
ECDSA P-256, timestamp ed25519, the delegated role "releases" ECDSA P-256.
Versions differ per role on purpose, so a client that fetches the wrong
versioned name fails.
"""

import hashlib
import json
import os
import sys
from datetime import datetime, timedelta, timezone

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

VERSIONS = {"targets": 3, "releases": 2, "snapshot": 4, "timestamp": 5}

TOP_TARGETS = {
    "hello.txt": b"hello from python-tuf\n",
    "images/app-v1.json": b'{"digest": "sha256:0123", "size": 42}\n',
}
RELEASE_TARGETS = {
    "release/app-v2.tar": b"release bytes signed by the releases role\n" * 3,
}
UNKNOWN_FIELD = {"x-custom": {"a": 1}}


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = argv[1]
    meta_dir = os.path.join(out, "metadata")
    targets_dir = os.path.join(out, "targets")
    os.makedirs(meta_dir, exist_ok=True)
    os.makedirs(targets_dir, exist_ok=True)
    serializer = JSONSerializer(compact=False)
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)

    root_v1_key = CryptoSigner.generate_ed25519()
    root_v2_key = CryptoSigner.generate_ed25519()
    targets_key = CryptoSigner.generate_rsa(scheme="rsassa-pss-sha256")
    snapshot_key = CryptoSigner.generate_ecdsa()
    timestamp_key = CryptoSigner.generate_ed25519()
    releases_key = CryptoSigner.generate_ecdsa()

    def sign(signed, *signers):
        md = Metadata(signed)
        for s in signers:
            md.sign(s, append=True)
        return md.to_bytes(serializer)

    # Root v1, then v2 with the root key rotated (signed by old and new).
    root = Root(version=1, expires=expires, consistent_snapshot=True)
    for role, signer in [
        ("root", root_v1_key),
        ("targets", targets_key),
        ("snapshot", snapshot_key),
        ("timestamp", timestamp_key),
    ]:
        root.add_key(signer.public_key, role)
    root_v1 = sign(root, root_v1_key)
    write(os.path.join(meta_dir, "1.root.json"), root_v1)
    write(os.path.join(out, "initial_root.json"), root_v1)

    root.version = 2
    root.revoke_key(root_v1_key.public_key.keyid, "root")
    root.add_key(root_v2_key.public_key, "root")
    root_v2 = sign(root, root_v1_key, root_v2_key)
    write(os.path.join(meta_dir, "2.root.json"), root_v2)

    # Targets: files named HASH.name, one copy per hash algorithm.
    def target_files(contents):
        files = {}
        for name, data in contents.items():
            tf = TargetFile.from_data(name, data, ["sha256", "sha512"])
            files[name] = tf
            dirname, sep, base = name.rpartition("/")
            for digest in tf.hashes.values():
                write(os.path.join(targets_dir, f"{dirname}{sep}{digest}.{base}"), data)
        return files

    releases = Targets(
        version=VERSIONS["releases"],
        expires=expires,
        targets=target_files(RELEASE_TARGETS),
    )
    releases_bytes = sign(releases, releases_key)
    write(os.path.join(meta_dir, f"{VERSIONS['releases']}.releases.json"), releases_bytes)

    delegation = DelegatedRole(
        name="releases",
        keyids=[releases_key.public_key.keyid],
        threshold=1,
        terminating=True,
        paths=["release/*"],
    )
    targets = Targets(
        version=VERSIONS["targets"],
        expires=expires,
        targets=target_files(TOP_TARGETS),
        delegations=Delegations(
            keys={releases_key.public_key.keyid: releases_key.public_key},
            roles={"releases": delegation},
        ),
        unrecognized_fields=dict(UNKNOWN_FIELD),
    )
    targets_bytes = sign(targets, targets_key)
    write(os.path.join(meta_dir, f"{VERSIONS['targets']}.targets.json"), targets_bytes)

    # Snapshot: targets.json with length and hashes, releases.json with the
    # version only (python-tuf's default): the client must handle both.
    snapshot = Snapshot(
        version=VERSIONS["snapshot"],
        expires=expires,
        meta={
            "targets.json": MetaFile(
                version=VERSIONS["targets"],
                length=len(targets_bytes),
                hashes={"sha256": hashlib.sha256(targets_bytes).hexdigest()},
            ),
            "releases.json": MetaFile(version=VERSIONS["releases"]),
        },
    )
    snapshot_bytes = sign(snapshot, snapshot_key)
    snapshot_name = f"{VERSIONS['snapshot']}.snapshot.json"
    write(os.path.join(meta_dir, snapshot_name), snapshot_bytes)

    timestamp = Timestamp(
        version=VERSIONS["timestamp"],
        expires=expires,
        snapshot_meta=MetaFile(
            version=VERSIONS["snapshot"],
            length=len(snapshot_bytes),
            hashes={"sha256": hashlib.sha256(snapshot_bytes).hexdigest()},
        ),
    )
    write(os.path.join(meta_dir, "timestamp.json"), sign(timestamp, timestamp_key))

    # Sanity: python-tuf itself accepts what it wrote.
    trusted_root = Metadata[Root].from_bytes(root_v1)
    new_root = Metadata[Root].from_bytes(root_v2)
    trusted_root.signed.verify_delegate("root", new_root.signed_bytes, new_root.signatures)
    new_root.signed.verify_delegate("root", new_root.signed_bytes, new_root.signatures)

    summary = {
        "root_version": 2,
        "versions": VERSIONS,
        "snapshot_file": snapshot_name,
        "unknown_field": UNKNOWN_FIELD,
        "keys": {
            "root_v1": root_v1_key.public_key.keytype,
            "root_v2": root_v2_key.public_key.keytype,
            "targets": targets_key.public_key.scheme,
            "snapshot": snapshot_key.public_key.scheme,
            "timestamp": timestamp_key.public_key.scheme,
            "releases": releases_key.public_key.scheme,
        },
        "targets": {
            **{n: {"role": "targets", "content": d.decode()} for n, d in TOP_TARGETS.items()},
            **{
                n: {"role": "releases", "content": d.decode()}
                for n, d in RELEASE_TARGETS.items()
            },
        },
    }
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
