//! The image's history (image-spec config.md `history`): each entry's
//! Dockerfile instruction, the layer it made, and whether it is the base
//! image's or the image's own.

use oci_spec::image::ImageConfiguration;

use super::Origin;

/// The history, paired with the layers, and where the base image ends.
#[derive(Debug)]
pub(super) struct Timeline<'a> {
    /// Each history entry's `created_by` and the layer it made, if any.
    pub lines: Vec<(Option<&'a str>, Option<usize>)>,
    /// Per layer, the index of its history entry.
    layer_line: Vec<Option<usize>>,
    pub base_layers: Option<usize>,
}

impl<'a> Timeline<'a> {
    /// config.md `history`: entries marked `empty_layer` made no layer;
    /// the others pair up with the layers in order (as
    /// `clearance_oci::inspect::layer_history` reads them).
    pub fn new(
        config: &'a ImageConfiguration,
        layers: usize,
        base_layers: Option<usize>,
    ) -> Timeline<'a> {
        let mut lines = Vec::new();
        let mut layer_line = Vec::new();
        for (i, h) in config.history().iter().flatten().enumerate() {
            let layer = if h.empty_layer().unwrap_or(false) || layer_line.len() >= layers {
                None
            } else {
                layer_line.push(Some(i));
                Some(layer_line.len() - 1)
            };
            lines.push((h.created_by().as_deref(), layer));
        }
        layer_line.resize(layers, None);
        Timeline {
            lines,
            layer_line,
            base_layers,
        }
    }

    /// The history line of `layer`, if the history has one.
    pub fn layer_history(&self, layer: usize) -> Option<&'a str> {
        let line = self.layer_line.get(layer).copied().flatten()?;
        self.lines.get(line).and_then(|(c, _)| *c)
    }

    /// Whether `layer` is the base image's.
    pub fn layer_origin(&self, layer: usize) -> Origin {
        match self.base_layers {
            None => Origin::Unknown,
            Some(base) if layer < base => Origin::Base,
            Some(_) => Origin::Own,
        }
    }

    /// Whether history entry `index` is the base image's: up to the base's
    /// last layer it is, from the image's first own layer on it is not;
    /// between the two (the base's trailing `CMD`, `EXPOSE`… and the
    /// image's own `ENV`, `USER`… before its first layer) nothing tells.
    pub fn line_origin(&self, index: usize) -> Origin {
        let Some(base) = self.base_layers else {
            return Origin::Unknown;
        };
        if base == 0 {
            return Origin::Own;
        }
        let Some(base_end) = self.layer_line.get(base - 1).copied().flatten() else {
            return Origin::Unknown;
        };
        if index <= base_end {
            return Origin::Base;
        }
        match self.layer_line.get(base).copied().flatten() {
            Some(first_own) if index >= first_own => Origin::Own,
            _ => Origin::Unknown,
        }
    }

    /// Whose history entry `index` is: its layer's, when it made one.
    pub fn entry_origin(&self, index: usize, layer: Option<usize>) -> Origin {
        match layer {
            Some(layer) => self.layer_origin(layer),
            None => self.line_origin(index),
        }
    }

    /// The history entries that hold an instruction, in order.
    pub fn instructions(&self) -> impl Iterator<Item = Instruction<'a>> {
        self.lines
            .iter()
            .enumerate()
            .filter_map(|(index, (line, layer))| {
                let line = (*line)?;
                let (keyword, args) = instruction(line)?;
                Some(Instruction {
                    index,
                    keyword: keyword.to_ascii_uppercase(),
                    args,
                    line,
                    layer: *layer,
                })
            })
    }
}

/// One history entry's Dockerfile instruction.
#[derive(Debug, Clone)]
pub(super) struct Instruction<'a> {
    /// The entry's index in the history.
    pub index: usize,
    /// Upper-case (`USER`, `ADD`, `EXPOSE`, `RUN`).
    pub keyword: String,
    /// What follows the keyword.
    pub args: &'a str,
    /// The whole `created_by`.
    pub line: &'a str,
    /// The layer the entry made, if any.
    pub layer: Option<usize>,
}

/// A history line's Dockerfile instruction and its arguments. The classic
/// builder writes `/bin/sh -c #(nop)  USER root` (and `/bin/sh -c CMD…`
/// for `RUN`), BuildKit `USER root` and `RUN /bin/sh -c …` with a
/// trailing `# buildkit`, both `|2 A=1 B=2 /bin/sh -c …` for a `RUN` with
/// build arguments.
fn instruction(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    let line = line.strip_suffix("# buildkit").map_or(line, str::trim_end);
    if let Some(rest) = line.strip_prefix("/bin/sh -c #(nop)") {
        return split_word(rest.trim_start());
    }
    if line.starts_with("/bin/sh -c ") || line.starts_with('|') {
        return Some(("RUN", line));
    }
    split_word(line).filter(|(w, _)| w.bytes().all(|b| b.is_ascii_alphabetic()))
}

fn split_word(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    let (word, rest) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
    (!word.is_empty()).then_some((word, rest.trim_start()))
}
