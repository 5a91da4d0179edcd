//! Published `.gz` files rebuilt from a Debian package.
//!
//! A `.deb` is an `ar` archive whose member `data.tar.xz` holds the packaged files. Debian's
//! build normalises the gzip headers it ships (strip-nondeterminism: the stored file name is
//! dropped and MTIME set to the package's date) and leaves each compressed stream as it was
//! published. So a published file is the packaged one with its header given back:
//!
//! ```text
//! published = 1f 8b 08 | FLG = 08 (FNAME) | MTIME (published, LE) | XFL | OS | name 00 | stream
//! ```
//!
//! where `name` is the file's name without `.gz`. The rebuilt bytes are kept only if they have
//! the registry's SHA-256 of the published file, so a wrong header cannot go unnoticed.
//!
//! ```
//! use dlp_core::data::deb::with_published_header;
//! let packaged = [0x1f, 0x8b, 8, 0, 0xed, 0x0a, 0xda, 0x5e, 0, 3, 0xaa, 0xbb];
//! let published = with_published_header(&packaged, "x-idx1-ubyte", 0x59a7_e8f3).unwrap();
//! assert_eq!(&published[..10], &[0x1f, 0x8b, 8, 8, 0xf3, 0xe8, 0xa7, 0x59, 0, 3]);
//! assert_eq!(&published[10..], b"x-idx1-ubyte\0\xaa\xbb");
//! ```

use super::archive::{corrupt, keep_members};
use super::registry::FileSpec;
use crate::error::{Error, Result};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

/// The gzip member `gz` with the header it was published with: FNAME `name`, MTIME `mtime`,
/// its own XFL and OS; `None` unless `gz` is a deflate gzip member.
pub fn with_published_header(gz: &[u8], name: &str, mtime: u32) -> Option<Vec<u8>> {
    if gz.len() < 10 || gz[..3] != [0x1f, 0x8b, 8] {
        return None;
    }
    let flg = gz[3];
    let mut end = 10;
    if flg & 4 != 0 {
        let xlen = u16::from_le_bytes([*gz.get(10)?, *gz.get(11)?]) as usize;
        end += 2 + xlen;
    }
    for bit in [8, 16] {
        if flg & bit != 0 {
            end += gz.get(end..)?.iter().position(|&b| b == 0)? + 1;
        }
    }
    if flg & 2 != 0 {
        end += 2;
    }
    let stream = gz.get(end..)?;
    let mut out = Vec::with_capacity(10 + name.len() + 1 + stream.len());
    out.extend_from_slice(&[0x1f, 0x8b, 8, 8]);
    out.extend_from_slice(&mtime.to_le_bytes());
    out.extend_from_slice(&gz[8..10]);
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    out.extend_from_slice(stream);
    Some(out)
}

/// Positions `r`, an `ar` archive, at the data of its member `wanted` and returns its size.
fn ar_member(r: &mut impl Read, wanted: &str) -> io::Result<Option<u64>> {
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)?;
    if &magic != b"!<arch>\n" {
        return Err(io::Error::other("not an ar archive"));
    }
    let mut header = [0u8; 60];
    loop {
        match r.read_exact(&mut header) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            other => other?,
        }
        let field = |a: usize, b: usize| String::from_utf8_lossy(&header[a..b]).trim().to_string();
        let size: u64 = field(48, 58)
            .parse()
            .map_err(|_| io::Error::other("bad member size"))?;
        if field(0, 16).trim_end_matches('/') == wanted {
            return Ok(Some(size));
        }
        io::copy(&mut r.by_ref().take(size + size % 2), &mut io::sink())?;
    }
}

/// Rebuilds the files `wanted` from the Debian package `deb`: each `.gz` member with that base
/// name gets its published header back (its MTIME from `mtimes`), is checked and is renamed
/// into `dir` atomically.
pub fn extract_published_gzip(
    deb: &Path,
    dir: &Path,
    wanted: &[&FileSpec],
    mtimes: &[(&str, u32)],
) -> Result<()> {
    let mut file = BufReader::new(File::open(deb).map_err(|e| Error::io(deb, e))?);
    let size = ar_member(&mut file, "data.tar.xz")
        .map_err(|e| corrupt(deb, e))?
        .ok_or_else(|| Error::format(deb, None, "the package has no data.tar.xz"))?;
    let xz = liblzma::read::XzDecoder::new(file.take(size));
    keep_members(deb, xz, dir, wanted, |spec, shown, bytes| {
        let (Some(name), Some(&(_, mtime))) = (
            spec.name.strip_suffix(".gz"),
            mtimes.iter().find(|(n, _)| *n == spec.name),
        ) else {
            return Err(Error::Usage(format!(
                "registry: no published gzip header for {}",
                spec.name
            )));
        };
        with_published_header(&bytes, name, mtime)
            .ok_or_else(|| Error::format(shown, None, "not a gzip file"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{deb, published_and_packaged};

    fn spec(name: &'static str, bytes: &[u8]) -> FileSpec {
        let sha = crate::data::archive::sha256_reader(bytes).unwrap();
        FileSpec {
            name,
            sha256: Box::leak(sha.into_boxed_str()),
        }
    }

    #[test]
    fn a_packaged_gzip_file_is_rebuilt_byte_for_byte() {
        let (published, packaged) =
            published_and_packaged(b"labels 0 1 2 3", "a-idx1-ubyte", 1_504_176_627);
        let (published2, packaged2) =
            published_and_packaged(&[7u8; 999], "b-idx3-ubyte", 1_504_176_606);
        assert_ne!(published, packaged);
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("p.deb");
        std::fs::write(
            &path,
            deb(&[
                ("./usr/share/doc/p/README", b"readme"),
                ("./usr/share/datasets/p/a-idx1-ubyte.gz", &packaged),
                ("./usr/share/datasets/p/b-idx3-ubyte.gz", &packaged2),
            ]),
        )
        .unwrap();
        let (a, b) = (
            spec("a-idx1-ubyte.gz", &published),
            spec("b-idx3-ubyte.gz", &published2),
        );
        let mtimes = [
            ("a-idx1-ubyte.gz", 1_504_176_627),
            ("b-idx3-ubyte.gz", 1_504_176_606),
        ];
        extract_published_gzip(&path, tmp.path(), &[&a, &b], &mtimes).unwrap();
        assert_eq!(
            std::fs::read(tmp.path().join("a-idx1-ubyte.gz")).unwrap(),
            published
        );
        assert_eq!(
            std::fs::read(tmp.path().join("b-idx3-ubyte.gz")).unwrap(),
            published2
        );

        // A wrong time rebuilds other bytes: refused by the checksum, nothing written.
        let out = tempfile::tempdir().unwrap();
        let wrong = [
            ("a-idx1-ubyte.gz", 1_504_176_628),
            ("b-idx3-ubyte.gz", 1_504_176_606),
        ];
        let err = extract_published_gzip(&path, out.path(), &[&a], &wrong).unwrap_err();
        assert!(err.to_string().contains("a-idx1-ubyte.gz"), "{err}");
        assert!(!out.path().join("a-idx1-ubyte.gz").exists());
    }

    #[test]
    fn a_package_without_the_file_or_the_data_archive_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("p.deb");
        std::fs::write(&path, deb(&[("./usr/share/doc/p/README", b"readme")])).unwrap();
        let a = spec("a-idx1-ubyte.gz", b"");
        let err = extract_published_gzip(&path, tmp.path(), &[&a], &[("a-idx1-ubyte.gz", 0)]);
        assert!(
            err.unwrap_err()
                .to_string()
                .contains("no member a-idx1-ubyte.gz")
        );
        std::fs::write(&path, b"!<arch>\n").unwrap();
        let err = extract_published_gzip(&path, tmp.path(), &[&a], &[("a-idx1-ubyte.gz", 0)]);
        assert!(err.unwrap_err().to_string().contains("no data.tar.xz"));
        std::fs::write(&path, b"not a package").unwrap();
        let err = extract_published_gzip(&path, tmp.path(), &[&a], &[]);
        assert!(err.unwrap_err().to_string().contains("not an ar archive"));
    }
}
