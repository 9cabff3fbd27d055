//! OLPC canonical JSON, the form TUF signatures are made over.

use serde::Serialize;

/// A value that has no canonical form (a float, a map key that is not a
/// string), with serde's reason.
#[derive(Debug, thiserror::Error)]
#[error("cannot canonicalise: {0}")]
pub struct CanonicalError(String);

/// Serialise `value` canonically: sorted keys, no insignificant space,
/// integers only.
pub fn to_canonical<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::new();
    let mut ser =
        serde_json::Serializer::with_formatter(&mut out, olpc_cjson::CanonicalFormatter::new());
    value
        .serialize(&mut ser)
        .map_err(|e| CanonicalError(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sorts_keys_and_drops_space() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{ "b": [1, "x\"y"], "a": {"d": true, "c": null} }"#).unwrap();
        assert_eq!(
            String::from_utf8(super::to_canonical(&v).unwrap()).unwrap(),
            r#"{"a":{"c":null,"d":true},"b":[1,"x\"y"]}"#
        );
    }

    #[test]
    fn refuses_floats() {
        let v: serde_json::Value = serde_json::from_str(r#"{"a": 1.5}"#).unwrap();
        assert!(super::to_canonical(&v).is_err());
    }
}
