//! Layer-walk benchmark: stream every layer of an image through the layer
//! reader (digest check, decompression, tar walk, diff_id check) and compare
//! with `gzip -dc LAYER > /dev/null` over the same blobs, measured in the
//! same run. Prints the ratio and this process's peak RSS.
//!
//! Usage: cargo bench -p clearance-oci --bench layer_walk -- oci:DIR:TAG [ROUNDS]
//! (scripts/bench-layers.sh builds a real image and runs this.)

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clearance_oci::layer::{LayerEntry, LayerLimits, LayerVisitor, read_layer};
use clearance_oci::{ImageRef, ImageSource, Platform, ResolvedImage, SourceSettings};

const RATIO_TARGET: f64 = 1.10;
const RSS_TARGET_MIB: f64 = 64.0;

struct Count(u64);

impl LayerVisitor for Count {
    fn entry(&mut self, _: LayerEntry, _: Option<Vec<u8>>) {
        self.0 += 1;
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(reference) = args.first() else {
        return Err("usage: layer_walk oci:DIR:TAG [ROUNDS]".into());
    };
    let rounds: usize = args.get(1).map(|r| r.parse()).transpose()?.unwrap_or(3);
    let reference: ImageRef = reference.parse()?;
    let ImageRef::OciLayout { path: layout, .. } = &reference else {
        return Err("the benchmark needs an oci: layout (gzip -dc reads its blob files)".into());
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let source = runtime.block_on(ImageSource::open(&reference, &SourceSettings::default()))?;
    let image = runtime.block_on(source.resolve(&Platform::default()))?;
    let blobs: Vec<_> = image
        .layers
        .iter()
        .map(|l| layout.join("blobs/sha256").join(l.blob.digest.hex()))
        .collect();
    let compressed: u64 = image.layers.iter().map(|l| l.blob.size).sum();

    let mut floor = Duration::MAX;
    let mut ours = Duration::MAX;
    let mut ours_parallel = Duration::MAX;
    let mut uncompressed = 0;
    let mut entries = 0;
    // Interleave the runs so that both sides see the same machine state.
    for _ in 0..rounds {
        let t = Instant::now();
        for blob in &blobs {
            let status = Command::new("gzip")
                .arg("-dc")
                .arg(blob)
                .stdout(Stdio::null())
                .status()?;
            if !status.success() {
                return Err(format!("gzip -dc {} failed", blob.display()).into());
            }
        }
        floor = floor.min(t.elapsed());

        let t = Instant::now();
        (uncompressed, entries) = walk_sequential(&runtime, &source, &image)?;
        ours = ours.min(t.elapsed());

        let t = Instant::now();
        walk_parallel(&runtime, &source, &image)?;
        ours_parallel = ours_parallel.min(t.elapsed());
    }
    let ratio = ours.as_secs_f64() / floor.as_secs_f64();
    let rss = peak_rss_mib();
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    println!(
        "image: {} layers, {:.1} MiB compressed, {:.1} MiB uncompressed, {entries} entries",
        image.layers.len(),
        mib(compressed),
        mib(uncompressed)
    );
    println!(
        "gzip -dc (floor), min of {rounds}: {:.3} s",
        floor.as_secs_f64()
    );
    println!(
        "clearance layer walk, one thread: {:.3} s ({:.0} MiB/s compressed)",
        ours.as_secs_f64(),
        mib(compressed) / ours.as_secs_f64()
    );
    println!(
        "clearance layer walk, layers in parallel: {:.3} s (ratio {:.2})",
        ours_parallel.as_secs_f64(),
        ours_parallel.as_secs_f64() / floor.as_secs_f64()
    );
    println!(
        "ratio (one thread / gzip -dc): {ratio:.2} (target <= {RATIO_TARGET:.2}) {}",
        verdict(ratio <= RATIO_TARGET)
    );
    println!(
        "peak RSS: {rss:.1} MiB (target <= {RSS_TARGET_MIB:.0} MiB) {}",
        verdict(rss <= RSS_TARGET_MIB)
    );
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok { "MET" } else { "MISSED" }
}

/// Every layer, one after another on one blocking thread.
fn walk_sequential(
    runtime: &tokio::runtime::Runtime,
    source: &ImageSource,
    image: &ResolvedImage,
) -> Result<(u64, u64), Box<dyn std::error::Error>> {
    let mut total = (0, 0);
    for layer in &image.layers {
        let blob = runtime.block_on(source.open_blob(&layer.blob))?;
        let mut count = Count(0);
        let stats = read_layer(
            blob,
            &LayerLimits::default(),
            layer.diff_id.as_ref(),
            &mut count,
        )?;
        total.0 += stats.uncompressed_bytes;
        total.1 += count.0;
    }
    Ok(total)
}

/// All layers at once, as `inspect` and the scanner read them.
fn walk_parallel(
    runtime: &tokio::runtime::Runtime,
    source: &ImageSource,
    image: &ResolvedImage,
) -> Result<(), Box<dyn std::error::Error>> {
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for layer in &image.layers {
            let blob = source.open_blob(&layer.blob).await?;
            let diff_id = layer.diff_id.clone();
            tasks.push(tokio::task::spawn_blocking(move || {
                read_layer(
                    blob,
                    &LayerLimits::default(),
                    diff_id.as_ref(),
                    &mut Count(0),
                )
                .map(drop)
            }));
        }
        for t in tasks {
            t.await??;
        }
        Ok(())
    })
}

/// `VmHWM` of this process, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
