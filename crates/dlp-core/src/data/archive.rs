//! Checked files out of archives: SHA-256 of a stream, a file kept only with its registry
//! checksum (written atomically), and the members of tar streams, shared by the downloads
//! ([`super::fetch`]) and the archive formats ([`super::deb`], [`super::png_rows`]).

use super::registry::FileSpec;
use crate::atomic;
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Hex SHA-256 of everything `reader` yields.
pub fn sha256_reader(mut reader: impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(to_hex(&hasher.finalize()))
}

pub(super) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An error naming `path` unless `found` is the `expected` SHA-256.
pub(super) fn require_sha256(path: &Path, expected: &str, found: String) -> Result<()> {
    if found == expected {
        return Ok(());
    }
    Err(Error::Checksum {
        path: path.to_path_buf(),
        expected: expected.to_string(),
        found,
    })
}

/// Writes `bytes` as `spec`'s file in `dir` (atomically) if they have its SHA-256; `shown` is
/// where they came from, for the error.
pub(super) fn keep_checked(dir: &Path, spec: &FileSpec, bytes: &[u8], shown: &Path) -> Result<()> {
    let found = sha256_reader(bytes).map_err(|e| Error::io(shown, e))?;
    require_sha256(shown, spec.sha256, found)?;
    atomic::write(dir.join(spec.name), bytes)
}

/// Calls `f` with the base name, the path and the reader of every member of a `.tar.gz`.
pub(super) fn each_member(
    archive: &Path,
    f: impl FnMut(&str, &Path, &mut dyn Read) -> Result<()>,
) -> Result<()> {
    let file = File::open(archive).map_err(|e| Error::io(archive, e))?;
    each_tar_member(
        archive,
        flate2::read::GzDecoder::new(io::BufReader::new(file)),
        f,
    )
}

/// [`each_member`] for the tar stream `tar` read out of `archive`.
pub(super) fn each_tar_member(
    archive: &Path,
    tar: impl Read,
    mut f: impl FnMut(&str, &Path, &mut dyn Read) -> Result<()>,
) -> Result<()> {
    let mut tar = tar::Archive::new(tar);
    for entry in tar.entries().map_err(|e| corrupt(archive, e))? {
        let mut entry = entry.map_err(|e| corrupt(archive, e))?;
        let path = entry.path().map_err(|e| corrupt(archive, e))?.into_owned();
        if let Some(base) = path.file_name().and_then(|b| b.to_str()) {
            f(base, &archive.join(&path), &mut entry)?;
        }
    }
    Ok(())
}

/// Keeps the members of the tar stream `tar` (out of `archive`) whose base names are in
/// `wanted`, each turned into the published bytes by `publish` (given the spec and the path
/// shown in errors), checked, and renamed into `dir` atomically; an error names the first
/// wanted file that is not there.
pub(super) fn keep_members(
    archive: &Path,
    tar: impl Read,
    dir: &Path,
    wanted: &[&FileSpec],
    mut publish: impl FnMut(&FileSpec, &Path, Vec<u8>) -> Result<Vec<u8>>,
) -> Result<()> {
    let mut found = Vec::new();
    each_tar_member(archive, tar, |base, path, r| {
        let Some(spec) = wanted.iter().find(|s| s.name == base) else {
            return Ok(());
        };
        let mut bytes = Vec::new();
        r.read_to_end(&mut bytes).map_err(|e| corrupt(archive, e))?;
        keep_checked(dir, spec, &publish(spec, path, bytes)?, path)?;
        found.push(spec.name);
        Ok(())
    })?;
    if let Some(missing) = wanted.iter().find(|s| !found.contains(&s.name)) {
        return Err(Error::format(
            archive,
            None,
            format!("archive has no member {}", missing.name),
        ));
    }
    Ok(())
}

/// The error for an archive that cannot be read.
pub(super) fn corrupt(archive: &Path, e: io::Error) -> Error {
    Error::format(archive, None, format!("corrupt archive: {e}"))
}
