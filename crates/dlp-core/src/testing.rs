//! Helpers for tests of dlpapers and of programs built on it: a static-file HTTP server on
//! loopback, to test downloads without the real hosts, the location of the shared data, and a
//! module's parameters as one vector.

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

/// Prints why a test is skipped, in a form that shows in the test output.
pub fn skip(test: &str, why: &str) {
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
