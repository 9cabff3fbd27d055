//! `clearance inspect IMAGE`

use anyhow::Context as _;
use clap::Args;
use clearance_oci::inspect::{self, Inspection, LayerDepth, LayerInfo};
use clearance_oci::layer::LayerLimits;

use crate::cli::{Format, RegistryArgs};
use crate::exit::Exit;
use crate::output::{self, Page, Text, ToText as _, bold, dim, size, text, warn};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The image (see `clearance inspect --help` for the accepted forms).
    pub image: String,
    /// Platform to choose from a multi-platform image [default: linux/amd64].
    /// Given, it is also checked against a single image's config (a warning
    /// when they differ).
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Do not stream the layers: no uncompressed sizes or diff_id checks, but fast.
    #[arg(long)]
    pub skip_layers: bool,
    /// Do not stream foreign (non-distributable) layers, whose blobs are kept
    /// at URLs the manifest names (never fetched); they are reported as not read.
    #[arg(long)]
    pub skip_foreign_layers: bool,
    /// Layers read at once (1–16). Each can hold up to ~16 MiB while it is
    /// read (an 8 MiB zstd window, 1 MiB metadata headers); 2 keeps a
    /// hostile image under 64 MiB.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=16))]
    pub parallel: u8,
    /// Largest zstd window a layer may use, in MiB (8 covers Docker,
    /// BuildKit, containerd, podman and `zstd -19`; `zstd --long` needs 128).
    #[arg(long, default_value_t = 8, value_name = "MIB", value_parser = clap::value_parser!(u16).range(1..=2048))]
    pub max_zstd_window_mib: u16,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

pub async fn run(args: InspectArgs, format: Format) -> anyhow::Result<Exit> {
    let (reference, source, image) =
        super::image::open(&args.image, args.platform.as_deref(), &args.registry).await?;
    let depth = match (args.skip_layers, args.skip_foreign_layers) {
        (true, _) => LayerDepth::Skip,
        (false, true) => LayerDepth::ReadSkippingForeign,
        (false, false) => LayerDepth::Read,
    };
    let (bar, progress) = match depth {
        LayerDepth::Skip => (None, None),
        _ => {
            let (bar, progress) = super::image::layer_progress(&image, depth);
            (Some(bar), Some(progress))
        }
    };
    let report = inspect::inspect(
        &source,
        &image,
        depth,
        &LayerLimits {
            max_zstd_window_bytes: u64::from(args.max_zstd_window_mib) << 20,
            ..LayerLimits::default()
        },
        usize::from(args.parallel),
        progress,
    )
    .await
    .with_context(|| format!("reading the layers of {reference}"))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut page = Page::default();
    match format {
        Format::Json => page.json(&report)?,
        Format::Table | Format::Cyclonedx | Format::Spdx | Format::Sarif => {
            render(&report, &mut page)
        }
    }
    page.emit()?;
    Ok(Exit::Ok)
}

fn render(r: &Inspection, page: &mut Page) {
    page.field("Image", &r.reference);
    page.field("Digest", &r.manifest.digest);
    page.field("Media type", &r.manifest.media_type);
    if let Some(index) = &r.index_digest {
        page.field("Index", index);
    }
    page.field("Platform", &r.platform);
    let c = &r.config;
    page.field("Config", &c.digest);
    if let Some(created) = &c.created {
        page.field("Created", created);
    }
    if let Some(author) = &c.author {
        page.field("Author", author);
    }
    match &c.user {
        Some(user) => page.field("User", user),
        None => page.field("User", warn("(none: runs as root)")),
    }
    if !c.entrypoint.is_empty() {
        page.field("Entrypoint", shell_words(&c.entrypoint));
    }
    if !c.cmd.is_empty() {
        page.field("Cmd", shell_words(&c.cmd));
    }
    if let Some(dir) = &c.working_dir {
        page.field("Workdir", dir);
    }
    if !c.exposed_ports.is_empty() {
        page.field("Ports", c.exposed_ports.join(", "));
    }
    for (i, e) in c.env.iter().enumerate() {
        let value = if e.masked {
            warn("**** (looks like a secret)")
        } else {
            (&e.value).to_text()
        };
        page.field(if i == 0 { "Env" } else { "" }, text!(&e.name, "=", value));
    }
    for (i, (k, v)) in c.labels.iter().enumerate() {
        page.field(if i == 0 { "Labels" } else { "" }, format!("{k}={v}"));
    }
    page.line("");
    let mut t = output::table(&[
        "#",
        "Digest",
        "Compressed",
        "Uncompressed",
        "Files",
        "Created by",
    ]);
    for l in &r.layers {
        let created_by = l.created_by.clone().unwrap_or_default();
        let digest = if l.foreign {
            text!(l.digest.short(), " ", warn("(foreign)"))
        } else {
            l.digest.short().to_text()
        };
        t.row([
            l.index.to_text(),
            digest,
            size(l.compressed_size).to_text(),
            l.uncompressed_size
                .map(|s| size(s).to_text())
                .unwrap_or_else(|| dim("-")),
            l.entries.map(|e| e.to_text()).unwrap_or_else(|| dim("-")),
            output::truncate(&created_by, 80).to_text(),
        ]);
    }
    t.row([
        Text::default(),
        bold("total"),
        bold(size(r.totals.compressed_size)),
        r.totals
            .uncompressed_size
            .map(|s| bold(size(s)))
            .unwrap_or_else(|| dim("-")),
        Text::default(),
        Text::default(),
    ]);
    page.line(t);
    for l in r.layers.iter().filter(|l| l.foreign) {
        page.line(foreign_note(l));
    }
    for l in &r.layers {
        for w in &l.warnings {
            page.line(text!(warn("warning:"), format!(" layer {}: {w}", l.index)));
        }
        if l.warnings_not_shown > 0 {
            page.line(text!(
                warn("warning:"),
                format!(
                    " layer {}: {} more warnings not shown (the first {} are above)",
                    l.index,
                    l.warnings_not_shown,
                    l.warnings.len()
                )
            ));
        }
    }
}

fn foreign_note(l: &LayerInfo) -> Text {
    let urls = inspect::kept_at(&l.urls);
    let read = if l.read {
        "read from this source"
    } else {
        "not read"
    };
    text!(
        dim("note:"),
        format!(
            " layer {} is a foreign (non-distributable) layer ({}), {urls} \
             (never fetched from there); {read}",
            l.index, l.media_type
        )
    )
}

fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            if w.is_empty() || w.contains(|c: char| c.is_whitespace() || "\"'$`\\".contains(c)) {
                format!("{w:?}")
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
