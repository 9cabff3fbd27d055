//! Serde helpers for the JSON and TOML catalogers: keep only what a
//! cataloger reads, skip the rest without building it, and stop keeping
//! entries past [`MAX_PACKAGES`].
//!
//! Deserialising into `serde_json::Value` builds every value of the file:
//! 32 MiB of `[0,0,…]` is 16 million values, half a gigabyte. These types
//! are read straight from the input instead: [`Text`] keeps a string and
//! only names any other value's kind, [`Entries`] and [`Keyed`] keep at most
//! `MAX_PACKAGES + 1` entries and skip the rest (serde's `IgnoredAny`
//! walks a value without allocating it).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{CatalogError, MAX_PACKAGES};

/// A field that should be a string: the string, or the kind of value it
/// is instead (`"a number"`), for a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Text {
    /// A string.
    Str(String),
    /// Not a string: what it is.
    Other(&'static str),
}

impl Text {
    /// The string, when it is a non-empty one.
    pub(crate) fn non_empty(&self) -> Option<&str> {
        match self {
            Text::Str(s) if !s.is_empty() => Some(s),
            _ => None,
        }
    }
}

/// A field for a message: the string quoted and escaped (at most 64
/// characters of it), the kind of another value, or `missing`.
pub(crate) fn shown(field: Option<&Text>) -> String {
    match field {
        None => "missing".to_owned(),
        Some(Text::Str(s)) => super::quoted(s),
        Some(Text::Other(kind)) => (*kind).to_owned(),
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        d.deserialize_any(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
        Ok(Text::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
        Ok(Text::Str(v))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Text, E> {
        Ok(Text::Other("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Text, E> {
        Ok(Text::Other("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Text, E> {
        Ok(Text::Other("a number"))
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Text, E> {
        Ok(Text::Other("a number"))
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Text, E> {
        Ok(Text::Other("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Text, E> {
        Ok(Text::Other("a number"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
        Ok(Text::Other("null"))
    }
    fn visit_none<E: de::Error>(self) -> Result<Text, E> {
        Ok(Text::Other("null"))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Text, D::Error> {
        d.deserialize_any(TextVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Text::Other("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Text::Other("a table or object"))
    }
}

/// A list of entries: the first `MAX_PACKAGES + 1`, the rest skipped (a
/// cataloger then refuses the file as listing too many).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entries<T>(pub(crate) Vec<T>);

impl<T> Default for Entries<T> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<T> Entries<T> {
    /// Whether the list had more than [`MAX_PACKAGES`] entries.
    pub(crate) fn too_many(&self) -> bool {
        self.0.len() > MAX_PACKAGES
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Entries<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Entries<T>, D::Error> {
        d.deserialize_seq(EntriesVisitor(std::marker::PhantomData))
    }
}

/// Visits a sequence into [`Entries`]; public to the catalogers whose
/// top level may be the list itself (Composer 1).
pub(crate) struct EntriesVisitor<T>(pub(crate) std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for EntriesVisitor<T> {
    type Value = Entries<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Entries<T>, A::Error> {
        collect_seq(seq)
    }
}

/// The first `MAX_PACKAGES + 1` elements of a sequence; the rest skipped.
pub(crate) fn collect_seq<'de, T: Deserialize<'de>, A: SeqAccess<'de>>(
    mut seq: A,
) -> Result<Entries<T>, A::Error> {
    let mut out = Vec::new();
    while out.len() <= MAX_PACKAGES {
        match seq.next_element::<T>()? {
            Some(x) => out.push(x),
            None => return Ok(Entries(out)),
        }
    }
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(Entries(out))
}

/// An object's entries, key and value, in file order: the first
/// `MAX_PACKAGES + 1`, the rest skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Keyed<T>(pub(crate) Vec<(String, T)>);

impl<T> Default for Keyed<T> {
    fn default() -> Self {
        Keyed(Vec::new())
    }
}

impl<T> Keyed<T> {
    /// Whether the object had more than [`MAX_PACKAGES`] entries.
    pub(crate) fn too_many(&self) -> bool {
        self.0.len() > MAX_PACKAGES
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Keyed<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Keyed<T>, D::Error> {
        d.deserialize_map(KeyedVisitor(std::marker::PhantomData))
    }
}

struct KeyedVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for KeyedVisitor<T> {
    type Value = Keyed<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keyed<T>, A::Error> {
        let mut out = Vec::new();
        while out.len() <= MAX_PACKAGES {
            match map.next_entry::<String, T>()? {
                Some(x) => out.push(x),
                None => return Ok(Keyed(out)),
            }
        }
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Keyed(out))
    }
}

/// Entries of one file skipped for lacking a usable name or version:
/// how many, and the first, for one warning per file rather than one per
/// entry.
#[derive(Debug, Default)]
pub(crate) struct Skipped {
    count: usize,
    first: Option<String>,
}

impl Skipped {
    /// Note a skipped entry: `which` says which it is (`package 3`,
    /// `library "Foo"`), `name` and `version` what it had.
    pub(crate) fn note(
        &mut self,
        which: impl FnOnce() -> String,
        name: Option<&Text>,
        version: Option<&Text>,
    ) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some(format!(
                "{} (name {}, version {})",
                which(),
                shown(name),
                shown(version)
            ));
        }
    }

    /// The warning, if any entry was skipped: `entries` names them
    /// (`[[package]] tables`).
    pub(crate) fn warning(self, path: &str, entries: &str) -> Option<CatalogError> {
        let first = self.first?;
        Some(CatalogError::Invalid {
            path: path.to_owned(),
            reason: format!(
                "{} {entries} without a name and version (strings of 1 to {MAX_FIELD} bytes), first {first}",
                self.count
            ),
        })
    }
}

/// Longest name or version a language cataloger keeps (crates.io allows
/// 64-byte names, npm 214; the version orders refuse more than 256 bytes).
pub(crate) const MAX_FIELD: usize = 256;

/// The field when it is a string of 1 to [`MAX_FIELD`] bytes.
pub(crate) fn usable(field: Option<&Text>) -> Option<&str> {
    field
        .and_then(Text::non_empty)
        .filter(|s| s.len() <= MAX_FIELD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_strings_and_names_other_values() {
        let got: Vec<Text> =
            serde_json::from_str(r#"["a", 1, -1, 1.5, true, null, [1, [2]], {"a": {"b": 1}}]"#)
                .unwrap();
        assert_eq!(
            got,
            [
                Text::Str("a".into()),
                Text::Other("a number"),
                Text::Other("a number"),
                Text::Other("a number"),
                Text::Other("a boolean"),
                Text::Other("null"),
                Text::Other("an array"),
                Text::Other("a table or object"),
            ]
        );
        assert_eq!(shown(got.first()), "\"a\"");
        assert_eq!(shown(got.get(1)), "a number");
        assert_eq!(shown(None), "missing");
    }

    #[test]
    fn entries_keep_one_past_the_limit_and_skip_the_rest() {
        let many = format!("[{}0]", "0,".repeat(MAX_PACKAGES + 10));
        let got: Entries<IgnoredAny> = serde_json::from_str(&many).unwrap();
        assert_eq!(got.0.len(), MAX_PACKAGES + 1);
        assert!(got.too_many());
        let few: Entries<Text> = serde_json::from_str(r#"["x"]"#).unwrap();
        assert!(!few.too_many());

        let mut object = String::from("{");
        for i in 0..MAX_PACKAGES + 10 {
            object.push_str(&format!("\"{i}\":0,"));
        }
        object.push_str("\"last\":0}");
        let got: Keyed<IgnoredAny> = serde_json::from_str(&object).unwrap();
        assert_eq!(got.0.len(), MAX_PACKAGES + 1);
        assert!(got.too_many());
        assert_eq!(got.0[0].0, "0");
    }
}
