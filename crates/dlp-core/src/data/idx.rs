//! IDX files (LeCun's format for MNIST and Fashion-MNIST), plain or gzip-compressed.
//!
//! Header, big-endian: two zero bytes, a type byte (0x08 = unsigned byte), the number of
//! dimensions `k`, then `k` u32 sizes; the data follow, `prod(sizes)` items. Every part is
//! validated: a wrong magic, an unsupported type, a cut file or trailing bytes are errors that
//! name the file, never panics.
//!
//! ```no_run
//! use dlp_core::data::idx::LabelledImages;
//! let train = LabelledImages::load("data/mnist".as_ref(), dlp_core::data::idx::Split::Train)?;
//! assert_eq!(train.len(), 60000);
//! # Ok::<(), dlp_core::Error>(())
//! ```

use super::{find_file, read_maybe_gz};
use crate::error::{Error, Result};
use burn::tensor::{Device, Int, Tensor, TensorData};
use std::path::Path;

/// An IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Parses IDX bytes; `path` only names the file in errors.
pub fn parse_idx(bytes: &[u8], path: &Path) -> Result<IdxArray> {
    let bad = |msg: String| Error::format(path, None, msg);
    if bytes.len() < 4 {
        return Err(bad(format!(
            "truncated IDX header: {} bytes, need at least 4",
            bytes.len()
        )));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(bad(format!(
            "not an IDX file: magic number starts {:02x} {:02x}, expected 00 00",
            bytes[0], bytes[1]
        )));
    }
    if bytes[2] != 0x08 {
        return Err(bad(format!(
            "IDX data type 0x{:02x} is not supported (only 0x08, unsigned byte)",
            bytes[2]
        )));
    }
    let ndim = bytes[3] as usize;
    if ndim == 0 {
        return Err(bad("IDX header declares 0 dimensions".into()));
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(bad(format!(
            "truncated IDX header: {} bytes, the {ndim} dimensions need {header}",
            bytes.len()
        )));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| bad(format!("IDX dimensions {dims:?} overflow")))?;
    let have = bytes.len() - header;
    if have < count {
        return Err(bad(format!(
            "truncated IDX data: dimensions {dims:?} need {count} bytes, file has {have}"
        )));
    }
    if have > count {
        return Err(bad(format!(
            "{} trailing bytes after the {count} data bytes of dimensions {dims:?}",
            have - count
        )));
    }
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Reads an IDX file, plain or `.gz`.
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    parse_idx(&read_maybe_gz(path)?, path)
}

/// A split of an image classification dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

/// Images (`n × channels × height × width` bytes) with one label each, as MNIST,
/// Fashion-MNIST and CIFAR-10 ship them.
#[derive(Debug, Clone)]
pub struct LabelledImages {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl LabelledImages {
    /// Loads a split from a directory of the four standard files (`train-images-idx3-ubyte`,
    /// `t10k-labels-idx1-ubyte`, ...; `.gz` or not). Counts must agree between the two files.
    pub fn load(dir: &Path, split: Split) -> Result<Self> {
        let prefix = match split {
            Split::Train => "train",
            Split::Test => "t10k",
        };
        let locate = |kind: &str| {
            let name = format!("{prefix}-{kind}-ubyte");
            find_file(dir, &name)
                .ok_or_else(|| Error::format(dir, None, format!("missing {name} (or {name}.gz)")))
        };
        let img_path = locate("images-idx3")?;
        let lbl_path = locate("labels-idx1")?;
        let images = read_idx(&img_path)?;
        let labels = read_idx(&lbl_path)?;
        if images.dims.len() != 3 {
            return Err(Error::format(
                &img_path,
                None,
                format!(
                    "expected 3 dimensions (n, rows, cols), found {:?}",
                    images.dims
                ),
            ));
        }
        if labels.dims.len() != 1 {
            return Err(Error::format(
                &lbl_path,
                None,
                format!("expected 1 dimension (n), found {:?}", labels.dims),
            ));
        }
        if images.dims[0] != labels.dims[0] {
            return Err(Error::format(
                &lbl_path,
                None,
                format!(
                    "{} labels for {} images in {}",
                    labels.dims[0],
                    images.dims[0],
                    img_path.display()
                ),
            ));
        }
        Ok(Self {
            channels: 1,
            height: images.dims[1],
            width: images.dims[2],
            images: images.data,
            labels: labels.data,
        })
    }

    /// Loads a split of CIFAR-10's binary version: `data_batch_1.bin` .. `data_batch_5.bin`
    /// (train) or `test_batch.bin` (test), each record one label byte and 3072 pixel bytes
    /// (`3 × 32 × 32`, channel-major).
    pub fn load_cifar10(dir: &Path, split: Split) -> Result<Self> {
        const RECORD: usize = 1 + 3 * 32 * 32;
        let names: Vec<String> = match split {
            Split::Train => (1..=5).map(|i| format!("data_batch_{i}.bin")).collect(),
            Split::Test => vec!["test_batch.bin".into()],
        };
        let mut out = Self {
            images: Vec::new(),
            labels: Vec::new(),
            channels: 3,
            height: 32,
            width: 32,
        };
        for name in names {
            let path = find_file(dir, &name)
                .ok_or_else(|| Error::format(dir, None, format!("missing {name}")))?;
            let bytes = read_maybe_gz(&path)?;
            if bytes.is_empty() || bytes.len() % RECORD != 0 {
                return Err(Error::format(
                    &path,
                    None,
                    format!(
                        "{} bytes is not a whole number of {RECORD}-byte records",
                        bytes.len()
                    ),
                ));
            }
            for (i, rec) in bytes.chunks_exact(RECORD).enumerate() {
                if rec[0] > 9 {
                    return Err(Error::format(
                        &path,
                        None,
                        format!("record {i}: label {} is not in 0..=9", rec[0]),
                    ));
                }
                out.labels.push(rec[0]);
                out.images.extend_from_slice(&rec[1..]);
            }
        }
        Ok(out)
    }

    /// Loads a split of a registry image dataset from `data_dir` with the reader its format
    /// needs (CIFAR-10 binary, else IDX).
    pub fn load_dataset(
        dataset: &super::registry::Dataset,
        data_dir: &Path,
        split: Split,
    ) -> Result<Self> {
        let dir = data_dir.join(dataset.dir);
        // The registry names the published `.gz` files; a plain (decompressed) copy serves too.
        let stored = |name: &str| {
            let plain = name.strip_suffix(".gz").unwrap_or(name);
            dir.join(plain).is_file() || dir.join(format!("{plain}.gz")).is_file()
        };
        if let Some(spec) = dataset.files.iter().find(|f| !stored(f.name)) {
            return Err(Error::format(
                &dir,
                None,
                format!(
                    "missing {} (`dlp data fetch {}` downloads the dataset and checks it)",
                    spec.name, dataset.name
                ),
            ));
        }
        let data = if dataset.name == "cifar10" {
            Self::load_cifar10(&dir, split)?
        } else {
            Self::load(&dir, split)?
        };
        // Every image set of the registry has 10 classes; a label past them would index out of
        // bounds in a classifier.
        if let Some((i, l)) = data.labels.iter().enumerate().find(|(_, l)| **l >= 10) {
            return Err(Error::format(
                &dir,
                None,
                format!(
                    "{split:?} labels: example {i} has label {l}, but {} has 10 classes (0-9)",
                    dataset.name
                ),
            ));
        }
        Ok(data)
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels of example `i`, channel-major then row-major.
    pub fn image(&self, i: usize) -> &[u8] {
        let size = self.channels * self.height * self.width;
        &self.images[i * size..(i + 1) * size]
    }

    /// Number of examples of each label `0..=max`.
    pub fn label_counts(&self) -> Vec<usize> {
        let max = self.labels.iter().copied().max().unwrap_or(0) as usize;
        let mut counts = vec![0; max + 1];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// The examples at `indices` as a float tensor `[b, c, h, w]` scaled to [0, 1].
    pub fn images_tensor(&self, indices: &[usize], device: &Device) -> Tensor<4> {
        self.images_tensor_mirrored(indices, &[], device)
    }

    /// As [`Self::images_tensor`], example k mirrored left to right where `mirror[k]` is true.
    pub fn images_tensor_mirrored(
        &self,
        indices: &[usize],
        mirror: &[bool],
        device: &Device,
    ) -> Tensor<4> {
        let mut values = Vec::with_capacity(indices.len() * self.image(0).len());
        for (k, &i) in indices.iter().enumerate() {
            let pixels = self.image(i).iter().map(|&p| p as f32 / 255.0);
            let start = values.len();
            values.extend(pixels);
            if mirror.get(k).copied().unwrap_or(false) {
                for row in values[start..].chunks_exact_mut(self.width) {
                    row.reverse();
                }
            }
        }
        let shape = [indices.len(), self.channels, self.height, self.width];
        Tensor::from_data(TensorData::new(values, shape), device)
    }

    /// The labels at `indices` as an integer tensor `[b]`.
    pub fn labels_tensor(&self, indices: &[usize], device: &Device) -> Tensor<1, Int> {
        let values: Vec<i64> = indices.iter().map(|&i| self.labels[i] as i64).collect();
        Tensor::from_data(TensorData::new(values, [indices.len()]), device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            b.extend(d.to_be_bytes());
        }
        b.extend(data);
        b
    }

    #[test]
    fn parses_a_valid_array() {
        let a = parse_idx(&idx(&[2, 3], &[1, 2, 3, 4, 5, 6]), Path::new("x")).unwrap();
        assert_eq!(a.dims, vec![2, 3]);
        assert_eq!(a.data, vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn rejects_bad_magic_type_truncation_and_trailing_bytes() {
        let p = Path::new("f.idx");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![1, 0, 8, 1, 0, 0, 0, 1, 7], "magic"),
            (vec![0, 0, 0x0d, 1, 0, 0, 0, 1, 7], "not supported"),
            (vec![0, 0, 8], "truncated IDX header"),
            (vec![0, 0, 8, 2, 0, 0, 0, 1], "truncated IDX header"),
            (idx(&[2, 3], &[1, 2, 3]), "truncated IDX data"),
            (idx(&[1], &[1, 2]), "trailing"),
        ];
        for (bytes, needle) in cases {
            let err = parse_idx(&bytes, p).unwrap_err().to_string();
            assert!(err.contains(needle), "{err:?} lacks {needle:?}");
            assert!(err.starts_with("f.idx"), "{err:?} does not name the file");
        }
    }

    #[test]
    fn cifar10_binary_records_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let record = |label: u8, fill: u8| {
            let mut r = vec![label];
            r.extend(std::iter::repeat_n(fill, 3072));
            r
        };
        let mut batch = record(3, 7);
        batch.extend(record(9, 200));
        for i in 1..=5 {
            std::fs::write(dir.path().join(format!("data_batch_{i}.bin")), &batch).unwrap();
        }
        std::fs::write(dir.path().join("test_batch.bin"), record(0, 1)).unwrap();
        let train = LabelledImages::load_cifar10(dir.path(), Split::Train).unwrap();
        assert_eq!((train.len(), train.channels, train.height), (10, 3, 32));
        assert_eq!(&train.labels[..2], &[3, 9]);
        assert!(train.image(1).iter().all(|&p| p == 200));
        // A cut record and an impossible label are errors naming the file.
        std::fs::write(dir.path().join("test_batch.bin"), &record(0, 1)[..3000]).unwrap();
        let err = LabelledImages::load_cifar10(dir.path(), Split::Test)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("test_batch.bin") && err.contains("3073-byte records"),
            "{err}"
        );
        std::fs::write(dir.path().join("test_batch.bin"), record(12, 1)).unwrap();
        let err = LabelledImages::load_cifar10(dir.path(), Split::Test)
            .unwrap_err()
            .to_string();
        assert!(err.contains("label 12"), "{err}");
    }

    #[test]
    fn truncated_gzip_is_an_error_naming_the_file() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x-idx1-ubyte.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&idx(&[1000], &[3u8; 1000])).unwrap();
        let gz = enc.finish().unwrap();
        std::fs::write(&path, &gz[..gz.len() / 2]).unwrap();
        let err = read_idx(&path).unwrap_err().to_string();
        assert!(err.contains("x-idx1-ubyte.gz"), "{err}");
    }
}
