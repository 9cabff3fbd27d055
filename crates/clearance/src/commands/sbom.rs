//! `clearance sbom IMAGE`: the packages in an image, each with the layer
//! that brought it in (schema `clearance.sbom/v1`, docs/sbom-json.md).

use clap::Args;
use clearance_oci::inspect;
use clearance_oci::{Digest, Platform};
use clearance_scan::catalog::Package;
use clearance_scan::inventory::{Inventory, Owner};
use clearance_scan::os::Distro;
use clearance_scan::report::RemovedPackages;
use serde::Serialize;

use crate::cli::Format;
use crate::exit::Exit;
use crate::output::{self, Page, ToText as _, dim, text, warn};

/// The JSON shape's name and version.
pub const SCHEMA: &str = "clearance.sbom/v1";

#[derive(Debug, Args)]
pub struct SbomArgs {
    #[command(flatten)]
    pub image: super::image::ImageArgs,
    /// Also list packages that a later layer removed or upgraded: they are
    /// not in the image a container runs, but anyone who can pull the image
    /// can download the layer that holds them.
    #[arg(long)]
    pub all_layers: bool,
}

/// The `--format json` document.
#[derive(Debug, Serialize)]
struct Sbom {
    schema: &'static str,
    reference: String,
    manifest_digest: Digest,
    platform: Platform,
    distro: Option<Distro>,
    layers: Vec<LayerSummary>,
    packages: Vec<Listed>,
    warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
struct LayerSummary {
    index: usize,
    digest: Digest,
    diff_id: Option<Digest>,
    created_by: Option<String>,
    read: bool,
}

#[derive(Debug, Serialize)]
struct Listed {
    #[serde(flatten)]
    package: Package,
    layer: usize,
    /// The OS package that installed this language package.
    #[serde(skip_serializing_if = "Option::is_none")]
    owned_by: Option<Owner>,
    /// The layer after which it is gone; only with `--all-layers`.
    #[serde(skip_serializing_if = "Option::is_none")]
    removed_in: Option<usize>,
}

pub async fn run(args: SbomArgs, format: Format) -> anyhow::Result<Exit> {
    let read = args
        .image
        .read(&super::db::DbArgs { path: None }.path()?)
        .await?;
    let depth = args.image.depth();
    let (reference, image, inventory) = (read.reference, read.image, read.inventory);
    let history = inspect::layer_history(&image);
    let sbom = Sbom {
        schema: SCHEMA,
        reference: image.reference.clone(),
        manifest_digest: image.manifest_digest.clone(),
        platform: image.platform.clone(),
        distro: inventory.distro.clone(),
        layers: image
            .layers
            .iter()
            .zip(history)
            .enumerate()
            .map(|(index, (l, created_by))| LayerSummary {
                index,
                digest: l.blob.digest.clone(),
                diff_id: l.diff_id.clone(),
                created_by,
                read: depth.reads(l),
            })
            .collect(),
        packages: listed(&inventory, args.all_layers),
        warnings: read.warnings,
    };
    let mut page = Page::default();
    match format {
        Format::Json => page.json(&sbom)?,
        Format::Table => render(&sbom, &mut page),
        Format::Cyclonedx | Format::Spdx | Format::Sarif => {
            let removed = if args.all_layers {
                RemovedPackages::List
            } else {
                RemovedPackages::Omit
            };
            page.json(&super::image::standard_document(
                format, &reference, &image, &inventory, None, None, removed,
            )?)?;
        }
    }
    page.emit()?;
    Ok(Exit::Ok)
}

fn listed(inventory: &Inventory, all_layers: bool) -> Vec<Listed> {
    let mut out: Vec<Listed> = inventory
        .packages
        .iter()
        .map(|f| Listed {
            package: f.package.clone(),
            layer: f.layer,
            owned_by: f.owned_by.clone(),
            removed_in: None,
        })
        .collect();
    if all_layers {
        out.extend(inventory.removed.iter().map(|r| Listed {
            package: r.package.clone(),
            layer: r.layer,
            owned_by: None,
            removed_in: Some(r.removed_in),
        }));
    }
    out
}

fn render(s: &Sbom, page: &mut Page) {
    page.field("Image", &s.reference);
    page.field("Digest", &s.manifest_digest);
    page.field("Platform", &s.platform);
    match &s.distro {
        Some(d) => page.field(
            "Distro",
            d.pretty_name.clone().unwrap_or_else(|| {
                let mut name = d.id.clone();
                for part in [&d.version_id, &d.codename].into_iter().flatten() {
                    name.push(' ');
                    name.push_str(part);
                }
                name
            }),
        ),
        None => page.field("Distro", dim("(none found)")),
    }
    let present = s.packages.iter().filter(|p| p.removed_in.is_none()).count();
    let removed = s.packages.len() - present;
    page.field(
        "Packages",
        if removed == 0 {
            present.to_string()
        } else {
            format!("{present} (and {removed} removed by later layers, listed below)")
        },
    );
    page.line("");
    // The path tells apart the same package in two binaries or jars (an
    // OS package's is its database, left blank).
    let paths = s.packages.iter().any(|p| !p.package.kind.is_os());
    let mut header = vec!["Name", "Version", "Type", "Source"];
    if paths {
        header.push("Path");
    }
    header.extend(["Layer", "Added by"]);
    let mut t = output::table(&header);
    for p in &s.packages {
        let source = p
            .package
            .source
            .as_ref()
            .filter(|src| src.name != p.package.name || src.version != p.package.version)
            .map(|src| {
                if src.version == p.package.version {
                    src.name.clone()
                } else {
                    format!("{} {}", src.name, src.version)
                }
            })
            .unwrap_or_default();
        let source = match &p.owned_by {
            Some(owner) => format!("in {} {}", owner.kind, owner.name),
            None => source,
        };
        let layer = match p.removed_in {
            Some(gone) => text!(
                p.layer.to_string(),
                " ",
                warn(format!("(removed in {gone})"))
            ),
            None => p.layer.to_text(),
        };
        let created_by = s
            .layers
            .get(p.layer)
            .and_then(|l| l.created_by.as_deref())
            .unwrap_or("");
        let mut cells = vec![
            (&p.package.name).to_text(),
            (&p.package.version).to_text(),
            p.package.kind.to_string().to_text(),
            source.to_text(),
        ];
        if paths {
            cells.push(if p.package.kind.is_os() {
                "".to_text()
            } else {
                dim(output::path_tail(&p.package.path))
            });
        }
        cells.extend([layer, output::truncate(created_by, 60).to_text()]);
        t.row(cells);
    }
    if s.packages.is_empty() {
        page.line(dim(
            "no packages found (read: dpkg, apk, rpm, Python, npm, Cargo.lock, gems, Composer, .NET deps.json, Go binaries, cargo-auditable binaries, Java archives)",
        ));
    } else {
        page.line(t);
    }
    for w in &s.warnings {
        page.line(text!(warn("warning:"), " ", w));
    }
}
