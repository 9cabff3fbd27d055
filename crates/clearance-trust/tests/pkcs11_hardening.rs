//! PKCS#11 keys against review finding B-8, on a real SoftHSM2 token.
//!
//! SoftHSM2 finds its token directory through `SOFTHSM2_CONF`, read when the
//! module is initialised, and a test may not set the environment of its own
//! process: each test runs its body (an ignored test of this binary) in a
//! child process given a token of its own.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use clearance_trust::pkcs11::{HsmSigner, IfMissing, KeyProblem, Pkcs11Error, Pkcs11Uri};
use clearance_trust::signer::Signer as _;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const P256: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384: [u8; 7] = [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

/// Run the ignored test `body` in a child process with a fresh token
/// labelled `clearance` (PIN 1234).
fn on_a_fresh_token(body: &str) {
    let found = Command::new("sh")
        .args(["-c", "command -v softhsm2-util"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "softhsm2-util is not installed: run scripts/install-test-deps.sh"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tokens")).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            dir.path().join("tokens").display()
        ),
    )
    .unwrap();
    let init = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", "clearance"])
        .args(["--pin", "1234", "--so-pin", "5678"])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([body, "--exact", "--ignored", "--test-threads=1"])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("1 passed"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A logged-in session on the token, opened by the test's own context
/// (so the module is initialised before `HsmSigner` gets to it).
fn session() -> Option<Session> {
    std::env::var_os("SOFTHSM2_CONF")?;
    let ctx = Pkcs11::new(Path::new(MODULE)).unwrap();
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = ctx.get_slots_with_token().unwrap()[0];
    let session = ctx.open_rw_session(slot).unwrap();
    session
        .login(UserType::User, Some(&AuthPin::from("1234".to_owned())))
        .unwrap();
    Some(session)
}

/// An EC key pair on the token; `extractable` makes the private half
/// extractable and not sensitive (to be flipped later).
fn pair(
    session: &Session,
    label: &str,
    id: &[u8],
    curve: &[u8],
    extractable: bool,
) -> (ObjectHandle, ObjectHandle) {
    let public = [
        Attribute::Token(true),
        Attribute::KeyType(KeyType::EC),
        Attribute::EcParams(curve.to_vec()),
        Attribute::Verify(true),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Id(id.to_vec()),
    ];
    let private = [
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(!extractable),
        Attribute::Extractable(extractable),
        Attribute::Sign(true),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Id(id.to_vec()),
    ];
    session
        .generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
        .unwrap()
}

fn open(object: &str, if_missing: IfMissing) -> Result<HsmSigner, Pkcs11Error> {
    let uri: Pkcs11Uri = format!("pkcs11:token=clearance;object={object}")
        .parse()
        .unwrap();
    HsmSigner::open(&uri, &PathBuf::from(MODULE), "1234", if_missing)
}

fn point(session: &Session, public: ObjectHandle) -> Vec<u8> {
    match session
        .get_attributes(public, &[AttributeType::EcPoint])
        .unwrap()
        .pop()
    {
        Some(Attribute::EcPoint(p)) => p,
        other => panic!("{other:?}"),
    }
}

#[test]
fn b8_keys_are_paired_by_id_not_by_the_first_label() {
    on_a_fresh_token("inner_b8_keys_are_paired_by_id_not_by_the_first_label");
}

#[test]
#[ignore = "run by b8_keys_are_paired_by_id_not_by_the_first_label on its own token"]
fn inner_b8_keys_are_paired_by_id_not_by_the_first_label() {
    let Some(session) = session() else { return };
    // A stray public key labelled "root" (left over, or planted) comes first…
    let (stray, _) = pair(&session, "decoy", b"\x01", &P256, false);
    session
        .update_attributes(stray, &[Attribute::Label(b"root".to_vec())])
        .unwrap();
    // …then the real pair.
    let (public, _) = pair(&session, "root", b"\x02", &P256, false);
    let signer = open("root", IfMissing::Fail).unwrap();
    let want = point(&session, public);
    let key = clearance_trust::signer::p256_pem(&want[2..]);
    assert_eq!(
        signer.public_key().keyval.public,
        key,
        "the public key is the one with the private key's CKA_ID"
    );
    let sig = signer.sign(b"m").unwrap();
    assert!(signer.public_key().verifier().unwrap().verify(b"m", &sig));

    // Only a stray public key under a label: a new pair is made beside it.
    let (lonely, _) = pair(&session, "other", b"\x03", &P256, false);
    session
        .update_attributes(lonely, &[Attribute::Label(b"fresh".to_vec())])
        .unwrap();
    let made = open("fresh", IfMissing::Generate).unwrap();
    assert_eq!(made.origin(), clearance_trust::pkcs11::KeyOrigin::Generated);
    assert!(open("fresh", IfMissing::Fail).unwrap().key_id() == made.key_id());

    // Two private keys under one label: which one would be a guess.
    pair(&session, "twice", b"\x04", &P256, false);
    pair(&session, "twice", b"\x05", &P256, false);
    assert!(matches!(
        open("twice", IfMissing::Fail),
        Err(Pkcs11Error::Key {
            problem: KeyProblem::Ambiguous(2),
            ..
        })
    ));
}

#[test]
fn b8_a_key_that_was_ever_extractable_or_not_p256_is_refused() {
    on_a_fresh_token("inner_b8_a_key_that_was_ever_extractable_or_not_p256_is_refused");
}

#[test]
#[ignore = "run by b8_a_key_that_was_ever_extractable_or_not_p256_is_refused on its own token"]
fn inner_b8_a_key_that_was_ever_extractable_or_not_p256_is_refused() {
    let Some(session) = session() else { return };
    // Made extractable, then flipped: sensitive and not extractable *now*.
    let (_, private) = pair(&session, "flipped", b"\x01", &P256, true);
    session
        .update_attributes(
            private,
            &[Attribute::Sensitive(true), Attribute::Extractable(false)],
        )
        .unwrap();
    assert!(matches!(
        open("flipped", IfMissing::Fail),
        Err(Pkcs11Error::Key {
            problem: KeyProblem::MayLeaveToken(_),
            ..
        })
    ));
    pair(&session, "p384", b"\x02", &P384, false);
    assert!(matches!(
        open("p384", IfMissing::Fail),
        Err(Pkcs11Error::Key {
            problem: KeyProblem::NotP256,
            ..
        })
    ));
    // A key made on the token by Clearance passes every check.
    let made = open("made", IfMissing::Generate).unwrap();
    assert!(made.is_protected());
}
