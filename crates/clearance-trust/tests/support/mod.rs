//! A small TUF repository for tests, signed with real keys by the editor,
//! served from memory.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use clearance_trust::client::{FetchError, Transport};
use clearance_trust::editor::{self, common, meta_for};
use clearance_trust::schema::{
    DelegatedRole, Delegations, MetaFile, Role, RoleKeys, RoleName, Root, Snapshot, TargetFile,
    Targets, Timestamp, TopRole, Version,
};
use clearance_trust::signer::{KeyKind, LocalSigner, Signer};
use clearance_trust::time::UtcTime;
use sha2::Digest as _;

pub const BASE: &str = "mem://repo/metadata/";
pub const TARGETS_BASE: &str = "mem://repo/targets/";

/// Files by URL; tests change them to play the attacker.
#[derive(Clone, Default)]
pub struct Served(pub Arc<Mutex<HashMap<String, Vec<u8>>>>);

impl Served {
    pub fn put(&self, name: &str, bytes: Vec<u8>) {
        self.0
            .lock()
            .unwrap()
            .insert(format!("{BASE}{name}"), bytes);
    }
    pub fn get(&self, name: &str) -> Vec<u8> {
        self.0.lock().unwrap()[&format!("{BASE}{name}")].clone()
    }
    pub fn put_target(&self, name: &str, bytes: Vec<u8>) {
        self.0
            .lock()
            .unwrap()
            .insert(format!("{TARGETS_BASE}{name}"), bytes);
    }
}

impl Transport for Served {
    async fn fetch(&self, url: &str, max_len: u64) -> Result<Option<Vec<u8>>, FetchError> {
        let found = self.0.lock().unwrap().get(url).cloned();
        match found {
            Some(b) if b.len() as u64 > max_len => Err(FetchError::TooLong {
                url: url.into(),
                limit: max_len,
            }),
            other => Ok(other),
        }
    }
}

pub fn in_days(days: i64) -> UtcTime {
    UtcTime::now().plus_seconds(days * 86_400)
}

fn role_keys(signers: &[&LocalSigner], threshold: u64) -> RoleKeys {
    RoleKeys {
        keyids: signers.iter().map(|s| s.key_id()).collect(),
        threshold,
        extra: BTreeMap::new(),
    }
}

/// One key per top-level role, threshold 1, not consistent snapshots.
pub struct TestRepo {
    pub served: Served,
    pub root_signers: Vec<LocalSigner>,
    pub targets_signers: Vec<LocalSigner>,
    pub snapshot_signer: LocalSigner,
    pub timestamp_signer: LocalSigner,
    pub root: Root,
    pub targets: Targets,
    pub snapshot: Snapshot,
    pub timestamp: Timestamp,
    /// Delegated roles and their signers.
    pub delegated: BTreeMap<String, (Targets, Vec<LocalSigner>)>,
    /// Signed bytes of every published version, by file name.
    pub history: HashMap<String, Vec<u8>>,
}

impl TestRepo {
    pub fn new() -> TestRepo {
        let new_key = || LocalSigner::generate(KeyKind::Ed25519).unwrap();
        let (root_key, targets_key, snapshot_signer, timestamp_signer) =
            (new_key(), new_key(), new_key(), new_key());
        let mut keys = BTreeMap::new();
        for s in [&root_key, &targets_key, &snapshot_signer, &timestamp_signer] {
            keys.insert(s.key_id(), s.public_key().clone());
        }
        let roles = BTreeMap::from([
            (TopRole::Root, role_keys(&[&root_key], 1)),
            (TopRole::Targets, role_keys(&[&targets_key], 1)),
            (TopRole::Snapshot, role_keys(&[&snapshot_signer], 1)),
            (TopRole::Timestamp, role_keys(&[&timestamp_signer], 1)),
        ]);
        let root = Root {
            common: common(TopRole::Root, v(1), in_days(365)),
            consistent_snapshot: false,
            keys,
            roles,
            repository: None,
            extra: BTreeMap::new(),
        };
        let mut repo = TestRepo {
            served: Served::default(),
            root_signers: vec![root_key],
            targets_signers: vec![targets_key],
            snapshot_signer,
            timestamp_signer,
            root,
            targets: Targets {
                common: common(TopRole::Targets, v(1), in_days(90)),
                targets: BTreeMap::new(),
                delegations: None,
                extra: BTreeMap::new(),
            },
            snapshot: Snapshot {
                common: common(TopRole::Snapshot, v(1), in_days(30)),
                meta: BTreeMap::new(),
                extra: BTreeMap::new(),
            },
            timestamp: Timestamp {
                common: common(TopRole::Timestamp, v(1), in_days(1)),
                meta: BTreeMap::new(),
                extra: BTreeMap::new(),
            },
            delegated: BTreeMap::new(),
            history: HashMap::new(),
        };
        repo.publish_root(&[]);
        repo.publish_targets_chain(false);
        repo
    }

    /// The trusted root a client starts from.
    pub fn root_bytes(&self) -> Vec<u8> {
        self.history["1.root.json"].clone()
    }

    /// Sign the current root with the root keys and `also`, serve it as
    /// `N.root.json` and `root.json`.
    pub fn publish_root(&mut self, also: &[&LocalSigner]) {
        let mut signers: Vec<&dyn Signer> =
            self.root_signers.iter().map(|s| s as &dyn Signer).collect();
        signers.extend(also.iter().map(|s| *s as &dyn Signer));
        let bytes = editor::sign(&self.root, &signers).unwrap();
        let name = format!("{}.root.json", self.root.common.version);
        self.served.put(&name, bytes.clone());
        self.served.put("root.json", bytes.clone());
        self.history.insert(name, bytes);
    }

    pub fn add_target(&mut self, name: &str, content: &[u8]) {
        self.targets
            .targets
            .insert(name.to_owned(), target_file(content));
        self.served.put_target(name, content.to_vec());
    }

    /// Bump and sign targets (and delegated roles when `all`), then snapshot
    /// and timestamp, and serve them.
    pub fn publish_targets_chain(&mut self, bump: bool) {
        if bump {
            self.targets.common.version = self.targets.common.version.next().unwrap();
        }
        let targets = self.sign_role(&self.targets.clone(), &self.targets_signers);
        self.serve("targets", self.targets.common.version, targets.clone());
        self.snapshot.meta.insert(
            "targets.json".into(),
            meta_for(self.targets.common.version, &targets),
        );
        let names: Vec<String> = self.delegated.keys().cloned().collect();
        for name in names {
            let (role, signers) = &self.delegated[&name];
            let bytes = self.sign_role(role, signers);
            let version = role.common.version;
            self.serve(&name, version, bytes.clone());
            self.snapshot
                .meta
                .insert(format!("{name}.json"), meta_for(version, &bytes));
        }
        self.publish_snapshot_chain(bump);
    }

    /// Bump and sign snapshot, then timestamp.
    pub fn publish_snapshot_chain(&mut self, bump: bool) {
        if bump {
            self.snapshot.common.version = self.snapshot.common.version.next().unwrap();
        }
        let snapshot = self.sign_role(&self.snapshot.clone(), &[&self.snapshot_signer]);
        self.serve("snapshot", self.snapshot.common.version, snapshot.clone());
        self.timestamp.meta.insert(
            "snapshot.json".into(),
            meta_for(self.snapshot.common.version, &snapshot),
        );
        self.publish_timestamp(bump);
    }

    pub fn publish_timestamp(&mut self, bump: bool) {
        if bump {
            self.timestamp.common.version = self.timestamp.common.version.next().unwrap();
        }
        let ts = self.sign_role(&self.timestamp.clone(), &[&self.timestamp_signer]);
        self.serve("timestamp", self.timestamp.common.version, ts);
    }

    pub fn sign_role<T: Role>(
        &self,
        role: &T,
        signers: &[impl std::borrow::Borrow<LocalSigner>],
    ) -> Vec<u8> {
        let signers: Vec<&dyn Signer> = signers.iter().map(|s| s.borrow() as &dyn Signer).collect();
        editor::sign(role, &signers).unwrap()
    }

    fn serve(&mut self, role: &str, version: Version, bytes: Vec<u8>) {
        self.served.put(&format!("{role}.json"), bytes.clone());
        self.served
            .put(&format!("{version}.{role}.json"), bytes.clone());
        self.history.insert(format!("{version}.{role}.json"), bytes);
    }

    /// Delegate `paths` from targets to a new role with its own key.
    pub fn delegate(&mut self, name: &str, paths: &[&str], terminating: bool) {
        let signer = LocalSigner::generate(KeyKind::EcdsaP256).unwrap();
        let d = self.targets.delegations.get_or_insert_with(|| Delegations {
            keys: BTreeMap::new(),
            roles: Some(Vec::new()),
            succinct_roles: None,
            extra: BTreeMap::new(),
        });
        d.keys.insert(signer.key_id(), signer.public_key().clone());
        d.roles.get_or_insert_with(Vec::new).push(DelegatedRole {
            name: role(name),
            keyids: vec![signer.key_id()],
            threshold: 1,
            terminating,
            paths: Some(paths.iter().map(|p| (*p).to_owned()).collect()),
            path_hash_prefixes: None,
            path_prefixes: None,
            extra: BTreeMap::new(),
        });
        let role = Targets {
            common: common(TopRole::Targets, v(1), in_days(90)),
            targets: BTreeMap::new(),
            delegations: None,
            extra: BTreeMap::new(),
        };
        self.delegated.insert(name.to_owned(), (role, vec![signer]));
    }

    pub fn add_delegated_target(&mut self, role: &str, name: &str, content: &[u8]) {
        let (targets, _) = self.delegated.get_mut(role).unwrap();
        targets
            .targets
            .insert(name.to_owned(), target_file(content));
        targets.common.version = targets.common.version.next().unwrap();
        self.served.put_target(name, content.to_vec());
    }
}

pub fn target_file(content: &[u8]) -> TargetFile {
    TargetFile {
        length: content.len() as u64,
        hashes: BTreeMap::from([(
            "sha256".to_owned(),
            sha2::Sha256::digest(content)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        )]),
        custom: None,
        extra: BTreeMap::new(),
    }
}

/// A role name the test knows is valid.
pub fn role(name: &str) -> RoleName {
    RoleName::new(name).unwrap()
}

pub fn meta(version: u64) -> MetaFile {
    editor::meta_version(v(version))
}

/// A version from a number the test knows is valid.
pub fn v(n: u64) -> Version {
    Version::new(n).unwrap()
}

/// Every file of a directory with its bytes, to prove nothing changed.
pub fn snapshot_dir(dir: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}
