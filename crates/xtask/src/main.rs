//! `cargo xtask`: the README's two commands, with the set-up they need.
//!
//! ```text
//! cargo xtask demo [DLP DEMO FLAGS]   build dlp in release and run `dlp demo`
//! cargo xtask test [TEST FILTERS]     the whole test suite (what CI runs)
//! cargo xtask lint                    cargo fmt --check, cargo clippy -D warnings, no file cycles
//! cargo xtask dlp ARGS...             any dlp command, e.g. `cargo xtask dlp kg --help`
//! ```
//!
//! Each brings libclang when the machine has none (see `libclang.rs`), and `test` uses
//! cargo-nextest when it is installed and plain `cargo test` otherwise.

mod libclang;

use std::env;
use std::path::Path;
use std::process::{Command, ExitCode};

const USAGE: &str = "\
usage: cargo xtask <demo|test|lint|dlp> [ARGS...]
  demo [FLAGS]   build dlp (release) and run `dlp demo FLAGS` (e.g. --json, --seed 1)
  test [ARGS]    run every test in release: cargo nextest (or cargo test) and the doc tests
  lint           cargo fmt --check, cargo clippy --release --workspace --all-targets -D warnings,
                 then scripts/check-cycles (no import cycle between the files of a crate)
  dlp ARGS       build dlp (release) and run it with ARGS";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let env = match libclang::ensure() {
        Ok(vars) => vars,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let run = |args: &[&str], extra: &[String]| -> bool {
        let mut cmd = Command::new(&cargo);
        cmd.args(args)
            .args(extra)
            .envs(env.iter().map(|(k, v)| (k, v)));
        // `cargo run` gave this process the xtask package's variables; build scripts that watch
        // them (ring's) would see a change and rebuild against a plain `cargo build`.
        for (key, _) in env::vars_os() {
            let key = key.to_string_lossy();
            let from_cargo_run = key.starts_with("CARGO_PKG_")
                || key.starts_with("CARGO_BIN_")
                || matches!(
                    &*key,
                    "CARGO_MANIFEST_DIR"
                        | "CARGO_MANIFEST_PATH"
                        | "CARGO_MANIFEST_LINKS"
                        | "CARGO_CRATE_NAME"
                        | "CARGO_PRIMARY_PACKAGE"
                        | "OUT_DIR"
                );
            if from_cargo_run {
                cmd.env_remove(&*key);
            }
        }
        match cmd.status() {
            Ok(s) => s.success(),
            Err(e) => {
                eprintln!("xtask: cannot run {cargo}: {e}");
                false
            }
        }
    };
    let ok = match task.as_str() {
        "demo" => run(
            &["run", "--release", "--package", "dlp-cli", "--", "demo"],
            rest,
        ),
        "dlp" => run(&["run", "--release", "--package", "dlp-cli", "--"], rest),
        "test" => {
            let nextest = Command::new(&cargo)
                .args(["nextest", "--version"])
                .output()
                .is_ok_and(|o| o.status.success());
            if nextest {
                run(&["nextest", "run", "--release", "--workspace"], rest)
                    && run(&["test", "--release", "--workspace", "--doc"], &[])
            } else {
                // One test at a time: some tests seed burn's process-wide RNG and need it to
                // themselves, as nextest's process per test gives them.
                eprintln!(
                    "xtask: cargo-nextest is not installed; running the tests with cargo test, one at a time"
                );
                let mut args = rest.to_vec();
                if !args.iter().any(|a| a == "--") {
                    args.push("--".into());
                }
                args.push("--test-threads=1".into());
                run(&["test", "--release", "--workspace"], &args)
            }
        }
        "lint" => {
            run(&["fmt", "--all", "--", "--check"], &[])
                && run(
                    &[
                        "clippy",
                        "--release",
                        "--workspace",
                        "--all-targets",
                        "--",
                        "-D",
                        "warnings",
                    ],
                    &[],
                )
                && cycles()
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            true
        }
        other => {
            eprintln!("xtask: unknown task `{other}`\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Runs `scripts/check-cycles` (Python 3): false when files of a crate import each other in a
/// cycle, which it names.
fn cycles() -> bool {
    // `cargo run` sets the manifest directory at run time: a binary cached from a clone elsewhere
    // (one target directory shared between checkouts) must not use the path it was built at.
    let dir = env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let script = Path::new(&dir).join("../../scripts/check-cycles");
    match Command::new("python3").arg(&script).status() {
        Ok(s) => s.success(),
        Err(e) => {
            eprintln!("xtask: cannot run {}: {e}", script.display());
            false
        }
    }
}
