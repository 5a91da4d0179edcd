//! FID and KID as papers report them: Inception-v3 pool features ([`crate::inception`], the
//! user's pytorch-fid weights) of a trained run's samples against a reference image set.
//!
//! - FID: the Fréchet distance between Gaussians fitted to the two feature sets
//!   ([`crate::frechet`]).
//! - KID (Bińkowski et al. 2018, as torch-fidelity and clean-fid compute it): the unbiased MMD²
//!   with the kernel k(x, y) = (xᵀy/d + 1)³, averaged over `subsets` random subsets of
//!   `subset_size` samples drawn without replacement from each set; reported with its standard
//!   deviation over the subsets.
//!
//! The reference is a registry dataset's training split or an image folder (at the run's size
//! and channels; files that cannot be decoded are left out and named), its first 10,000 images
//! at most. Its features, mean and covariance are cached
//! as safetensors in `.dlp-cache/` beside the data, keyed by the weights file's SHA-256 and the
//! image count, so the next evaluation skips them.

use crate::frechet::{Gaussian, frechet};
use crate::inception::{FEATURES, Inception, prepare};
use crate::sample::Sampler;
use crate::task_image::{Images, load_split, sample_images};
use crate::train::{load_ema, read_config};
use burn::tensor::Device;
use dlp_core::data::idx::Split;
use dlp_core::progress::Progress;
use dlp_core::rng::Rng;
use dlp_core::{Error, Result};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The most samples one evaluation generates (their features take 8 KiB each).
pub const MAX_SAMPLES: usize = 1_000_000;

/// The most reference images used.
pub const REFERENCE_MAX: usize = 10_000;

/// Where the reference images come from.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reference {
    /// A registry image dataset's training split (under the data directory).
    Dataset(String),
    /// A folder of images, read as `dlp ddpm train --images` reads it.
    Folder(PathBuf),
}

/// What [`evaluate`] needs besides the run.
#[derive(Debug, Clone)]
pub struct Options {
    pub inception: PathBuf,
    pub reference: Reference,
    /// Generated samples.
    pub n: usize,
    pub sampler: Sampler,
    pub guidance: f64,
    pub kid_subsets: usize,
    pub kid_subset_size: usize,
}

/// The scores of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Scores {
    pub task: &'static str,
    pub dataset: String,
    pub seed: u64,
    pub reference: Reference,
    pub fid: f64,
    pub kid: f64,
    pub kid_std: f64,
    pub kid_subsets: usize,
    pub kid_subset_size: usize,
    pub n: usize,
    pub reference_n: usize,
    /// The file holding the reference's features, mean and covariance.
    pub reference_cache: PathBuf,
    /// Whether the reference came from that cache.
    pub reference_cached: bool,
    /// Files of a reference folder that could not be decoded, left out.
    pub reference_skipped: Vec<String>,
    pub inception: PathBuf,
    pub sampler: Sampler,
    pub seconds: f64,
    pub dlp_version: &'static str,
}

/// FID and KID of `n` samples of the run in `run` against the reference.
pub fn evaluate(run: &Path, data_dir: &Path, opts: &Options, device: &Device) -> Result<Scores> {
    let start = Instant::now();
    let cfg = read_config(run)?;
    let images = Images::without_data(&cfg)?;
    if !(2..=MAX_SAMPLES).contains(&opts.n) {
        return Err(Error::setting(
            "n",
            format!("between 2 and {MAX_SAMPLES} samples, got {}", opts.n),
        ));
    }
    let net = Inception::load(&opts.inception, device)?;
    let (reference, cache, cached, skipped) =
        reference_features(&net, opts, &images, data_dir, device)?;
    let ema = load_ema(run, &images, device)?;
    let d = crate::GaussianDiffusion::new(cfg.schedule, cfg.timesteps);
    let mut rng = Rng::new(cfg.seed).fork(401);
    let progress = Progress::new("fid: samples", opts.n as u64);
    let mut generated = Vec::new();
    while generated.len() < opts.n * FEATURES {
        let b = (opts.n - generated.len() / FEATURES).min(50);
        let (x, _) = sample_images(
            &ema,
            &images.unet,
            &d,
            cfg.prediction,
            opts.sampler,
            b,
            opts.guidance,
            &mut rng,
            device,
        );
        let shape = x.dims();
        let unit: Vec<f32> = x
            .into_data()
            .convert::<f32>()
            .iter::<f32>()
            .map(|v| (v + 1.0) / 2.0)
            .collect();
        generated.extend(features(&net, &unit, shape, device, None));
        progress.inc(b as u64);
    }
    progress.finish();
    let fid = frechet(
        &Gaussian::fit_f32(&generated, FEATURES),
        &reference.gaussian,
    );
    let size = opts.kid_subset_size.min(opts.n).min(reference.n);
    let mut kid_rng = Rng::new(cfg.seed).fork(402);
    let (kid, kid_std) = kid(
        &generated,
        &reference.features,
        FEATURES,
        opts.kid_subsets,
        size,
        &mut kid_rng,
    );
    Ok(Scores {
        task: "ddpm-eval-inception",
        dataset: cfg.dataset,
        seed: cfg.seed,
        reference: opts.reference.clone(),
        fid,
        kid,
        kid_std,
        kid_subsets: opts.kid_subsets,
        kid_subset_size: size,
        n: opts.n,
        reference_n: reference.n,
        reference_cache: cache,
        reference_cached: cached,
        reference_skipped: skipped,
        inception: opts.inception.clone(),
        sampler: opts.sampler,
        seconds: start.elapsed().as_secs_f64(),
        dlp_version: dlp_core::run::VERSION,
    })
}

/// Inception features `[n, 2048]` of images in [0, 1] `shape = [n, c, h, w]`, in batches.
pub fn features(
    net: &Inception,
    unit: &[f32],
    [n, c, h, w]: [usize; 4],
    device: &Device,
    progress: Option<&Progress>,
) -> Vec<f32> {
    let per = c * h * w;
    let mut out = Vec::with_capacity(n * FEATURES);
    for chunk in unit.chunks(25 * per) {
        let b = chunk.len() / per;
        let f = net.features(prepare(chunk, [b, c, h, w], device));
        out.extend(f.into_data().convert::<f32>().iter::<f32>());
        if let Some(p) = progress {
            p.inc(b as u64);
        }
    }
    out
}

/// The reference set's features and Gaussian.
pub struct ReferenceStats {
    pub features: Vec<f32>,
    pub gaussian: Gaussian,
    pub n: usize,
}

fn reference_features(
    net: &Inception,
    opts: &Options,
    images: &Images,
    data_dir: &Path,
    device: &Device,
) -> Result<(ReferenceStats, PathBuf, bool, Vec<String>)> {
    let mut skipped = Vec::new();
    let set = match &opts.reference {
        Reference::Dataset(name) => load_split(name, data_dir, Split::Train)?,
        Reference::Folder(dir) => {
            // Files that cannot be decoded are left out of a reference, and named in the scores.
            let u = &images.unet;
            let f = dlp_core::data::folder::load(dir, u.resolution, u.in_channels, true)?;
            skipped = f.skipped.into_iter().map(|(file, _)| file).collect();
            f.images
        }
    };
    let home = match &opts.reference {
        Reference::Dataset(name) => data_dir.join(name),
        Reference::Folder(dir) => dir.clone(),
    };
    let n = set.len().min(REFERENCE_MAX);
    if n < 2 {
        return Err(Error::Usage(format!(
            "the reference {} has fewer than 2 images",
            home.display()
        )));
    }
    let weights =
        std::fs::File::open(&opts.inception).map_err(|e| Error::io(&opts.inception, e))?;
    let key =
        dlp_core::data::fetch::sha256_reader(weights).map_err(|e| Error::io(&opts.inception, e))?;
    let [c, h, w] = [set.channels, set.height, set.width];
    let cache = home.join(".dlp-cache").join(format!(
        "inception-{}-{n}x{c}x{h}x{w}.safetensors",
        &key[..12]
    ));
    if let Some(stats) = read_cache(&cache, n) {
        return Ok((stats, cache, true, skipped));
    }
    let progress = Progress::new("fid: reference", n as u64);
    let unit: Vec<f32> = set.images[..n * c * h * w]
        .iter()
        .map(|&p| f32::from(p) / 255.0)
        .collect();
    let feats = features(net, &unit, [n, c, h, w], device, Some(&progress));
    progress.finish();
    let gaussian = Gaussian::fit_f32(&feats, FEATURES);
    let stats = ReferenceStats {
        features: feats,
        gaussian,
        n,
    };
    write_cache(&cache, &stats)?;
    Ok((stats, cache, false, skipped))
}

fn read_cache(path: &Path, n: usize) -> Option<ReferenceStats> {
    let bytes = std::fs::read(path).ok()?;
    let st = SafeTensors::deserialize(&bytes).ok()?;
    let f32s = |b: &[u8]| -> Vec<f32> {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    let f64s = |b: &[u8]| -> Vec<f64> {
        b.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect()
    };
    let features = f32s(st.tensor("features").ok()?.data());
    let mean = f64s(st.tensor("mean").ok()?.data());
    let cov = f64s(st.tensor("cov").ok()?.data());
    (features.len() == n * FEATURES && mean.len() == FEATURES && cov.len() == FEATURES * FEATURES)
        .then_some(ReferenceStats {
            features,
            gaussian: Gaussian {
                mean,
                cov,
                d: FEATURES,
            },
            n,
        })
}

fn write_cache(path: &Path, s: &ReferenceStats) -> Result<()> {
    let bad = |e: safetensors::SafeTensorError| Error::format(path, None, e.to_string());
    let f: Vec<u8> = s.features.iter().flat_map(|v| v.to_le_bytes()).collect();
    let m: Vec<u8> = s
        .gaussian
        .mean
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let c: Vec<u8> = s
        .gaussian
        .cov
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let views = [
        (
            "features",
            TensorView::new(Dtype::F32, vec![s.n, FEATURES], &f).map_err(bad)?,
        ),
        (
            "mean",
            TensorView::new(Dtype::F64, vec![FEATURES], &m).map_err(bad)?,
        ),
        (
            "cov",
            TensorView::new(Dtype::F64, vec![FEATURES, FEATURES], &c).map_err(bad)?,
        ),
    ];
    let meta = HashMap::from([("what".to_string(), "Inception-v3 pool features".to_string())]);
    let bytes = safetensors::serialize(views, Some(meta)).map_err(bad)?;
    dlp_core::atomic::write(path, &bytes)
}

/// KID between feature sets `x` and `y` (rows of `d`): the mean and standard deviation over
/// `subsets` subsets of `size` rows of each (see the module doc).
pub fn kid(
    x: &[f32],
    y: &[f32],
    d: usize,
    subsets: usize,
    size: usize,
    rng: &mut Rng,
) -> (f64, f64) {
    let (nx, ny) = (x.len() / d, y.len() / d);
    let m = size.min(nx).min(ny);
    if m < 2 || subsets == 0 {
        return (f64::NAN, f64::NAN);
    }
    let pick = |set: &[f32], n: usize, rng: &mut Rng| -> Vec<f64> {
        rng.permutation(n)[..m]
            .iter()
            .flat_map(|&i| set[i * d..(i + 1) * d].iter().map(|&v| f64::from(v)))
            .collect()
    };
    let values: Vec<f64> = (0..subsets)
        .map(|_| {
            let (a, b) = (pick(x, nx, rng), pick(y, ny, rng));
            mmd2_unbiased(&a, &b, m, d)
        })
        .collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
    (mean, var.sqrt())
}

/// The unbiased MMD² of `m` rows each of `a` and `b` with the cubic polynomial kernel.
fn mmd2_unbiased(a: &[f64], b: &[f64], m: usize, d: usize) -> f64 {
    let kernel = |p: &[f64], q: &[f64]| -> Vec<f64> {
        let mut g = vec![0.0; m * m];
        crate::frechet::gram(&mut g, p, q, m, d);
        g.iter().map(|v| (v / d as f64 + 1.0).powi(3)).collect()
    };
    let (kxx, kyy, kxy) = (kernel(a, a), kernel(b, b), kernel(a, b));
    let off = |k: &[f64]| k.iter().sum::<f64>() - (0..m).map(|i| k[i * m + i]).sum::<f64>();
    let mm = m as f64;
    (off(&kxx) + off(&kyy)) / (mm * (mm - 1.0)) - 2.0 * kxy.iter().sum::<f64>() / (mm * mm)
}
