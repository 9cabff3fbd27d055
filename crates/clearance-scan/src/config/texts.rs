//! The hook for the secrets scanner: the configuration's texts a secret
//! may hide in (`ENV` values, build arguments kept in history lines), each
//! with where it is and whose it is. These checks do not look for secrets.

use std::collections::HashMap;

use oci_spec::image::ImageConfiguration;
use serde::Serialize;

use super::Origin;
use super::history::Timeline;
use super::image::env;

/// Text of the configuration a secret may hide in, for the secrets scanner
/// (these checks do not look for secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigText {
    /// Where the text is.
    pub place: TextPlace,
    /// The text: an `ENV` value, or a whole history line (a `RUN` with
    /// build arguments shows them: `RUN |1 TOKEN=… /bin/sh -c …`).
    pub text: String,
    /// The base image's or the image's own, as for findings.
    pub origin: Origin,
}

/// Where a [`ConfigText`] is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum TextPlace {
    /// An environment variable of the config (`Env`).
    Env {
        /// The variable's name.
        name: String,
    },
    /// A history entry's `created_by`.
    History {
        /// The entry's index in the history.
        index: usize,
        /// The layer it made, if any.
        layer: Option<usize>,
    },
}

/// Every `ENV` value and history line of `config`, with where each came
/// from (`layers`: how many layers the image has; `base_layers` as in
/// [`super::ImageFacts`]). An `ENV` value's origin is that of the first
/// history line setting it.
pub fn secret_candidates(
    config: &ImageConfiguration,
    layers: usize,
    base_layers: Option<usize>,
) -> Vec<ConfigText> {
    let timeline = Timeline::new(config, layers, base_layers);
    // The first ENV line naming each variable (`ENV A=1 B=2`, or the old
    // `ENV A 1`), in one pass over the history.
    let mut set_by: HashMap<&str, usize> = HashMap::new();
    for i in timeline.instructions().filter(|i| i.keyword == "ENV") {
        for word in i.args.split_whitespace() {
            let name = word.split_once('=').map_or(word, |(n, _)| n);
            set_by.entry(name).or_insert(i.index);
        }
    }
    let mut out: Vec<ConfigText> = env(config)
        .map(|(name, value)| ConfigText {
            place: TextPlace::Env {
                name: name.to_owned(),
            },
            text: value.to_owned(),
            origin: set_by
                .get(name)
                .map_or(Origin::Unknown, |&i| timeline.line_origin(i)),
        })
        .collect();
    for (index, (line, layer)) in timeline.lines.iter().enumerate() {
        let Some(line) = line else { continue };
        out.push(ConfigText {
            place: TextPlace::History {
                index,
                layer: *layer,
            },
            text: (*line).to_owned(),
            origin: timeline.entry_origin(index, *layer),
        });
    }
    out
}
