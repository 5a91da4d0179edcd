//! What the end-to-end tests share: running the `dlp` binary and reading its JSON summary.

use std::process::{Command, Output};

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
