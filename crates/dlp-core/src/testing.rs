//! Helpers for tests of dlpapers and of programs built on it: a static-file HTTP server on
//! loopback, to test downloads without the real hosts, and the location of the shared data.

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

/// The shared data directory: `$DLP_DATA_DIR`, else `shared/data` beside the checkout, if it
/// exists. Tests that need it skip, saying why, when this is `None`.
pub fn shared_data() -> Option<PathBuf> {
    let candidate = std::env::var_os(crate::data::DATA_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    candidate.is_dir().then_some(candidate)
}

/// Prints why a test is skipped, in a form that shows in the test output.
pub fn skip(test: &str, why: &str) {
    eprintln!("SKIPPED {test}: {why}");
}
