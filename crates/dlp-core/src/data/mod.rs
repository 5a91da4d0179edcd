//! Datasets: readers for the standard published formats, the registry of datasets users expect,
//! and their verification and download.
//!
//! Dataset `NAME` lives in `DATA_DIR/NAME/` (for the DBP15K pairs `DATA_DIR/dbp15k/PAIR/`), in
//! its published files, plain or gzip-compressed. `DATA_DIR` comes from `--data-dir` or the
//! environment variable `DLP_DATA_DIR`.

pub mod archive;
pub mod deb;
pub mod fetch;
pub mod folder;
pub mod idx;
pub mod pair;
pub mod png_rows;
pub mod registry;
pub mod triples;

use crate::error::{Error, Result};
use flate2::read::GzDecoder;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// Environment variable that names the data directory.
pub const DATA_DIR_ENV: &str = "DLP_DATA_DIR";

/// The data directory: the given one, else `$DLP_DATA_DIR`, else `./data`.
pub fn data_dir(given: Option<&Path>) -> PathBuf {
    given
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os(DATA_DIR_ENV).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("data"))
}

/// Finds `name` or `name.gz` in `dir`.
pub fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    [name.to_string(), format!("{name}.gz")]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// Opens a file for reading, decompressing it when its name ends in `.gz`.
pub fn open_maybe_gz(path: &Path) -> Result<Box<dyn Read>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = BufReader::with_capacity(1 << 16, file);
    if path.extension().is_some_and(|e| e == "gz") {
        Ok(Box::new(GzDecoder::new(reader)))
    } else {
        Ok(Box::new(reader))
    }
}

/// Reads a whole (possibly gzip-compressed) file; a corrupt or cut gzip stream is a format error.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_maybe_gz(path)?
        .read_to_end(&mut bytes)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidInput => Error::format(
                path,
                None,
                format!("truncated or corrupt gzip stream ({e})"),
            ),
            _ => Error::io(path, e),
        })?;
    Ok(bytes)
}

/// What `dlp data stats` reports for a registry dataset (the keys depend on its kind).
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
pub enum Stats {
    /// Split sizes, image shape and label histograms.
    Images {
        dataset: &'static str,
        train: usize,
        test: usize,
        shape: [usize; 3],
        train_label_counts: Vec<usize>,
        test_label_counts: Vec<usize>,
    },
    /// Triples per split, entities, relations, and test triples with an entity unseen in
    /// training.
    LinkPrediction {
        dataset: &'static str,
        train: usize,
        valid: usize,
        test: usize,
        entities: usize,
        relations: usize,
        test_triples_with_unseen_entity: usize,
    },
    /// Lines per file of an alignment pair.
    Alignment {
        dataset: &'static str,
        #[serde(flatten)]
        lines: std::collections::BTreeMap<&'static str, usize>,
    },
}

/// Loads a registry dataset with its reader and returns its counts (what `dlp data stats`
/// prints): split sizes and label histograms for images; triples, entities, relations and test
/// entities unseen in training for link prediction; line counts for alignment pairs.
pub fn stats(dataset: &registry::Dataset, data_dir: &Path) -> Result<Stats> {
    use registry::Kind;
    let dir = data_dir.join(dataset.dir);
    if !dir.is_dir() {
        return Err(Error::format(
            &dir,
            None,
            format!("no such directory (run `dlp data fetch {}`)", dataset.name),
        ));
    }
    Ok(match dataset.kind {
        Kind::Images => {
            let load = |split| idx::LabelledImages::load_dataset(dataset, data_dir, split);
            let train = load(idx::Split::Train)?;
            let test = load(idx::Split::Test)?;
            Stats::Images {
                dataset: dataset.name,
                train: train.len(),
                test: test.len(),
                shape: [train.channels, train.height, train.width],
                train_label_counts: train.label_counts(),
                test_label_counts: test.label_counts(),
            }
        }
        Kind::LinkPrediction => {
            let kg = triples::LinkPrediction::load(&dir)?;
            let mut seen = vec![false; kg.entities.len()];
            for t in &kg.train {
                seen[t[0] as usize] = true;
                seen[t[2] as usize] = true;
            }
            let unseen = kg
                .test
                .iter()
                .filter(|t| !seen[t[0] as usize] || !seen[t[2] as usize])
                .count();
            Stats::LinkPrediction {
                dataset: dataset.name,
                train: kg.train.len(),
                valid: kg.valid.len(),
                test: kg.test.len(),
                entities: kg.entities.len(),
                relations: kg.relations.len(),
                test_triples_with_unseen_entity: unseen,
            }
        }
        Kind::Alignment => {
            let mut lines = std::collections::BTreeMap::new();
            for spec in dataset.files {
                let path = find_file(&dir, spec.name)
                    .ok_or_else(|| Error::format(dir.join(spec.name), None, "missing"))?;
                let count = read_maybe_gz(&path)?
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count();
                lines.insert(spec.name, count);
            }
            Stats::Alignment {
                dataset: dataset.name,
                lines,
            }
        }
    })
}
