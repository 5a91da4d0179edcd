//! Datasets: readers for the standard published formats, the registry of datasets users expect,
//! and their verification and download.
//!
//! Dataset `NAME` lives in `DATA_DIR/NAME/` (for the DBP15K pairs `DATA_DIR/dbp15k/PAIR/`), in
//! its published files, plain or gzip-compressed. `DATA_DIR` comes from `--data-dir` or the
//! environment variable `DLP_DATA_DIR`.

pub mod fetch;
pub mod idx;
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
