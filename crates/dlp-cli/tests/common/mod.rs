//! What the end-to-end tests share: running the `dlp` binary and reading its JSON summary.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

/// Runs `dlp` with `args`, without the caller's `DLP_DATA_DIR`.
pub fn dlp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dlp"))
        .args(args)
        .env_remove("DLP_DATA_DIR")
        .output()
        .expect("run dlp")
}

/// Runs `dlp` with `args`, which must succeed, and returns the JSON object it printed.
#[allow(dead_code)] // not every test binary reads summaries
pub fn dlp_json(args: &[&str]) -> serde_json::Value {
    let out = dlp(args);
    assert!(
        out.status.success(),
        "dlp {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

/// A `dlp kg serve` process, killed when dropped however the test ends.
#[allow(dead_code)] // only the endpoint tests start a server
pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `dlp kg serve --store STORE` (plus `extra` flags) on a free loopback port; returns it
/// with its endpoint URL, read from the line it prints first.
#[allow(dead_code)]
pub fn serve(store: &std::path::Path, extra: &[&str]) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dlp"))
        .args([
            "kg",
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--store",
            store.to_str().unwrap(),
        ])
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dlp kg serve");
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://") && w.trim_end_matches(',').ends_with("/sparql"))
        .unwrap_or_else(|| panic!("no endpoint in `{line}`"))
        .trim_end_matches(',')
        .to_string();
    (Server(child), url)
}

/// 12 greyscale 8×8 PNGs in class folders `bar` and `dot`, and one file that is not a PNG.
#[allow(dead_code)] // only the image tests use it
pub fn image_folder(dir: &std::path::Path) {
    for i in 0..12u8 {
        let class = if i % 2 == 0 { "bar" } else { "dot" };
        let img = image::GrayImage::from_fn(8, 8, |x, y| {
            let on = if i % 2 == 0 {
                x == 3 || x == 4
            } else {
                (3..5).contains(&x) && (3..5).contains(&y)
            };
            image::Luma([if on { 250 - i } else { 5 }])
        });
        std::fs::create_dir_all(dir.join(class)).unwrap();
        img.save(dir.join(class).join(format!("{i}.png"))).unwrap();
    }
    std::fs::write(dir.join("dot/broken.png"), b"not a png").unwrap();
}
