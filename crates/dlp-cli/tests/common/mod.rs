//! What the end-to-end tests share: running the `dlp` binary.

use std::process::{Command, Output};

/// Runs `dlp` with `args`, without the caller's `DLP_DATA_DIR`.
pub fn dlp(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dlp"))
        .args(args)
        .env_remove("DLP_DATA_DIR")
        .output()
        .expect("run dlp")
}
