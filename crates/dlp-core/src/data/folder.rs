//! A folder of the user's own pictures as [`LabelledImages`]: every PNG, JPEG, WebP, BMP and GIF
//! (its first frame) under the folder, recursively, centre-cropped to a square, resized to
//! `size`×`size` and converted to 1 (luma) or 3 (RGB) channels.
//!
//! The resize is the `image` crate's triangle (bilinear) filter, whose support widens with the
//! scale factor when shrinking, so a downscale averages over the area each output pixel covers
//! (antialiased, as PIL's `BILINEAR` resize). When every file sits in a subfolder, the subfolders
//! are the classes (sorted by name, label = position); a file directly in the folder makes the set
//! unlabelled (every label 0).
//!
//! Each file is decoded once: the result goes to `.dlp-cache/{size}x{channels}.safetensors` in the
//! folder (the images as one `u8` tensor), keyed by the SHA-256 of every file's path, length and
//! modification time, so the next run over an unchanged folder reads one file. The decoded set is
//! held in memory as bytes (50,000 RGB images of 32×32 take 150 MB).
//!
//! A file that cannot be decoded is named with the reason; by default the whole load is refused,
//! with `lenient` exactly those files are skipped and listed in [`Folder::skipped`].

use super::idx::LabelledImages;
use crate::error::{Error, Result};
use image::imageops::FilterType;
use rayon::prelude::*;
use safetensors::tensor::{Dtype, TensorView};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// File name endings read as images (compared in lower case).
pub const EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "webp", "bmp", "gif"];

/// Where decoded sets are cached inside the folder.
pub const CACHE_DIR: &str = ".dlp-cache";

/// A decoded folder.
#[derive(Debug, Clone)]
pub struct Folder {
    pub images: LabelledImages,
    /// Class names (the subfolders), empty when unlabelled.
    pub classes: Vec<String>,
    /// Files that could not be decoded, with the reason (only with `lenient`).
    pub skipped: Vec<(String, String)>,
    /// Whether the set came from the cache.
    pub cached: bool,
}

/// The image files under `dir`, recursively, as sorted paths relative to `dir` (hidden files and
/// folders, the cache among them, are not read).
pub fn image_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let here = dir.join(&rel);
        for entry in std::fs::read_dir(&here).map_err(|e| Error::io(&here, e))? {
            let entry = entry.map_err(|e| Error::io(&here, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            let path = rel.join(&*name);
            let kind = entry.file_type().map_err(|e| Error::io(entry.path(), e))?;
            if kind.is_dir() {
                stack.push(path);
            } else if let Some(ext) = path.extension() {
                let ext = ext.to_string_lossy().to_lowercase();
                if EXTENSIONS.contains(&ext.as_str()) {
                    out.push(path);
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The class names of `files` (their first path component, sorted), or none when any file lies
/// directly in the folder.
pub fn classes_of(files: &[PathBuf]) -> Vec<String> {
    let mut classes: Vec<String> = Vec::new();
    for f in files {
        let mut parts = f.components();
        match (parts.next(), parts.next()) {
            (Some(c), Some(_)) => classes.push(c.as_os_str().to_string_lossy().into_owned()),
            _ => return Vec::new(),
        }
    }
    classes.sort();
    classes.dedup();
    classes
}

/// Decodes one file to `channels × size × size` bytes (channel-major).
fn decode(path: &Path, size: u32, channels: usize) -> std::result::Result<Vec<u8>, String> {
    let img = image::ImageReader::open(path)
        .map_err(|e| e.to_string())?
        .with_guessed_format()
        .map_err(|e| e.to_string())?
        .decode()
        .map_err(|e| e.to_string())?;
    let (w, h) = (img.width(), img.height());
    if w == 0 || h == 0 {
        return Err("the image is empty".into());
    }
    let side = w.min(h);
    let square = img.crop_imm((w - side) / 2, (h - side) / 2, side, side);
    let small = square.resize_exact(size, size, FilterType::Triangle);
    let n = (size * size) as usize;
    Ok(if channels == 1 {
        small.to_luma8().into_raw()
    } else {
        let rgb = small.to_rgb8().into_raw();
        let mut out = vec![0u8; 3 * n];
        for (p, px) in rgb.chunks_exact(3).enumerate() {
            for c in 0..3 {
                out[c * n + p] = px[c];
            }
        }
        out
    })
}

/// The cache key: the size, the channels, and every file's path, length and modification time.
fn key(dir: &Path, files: &[PathBuf], size: u32, channels: usize) -> Result<String> {
    let mut h = Sha256::new();
    h.update(format!("{size}x{channels}\n"));
    for f in files {
        let meta = std::fs::metadata(dir.join(f)).map_err(|e| Error::io(dir.join(f), e))?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        h.update(format!("{}\t{}\t{mtime}\n", f.display(), meta.len()));
    }
    Ok(format!("{:x}", h.finalize()))
}

fn cache_path(dir: &Path, size: u32, channels: usize) -> PathBuf {
    dir.join(CACHE_DIR)
        .join(format!("{size}x{channels}.safetensors"))
}

/// The cached set, if the cache exists and its key is `key`.
fn read_cache(path: &Path, key: &str, size: u32, channels: usize) -> Option<Folder> {
    let bytes = std::fs::read(path).ok()?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).ok()?;
    let meta: HashMap<String, String> = meta.metadata().clone()?;
    if meta.get("key").map(String::as_str) != Some(key) {
        return None;
    }
    let st = safetensors::SafeTensors::deserialize(&bytes).ok()?;
    let images = st.tensor("images").ok()?.data().to_vec();
    let labels = st.tensor("labels").ok()?.data().to_vec();
    let per = channels * (size * size) as usize;
    if images.len() != labels.len() * per {
        return None;
    }
    Some(Folder {
        images: LabelledImages {
            images,
            labels,
            channels,
            height: size as usize,
            width: size as usize,
        },
        classes: serde_json::from_str(meta.get("classes")?).ok()?,
        skipped: serde_json::from_str(meta.get("skipped")?).ok()?,
        cached: true,
    })
}

fn write_cache(path: &Path, key: &str, f: &Folder) -> Result<()> {
    let n = f.images.labels.len();
    let shape = vec![n, f.images.channels, f.images.height, f.images.width];
    let images = TensorView::new(Dtype::U8, shape, &f.images.images)
        .map_err(|e| Error::format(path, None, e.to_string()))?;
    let labels = TensorView::new(Dtype::U8, vec![n], &f.images.labels)
        .map_err(|e| Error::format(path, None, e.to_string()))?;
    let meta = HashMap::from([
        ("key".to_string(), key.to_string()),
        ("classes".into(), serde_json::json!(f.classes).to_string()),
        ("skipped".into(), serde_json::json!(f.skipped).to_string()),
    ]);
    let bytes = safetensors::serialize([("images", images), ("labels", labels)], Some(meta))
        .map_err(|e| Error::format(path, None, e.to_string()))?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    crate::atomic::write(path, &bytes)
}

/// Loads `dir` as `size`×`size` images of `channels` (1 or 3) channels, from the cache when the
/// folder has not changed since it was written.
pub fn load(dir: &Path, size: usize, channels: usize, lenient: bool) -> Result<Folder> {
    if channels != 1 && channels != 3 {
        return Err(Error::Usage(format!("channels: 1 or 3, got {channels}")));
    }
    if size == 0 || size > 4096 {
        return Err(Error::Usage(format!(
            "size: must be in 1..=4096, got {size}"
        )));
    }
    let files = image_files(dir)?;
    if files.is_empty() {
        return Err(Error::format(
            dir,
            None,
            format!("no image files ({}) in the folder", EXTENSIONS.join(", ")),
        ));
    }
    // The decoded set is held in memory: refuse one that cannot fit before decoding anything.
    let bytes = files.len() as f64 * (channels * size * size) as f64;
    crate::device::check_memory(
        &format!("{} images of {size}×{size}×{channels}", files.len()),
        bytes,
    )?;
    let classes = classes_of(&files);
    if classes.len() > 256 {
        return Err(Error::format(
            dir,
            None,
            format!("{} class folders; at most 256", classes.len()),
        ));
    }
    let size32 = size as u32;
    let key = key(dir, &files, size32, channels)?;
    let cache = cache_path(dir, size32, channels);
    let folder = match read_cache(&cache, &key, size32, channels) {
        Some(f) => f,
        None => {
            let decoded: Vec<_> = files
                .par_iter()
                .map(|f| decode(&dir.join(f), size32, channels))
                .collect();
            let mut f = Folder {
                images: LabelledImages {
                    images: Vec::with_capacity(files.len() * channels * size * size),
                    labels: Vec::with_capacity(files.len()),
                    channels,
                    height: size,
                    width: size,
                },
                classes,
                skipped: Vec::new(),
                cached: false,
            };
            for (path, d) in files.iter().zip(decoded) {
                match d {
                    Ok(px) => {
                        f.images.images.extend(px);
                        let class = path.components().next().map(|c| c.as_os_str());
                        let label = f
                            .classes
                            .iter()
                            .position(|c| Some(std::ffi::OsStr::new(c)) == class)
                            .unwrap_or(0);
                        f.images.labels.push(label as u8);
                    }
                    Err(why) => f.skipped.push((path.display().to_string(), why)),
                }
            }
            if let Err(e) = write_cache(&cache, &key, &f) {
                eprintln!("warning: decoded images not cached ({e}); the next run decodes again");
            }
            f
        }
    };
    if let Some((path, why)) = folder.skipped.first().filter(|_| !lenient) {
        return Err(Error::format(
            dir.join(path),
            None,
            format!(
                "cannot decode: {why} ({} undecodable file(s) in all; --lenient skips them)",
                folder.skipped.len()
            ),
        ));
    }
    if folder.images.labels.is_empty() {
        return Err(Error::format(dir, None, "no image could be decoded"));
    }
    Ok(folder)
}
