//! Image trust on TUF, as Docker Content Trust shaped it: the target name
//! is the tag, its length and hashes are the manifest's, and `custom`
//! carries the manifest's media type. Repositories are named like images
//! (`registry/repository`, the "GUN").

use std::collections::BTreeMap;

use clearance_oci::Digest;

use crate::gun::Gun;
use crate::schema::TargetFile;

/// The target for a manifest. One hash, sha256: it is the manifest's
/// digest, what the registry is asked for.
pub fn target_for_manifest(manifest: &[u8], media_type: Option<&str>) -> TargetFile {
    let digest = Digest::sha256_of(manifest);
    let hashes = BTreeMap::from([("sha256".to_owned(), digest.hex().to_owned())]);
    TargetFile {
        length: manifest.len() as u64,
        hashes,
        custom: media_type.map(|m| serde_json::json!({ "mediaType": m })),
        extra: BTreeMap::new(),
    }
}

/// The manifest digest a target pins (`sha256:…`), if it has one.
pub fn manifest_digest(target: &TargetFile) -> Option<String> {
    let hex = target.hashes.get("sha256")?;
    let digest: Digest = format!("sha256:{}", hex.to_ascii_lowercase())
        .parse()
        .ok()?;
    Some(digest.to_string())
}

/// The media type recorded when the tag was signed.
pub fn media_type(target: &TargetFile) -> Option<&str> {
    target.custom.as_ref()?.get("mediaType")?.as_str()
}

/// Where a repository's metadata lives under a trust server's base URL
/// (Notary's layout: `/v2/<gun>/_trust/tuf/`).
pub fn metadata_url(server: &str, gun: &Gun) -> String {
    format!("{}/v2/{gun}/_trust/tuf/", server.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_target_pins_its_digest_and_media_type() {
        let m = br#"{"schemaVersion":2}"#;
        let t = target_for_manifest(m, Some("application/vnd.oci.image.manifest.v1+json"));
        assert_eq!(t.length, m.len() as u64);
        // sha256sum of the same bytes
        assert_eq!(
            manifest_digest(&t).unwrap(),
            "sha256:bafebd36189ad3688b7b3915ea55d461e0bfcfbdde11e54b0a123999fb6be50f"
        );
        assert_eq!(
            media_type(&t),
            Some("application/vnd.oci.image.manifest.v1+json")
        );
        assert_eq!(t.hashes.len(), 1);
        assert_eq!(
            metadata_url("file:///srv/trust/", &Gun::new("r:5000/a/b").unwrap()),
            "file:///srv/trust/v2/r:5000/a/b/_trust/tuf/"
        );
    }
}
