//! Helpers for tests of dlpapers and of programs built on it: a static-file HTTP server on
//! loopback, to test downloads without the real hosts, archives to serve from it, the location
//! of the shared data, and a module's parameters as one vector.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

/// Serves the files of `root` over HTTP/1.1 on `127.0.0.1` (a free port) from a background
/// thread, until the process ends; returns the base URL. `GET /NAME` answers `root/NAME` or 404.
pub fn serve_dir(root: &Path) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("local address");
    let root = root.to_path_buf();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let root = root.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(&stream);
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    return;
                }
                // Skip the headers.
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let name = request.split_whitespace().nth(1).unwrap_or("/");
                let path = root.join(name.trim_start_matches('/'));
                let mut out = &stream;
                let ok = !name.contains("..") && path.is_file();
                match ok.then(|| std::fs::read(&path)).and_then(Result::ok) {
                    Some(body) => {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = out.write_all(head.as_bytes());
                        let _ = out.write_all(&body);
                    }
                    None => {
                        let _ = out.write_all(
                            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// The shared data directory: `$DLP_DATA_DIR`, else `shared/data` beside the checkout (found
/// from the working directory, which cargo sets to the crate's folder), if it exists. Tests that
/// need it skip, saying why, when this is `None`.
pub fn shared_data() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(crate::data::DATA_DIR_ENV) {
        return Some(PathBuf::from(dir)).filter(|d| d.is_dir());
    }
    let beside = |base: &Path| base.join("../../../shared/data");
    std::env::current_dir()
        .ok()
        .map(|d| beside(&d))
        .into_iter()
        .chain([beside(Path::new(env!("CARGO_MANIFEST_DIR")))])
        .find(|d| d.is_dir())
}

/// A Python that imports every module of `modules` (e.g. `["torch", "pytorch_fid"]`), for the
/// tests that compare with a reference implementation: `$DLP_TORCH_PYTHON`, else the venv that
/// the benchmarks make in `benches/reference/.venv`. `None` when there is none: PyTorch is an
/// optional, large install, so such a test prints why it is skipped (even in CI).
pub fn reference_python(modules: &[&str]) -> Option<std::path::PathBuf> {
    let root = reference_script(".venv/bin/python");
    let candidates = [
        std::env::var_os("DLP_TORCH_PYTHON").map(std::path::PathBuf::from),
        Some(root),
    ];
    let check = format!("import {}", modules.join(", "));
    candidates.into_iter().flatten().find(|p| {
        std::process::Command::new(p)
            .args(["-c", &check])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// The path of a script under `benches/reference/` of this checkout.
/// (The crate's directory at run time, as cargo sets it for tests, so that a test binary built
/// in one checkout and run from another finds that checkout's scripts.)
pub fn reference_script(name: &str) -> std::path::PathBuf {
    std::env::var("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into())
        .join("../../benches/reference")
        .join(name)
}

/// Prints why a test is skipped, in a form that shows in the test output. In CI (`CI` set to
/// `true` or `1`, as `.ci/run` does with the shared data beside the checkout) a test that cannot
/// find its data fails instead: a green CI must not hide a test that did not run.
pub fn skip(test: &str, why: &str) {
    if matches!(std::env::var("CI").as_deref(), Ok("true" | "1")) {
        panic!("{test} cannot run in CI: {why}");
    }
    eprintln!("SKIPPED {test}: {why}");
}

/// Every float parameter of `module`, flattened and concatenated in visiting order: two modules
/// of the same structure compare element by element.
pub fn flat_parameters<M: burn::module::Module>(module: &M) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl burn::module::ModuleVisitor for Collect {
        fn visit_float<const D: usize>(
            &mut self,
            param: &burn::module::Param<burn::tensor::Tensor<D>>,
        ) {
            let data = param.val().into_data().convert::<f32>();
            self.0.extend(data.iter::<f32>());
        }
    }
    let mut c = Collect(Vec::new());
    module.visit(&mut c);
    c.0
}

/// The largest absolute difference between two equally long slices (panics on unequal lengths).
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "slices of different lengths");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// A tar archive of `members` (path, bytes).
pub fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, *data)
            .expect("tar member");
    }
    tar.into_inner().expect("tar archive")
}

/// A Debian package (`.deb`: an `ar` archive) holding `files` (path, bytes) in its
/// `data.tar.xz`.
pub fn deb(files: &[(&str, &[u8])]) -> Vec<u8> {
    let member = |name: &str, data: &[u8]| {
        let header = format!(
            "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            0,
            0,
            0,
            100644,
            data.len()
        );
        let mut out = header.into_bytes();
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
        out
    };
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(&tar(files)).expect("xz");
    let mut out = b"!<arch>\n".to_vec();
    out.extend(member("debian-binary", b"2.0\n"));
    out.extend(member("control.tar.xz", b"x"));
    out.extend(member("data.tar.xz", &xz.finish().expect("xz")));
    out
}

/// `content` gzipped as published (its `name` and `mtime` in the header), and the same file as
/// Debian's build leaves it (no name, another time, the same compressed stream).
pub fn published_and_packaged(content: &[u8], name: &str, mtime: u32) -> (Vec<u8>, Vec<u8>) {
    let mut gz = flate2::GzBuilder::new()
        .filename(name)
        .mtime(mtime)
        .write(Vec::new(), flate2::Compression::default());
    gz.write_all(content).expect("gzip");
    let published = gz.finish().expect("gzip");
    let mut packaged = vec![0x1f, 0x8b, 8, 0, 0xed, 0x0a, 0xda, 0x5e];
    packaged.extend_from_slice(&published[8..10]);
    packaged.extend_from_slice(&published[10 + name.len() + 1..]);
    (published, packaged)
}
