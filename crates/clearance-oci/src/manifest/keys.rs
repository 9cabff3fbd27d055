//! Object keys as Go's `encoding/json` matches them, checked before serde
//! reads a document.
//!
//! Docker, containerd, skopeo and the registries are Go programs. Go's
//! decoder matches an object key to a struct field exactly, or else
//! case-insensitively under Unicode simple folding (`"user"`, `"USER"`,
//! `"uſer"` are all `User`; the Kelvin sign folds to `k`), and when several
//! keys land on one field the last wins. serde matches exactly. So
//! `{"User":"app","user":"root"}` is user `app` to serde and `root` to every
//! runtime. This module refuses, in every object that Go decodes into a
//! struct, a key that folds to a field name without being it, and two keys
//! that fold to the same string. Objects Go decodes into maps (`annotations`,
//! `Labels`, `ExposedPorts`, `Volumes`, `LayerSources`) match keys exactly
//! and are not checked; their values are, when they are structs.
//!
//! The walk streams over the document (no `serde_json::Value` is built); it
//! keeps the folded keys of the objects it is inside, at most
//! [`MAX_STRUCT_KEYS`] per object. serde_json's nesting limit (128) bounds
//! the depth.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::go_fields::{ARCHIVE_ITEM, CONFIG, Field, MANIFEST, Shape};

/// Most keys accepted in an object Go decodes into a struct (its structs
/// have at most 30 fields). Bounds the memory the check holds.
pub const MAX_STRUCT_KEYS: usize = 4096;

/// Most elements of an array, or entries of a map, anywhere in a document:
/// layers, `Env`, `Labels`, history, an index's manifests. Real images have
/// a few hundred at most (Docker stops at 125 layers); a 4 MiB manifest of
/// 26,000 layers or an 8 MiB config of 600,000 `Env` entries took 100–250
/// MiB once parsed and shown, so they are refused before serde builds them.
/// At this limit a manifest and a config both full keep `inspect` under
/// 64 MiB.
pub const MAX_ELEMENTS: usize = 4096;

/// The documents whose keys are checked, each with the Go types runtimes
/// decode it into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// An image manifest or index (image-spec `v1.Manifest`/`v1.Index`,
    /// Docker schema 2 and manifest lists), also a layout's `index.json`:
    /// one set of top-level fields, so that a key of either kind is checked
    /// whichever the document turns out to be.
    Manifest,
    /// An image config (image-spec `v1.Image`, Docker's image and
    /// container config).
    Config,
    /// A docker archive's `manifest.json` (moby `tarexport.manifestItem`).
    DockerArchiveManifest,
}

/// Why a document's keys would be read differently by Go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "key {key:?} at {path} is not the field {field:?}, but Go's encoding/json (Docker, \
         containerd, skopeo) reads it as that field: keys there match case-insensitively; \
         refusing a document that runtimes would read differently"
    )]
    NotCanonical {
        /// Where the object is, as `$.config` or `$.manifests[2]`.
        path: String,
        key: String,
        field: &'static str,
    },
    #[error(
        "keys {first:?} and {second:?} at {path} are one key to Go's encoding/json (Docker, \
         containerd, skopeo), which keeps the last; refusing a document that runtimes would \
         read differently"
    )]
    SameKey {
        path: String,
        first: String,
        second: String,
    },
    #[error("the object at {path} has more than {MAX_STRUCT_KEYS} keys")]
    TooManyKeys { path: String },
    #[error(
        "{path} has more than {MAX_ELEMENTS} elements, more than any real image has (a hostile or broken document?)"
    )]
    TooManyElements { path: String },
    /// Not JSON (or nested deeper than serde_json reads): said by the parse
    /// that follows, so only its text is kept.
    #[error("{0}")]
    Syntax(String),
}

/// Check a document's keys as Go would match them.
///
/// # Errors
///
/// [`KeyError::NotCanonical`] or [`KeyError::SameKey`] for the first
/// object, in document order, that Go and serde would read differently;
/// [`KeyError::TooManyKeys`] past [`MAX_STRUCT_KEYS`]; [`KeyError::Syntax`]
/// when the bytes are not JSON.
pub fn check(bytes: &[u8], document: Document) -> Result<(), KeyError> {
    let shape = match document {
        Document::Manifest => MANIFEST,
        Document::Config => CONFIG,
        Document::DockerArchiveManifest => Shape::Array(&ARCHIVE_ITEM),
    };
    let mut found = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let walked = Walk {
        shape,
        found: &mut found,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    match (found, walked) {
        (Some(mut problem), _) => {
            problem.prefix("$");
            Err(problem)
        }
        (None, Err(e)) => Err(KeyError::Syntax(e.to_string())),
        (None, Ok(())) => Ok(()),
    }
}

impl KeyError {
    /// Put an outer object's place in front of the path.
    fn prefix(&mut self, outer: &str) {
        match self {
            KeyError::NotCanonical { path, .. }
            | KeyError::SameKey { path, .. }
            | KeyError::TooManyKeys { path }
            | KeyError::TooManyElements { path } => path.insert_str(0, outer),
            KeyError::Syntax(_) => {}
        }
    }
}

/// Go's fold of a name: `foldName` in `encoding/json` (Go 1.21+): ASCII
/// letters upper-cased, any other rune replaced by the smallest rune of its
/// `unicode.SimpleFold` orbit. The orbit is approximated from Rust's
/// one-rune case mappings, two steps out; where that differs from Go it
/// folds more runes together (`ı` with `I`), so it can only refuse more.
pub fn fold(name: &str) -> String {
    name.chars().map(fold_char).collect()
}

fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_uppercase();
    }
    let mut smallest = c;
    for step in [upper(c), lower(c)].into_iter().flatten() {
        for reached in [Some(step), upper(step), lower(step)].into_iter().flatten() {
            smallest = smallest.min(reached);
        }
    }
    smallest
}

/// A rune's upper case, when it is one rune.
fn upper(c: char) -> Option<char> {
    single(c.to_uppercase())
}

/// A rune's lower case, when it is one rune.
fn lower(c: char) -> Option<char> {
    single(c.to_lowercase())
}

fn single(mut runes: impl Iterator<Item = char>) -> Option<char> {
    let first = runes.next()?;
    runes.next().is_none().then_some(first)
}

/// One value of the document, walked with the shape Go gives it. The first
/// problem found is left in `found` and stops the walk (as a serde error).
struct Walk<'a> {
    shape: Shape,
    found: &'a mut Option<KeyError>,
}

impl Walk<'_> {
    fn stop<E: de::Error>(&mut self, problem: KeyError) -> E {
        *self.found = Some(problem);
        E::custom("stopped")
    }

    /// Walk a child at `place`; a problem found below gets `place` in front.
    fn child<T, E>(
        &mut self,
        shape: Shape,
        place: impl FnOnce() -> String,
        next: impl FnOnce(Walk<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let result = next(Walk {
            shape,
            found: &mut *self.found,
        });
        if result.is_err()
            && let Some(problem) = self.found.as_mut()
        {
            problem.prefix(&place());
        }
        result
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.shape {
            Shape::Any => d.deserialize_ignored_any(IgnoredAny).map(drop),
            _ => d.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let element = match self.shape {
            Shape::Array(element) => *element,
            _ => Shape::Any,
        };
        let mut i = 0usize;
        loop {
            let more = self.child(
                element,
                || format!("[{i}]"),
                |walk| seq.next_element_seed(walk),
            )?;
            if more.is_none() {
                return Ok(());
            }
            i += 1;
            if i > MAX_ELEMENTS {
                return Err(self.stop(KeyError::TooManyElements {
                    path: String::new(),
                }));
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        match self.shape {
            Shape::Struct(fields) => self.walk_struct(fields, map),
            Shape::Map(value) => {
                let mut entries = 0usize;
                while let Some(key) = map.next_key::<String>()? {
                    entries += 1;
                    if entries > MAX_ELEMENTS {
                        return Err(self.stop(KeyError::TooManyElements {
                            path: String::new(),
                        }));
                    }
                    self.child(
                        *value,
                        || format!("[{key:?}]"),
                        |walk| map.next_value_seed(walk),
                    )?;
                }
                Ok(())
            }
            Shape::Array(_) | Shape::Any => {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(())
            }
        }
    }
}

impl Walk<'_> {
    fn walk_struct<'de, A: MapAccess<'de>>(
        &mut self,
        fields: &'static [Field],
        mut map: A,
    ) -> Result<(), A::Error> {
        // Folded key → the key as written, for every key of this object.
        let mut seen: HashMap<String, String> = HashMap::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.len() >= MAX_STRUCT_KEYS {
                return Err(self.stop(KeyError::TooManyKeys {
                    path: String::new(),
                }));
            }
            let folded = fold(&key);
            let field = fields.iter().find(|f| f.name == key);
            if field.is_none()
                && let Some(f) = fields.iter().find(|f| folded.eq_ignore_ascii_case(f.name))
            {
                return Err(self.stop(KeyError::NotCanonical {
                    path: String::new(),
                    key,
                    field: f.name,
                }));
            }
            if let Some(first) = seen.get(&folded) {
                return Err(self.stop(KeyError::SameKey {
                    path: String::new(),
                    first: first.clone(),
                    second: key,
                }));
            }
            let shape = field.map_or(Shape::Any, |f| f.shape);
            self.child(
                shape,
                || format!(".{key}"),
                |walk| map.next_value_seed(walk),
            )?;
            seen.insert(folded, key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(json: &str, document: Document) -> KeyError {
        check(json.as_bytes(), document).unwrap_err()
    }

    #[test]
    fn folds_as_go_does() {
        assert_eq!(fold("user"), "USER");
        assert_eq!(fold("uſer"), "USER");
        assert_eq!(fold("\u{212a}ey"), "KEY");
        assert_eq!(fold("Entrypoint"), fold("entrypoint"));
        assert_ne!(fold("diff_ids"), fold("diffids"));
        assert_eq!(fold("ß"), fold("ẞ"));
    }

    #[test]
    fn a_key_that_folds_to_a_field_is_refused_where_go_decodes_a_struct() {
        let e = problem(
            r#"{"config":{"User":"app","user":"root"}}"#,
            Document::Config,
        );
        assert_eq!(
            e,
            KeyError::NotCanonical {
                path: "$.config".into(),
                key: "user".into(),
                field: "User",
            }
        );
        let e = problem(r#"{"CONFIG":{}}"#, Document::Config);
        assert!(
            matches!(
                e,
                KeyError::NotCanonical {
                    field: "config",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = problem(
            r#"{"manifests":[{"digest":"x"},{"Platform":{}}]}"#,
            Document::Manifest,
        );
        assert!(
            matches!(&e, KeyError::NotCanonical { path, field: "platform", .. } if path == "$.manifests[1]"),
            "{e:?}"
        );
        let e = problem(
            r#"{"layers":[{"platform":{"architecturE":"arm64"}}]}"#,
            Document::Manifest,
        );
        assert!(
            matches!(&e, KeyError::NotCanonical { path, .. } if path == "$.layers[0].platform"),
            "{e:?}"
        );
        let e = problem(
            r#"[{"Config":"a","config":"b"}]"#,
            Document::DockerArchiveManifest,
        );
        assert!(
            matches!(
                e,
                KeyError::NotCanonical {
                    field: "Config",
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn two_keys_that_fold_together_are_refused_even_when_go_has_no_such_field() {
        let e = problem(r#"{"x-note":1,"X-NOTE":2}"#, Document::Manifest);
        assert_eq!(
            e,
            KeyError::SameKey {
                path: "$".into(),
                first: "x-note".into(),
                second: "X-NOTE".into(),
            }
        );
        let e = problem(r#"{"os":"linux","os":"windows"}"#, Document::Config);
        assert!(matches!(e, KeyError::SameKey { .. }), "{e:?}");
    }

    #[test]
    fn maps_match_keys_exactly_and_are_not_checked() {
        let ok = [
            (
                r#"{"config":{"Labels":{"a":"1","A":"2"},"ExposedPorts":{"80/tcp":{},"80/TCP":{}},
                    "Volumes":{"/d":{},"/D":{}}}}"#,
                Document::Config,
            ),
            (
                r#"{"annotations":{"k":"1","K":"2"},"manifests":[{"annotations":{"user":"x","User":"y"}}]}"#,
                Document::Manifest,
            ),
            (
                r#"[{"Config":"c","Layers":[],"LayerSources":{"sha256:a":{"mediaType":"m"},"SHA256:A":{}}}]"#,
                Document::DockerArchiveManifest,
            ),
            // Unknown fields are walked over, whatever is inside.
            (r#"{"x-vendor":{"user":1,"User":2}}"#, Document::Config),
        ];
        for (json, document) in ok {
            check(json.as_bytes(), document).unwrap();
        }
        // A map's values that Go decodes into structs are checked.
        let e = problem(
            r#"[{"LayerSources":{"sha256:a":{"mediaType":"m","MediaType":"n"}}}]"#,
            Document::DockerArchiveManifest,
        );
        assert!(
            matches!(&e, KeyError::NotCanonical { path, .. } if path == r#"$[0].LayerSources["sha256:a"]"#),
            "{e:?}"
        );
    }

    #[test]
    fn escaped_keys_are_read_decoded() {
        let e = problem(
            r#"{"config":{"\u0055ser":"a","\u0075ser":"b"}}"#,
            Document::Config,
        );
        assert!(matches!(e, KeyError::NotCanonical { .. }), "{e:?}");
    }

    #[test]
    fn bad_json_and_too_many_keys_are_refused() {
        assert!(matches!(
            problem("{", Document::Manifest),
            KeyError::Syntax(_)
        ));
        assert!(matches!(
            problem("{} {}", Document::Manifest),
            KeyError::Syntax(_)
        ));
        let many: Vec<String> = (0..=MAX_STRUCT_KEYS)
            .map(|i| format!("\"k{i}\":0"))
            .collect();
        let json = format!("{{{}}}", many.join(","));
        assert!(matches!(
            problem(&json, Document::Manifest),
            KeyError::TooManyKeys { .. }
        ));
        // Arrays and maps: 10,000 elements, not one more.
        let env = |n: usize| {
            let items: Vec<String> = (0..n).map(|i| format!("\"E{i}=v\"")).collect();
            format!("{{\"config\":{{\"Env\":[{}]}}}}", items.join(","))
        };
        check(env(MAX_ELEMENTS).as_bytes(), Document::Config).unwrap();
        match problem(&env(MAX_ELEMENTS + 1), Document::Config) {
            KeyError::TooManyElements { path } => assert_eq!(path, "$.config.Env"),
            other => panic!("{other:?}"),
        }
        let labels: Vec<String> = (0..=MAX_ELEMENTS)
            .map(|i| format!("\"l{i}\":\"v\""))
            .collect();
        let json = format!("{{\"config\":{{\"Labels\":{{{}}}}}}}", labels.join(","));
        assert!(matches!(
            problem(&json, Document::Config),
            KeyError::TooManyElements { .. }
        ));
        // Values the shapes do not describe are skipped without recursion.
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        check(deep.as_bytes(), Document::Manifest).unwrap();
    }
}
