//! Progress on stderr: an indicatif bar when stderr is a terminal, plain periodic lines when it
//! is not (a log file, CI), so that long runs always show where they are.
//!
//! ```
//! let p = dlp_core::progress::Progress::new("train", 100);
//! for _ in 0..100 {
//!     p.inc(1);
//! }
//! p.set_message("loss 0.12");
//! p.finish();
//! ```

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often plain mode prints a line.
pub const PLAIN_INTERVAL: Duration = Duration::from_secs(5);

/// A progress report over `total` units (steps, bytes).
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: Mutex<Plain>,
}

struct Plain {
    label: String,
    total: u64,
    pos: u64,
    msg: String,
    start: Instant,
    last: Instant,
    bytes: bool,
}

impl Progress {
    /// Progress over `total` steps.
    pub fn new(label: &str, total: u64) -> Self {
        Self::build(label, total, false)
    }

    /// Progress over `total` bytes (downloads); `total` 0 means unknown.
    pub fn bytes(label: &str, total: u64) -> Self {
        Self::build(label, total, true)
    }

    fn build(label: &str, total: u64, bytes: bool) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let template = if bytes {
                "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}"
            } else {
                "{prefix} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}"
            };
            let bar = ProgressBar::new(total).with_prefix(label.to_string());
            bar.set_style(
                ProgressStyle::with_template(template)
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar
        });
        let now = Instant::now();
        Self {
            bar,
            plain: Mutex::new(Plain {
                label: label.to_string(),
                total,
                pos: 0,
                msg: String::new(),
                start: now,
                last: now,
                bytes,
            }),
        }
    }

    /// Advances by `n` units.
    pub fn inc(&self, n: u64) {
        match &self.bar {
            Some(bar) => bar.inc(n),
            None => {
                let mut p = self.plain.lock().expect("progress lock");
                p.pos += n;
                if p.last.elapsed() >= PLAIN_INTERVAL {
                    p.last = Instant::now();
                    eprintln!("{}", p.line());
                }
            }
        }
    }

    /// Sets the message shown after the counts (a loss, a rate).
    pub fn set_message(&self, msg: impl Into<String>) {
        let msg = msg.into();
        match &self.bar {
            Some(bar) => bar.set_message(msg),
            None => self.plain.lock().expect("progress lock").msg = msg,
        }
    }

    /// Ends the report with a final line.
    pub fn finish(&self) {
        match &self.bar {
            Some(bar) => bar.finish(),
            None => eprintln!("{}", self.plain.lock().expect("progress lock").line()),
        }
    }
}

impl Plain {
    fn line(&self) -> String {
        let secs = self.start.elapsed().as_secs_f64();
        let (pos, total) = if self.bytes {
            (mib(self.pos), mib(self.total))
        } else {
            (self.pos.to_string(), self.total.to_string())
        };
        let pct = if self.total > 0 {
            format!(" ({:.0}%)", 100.0 * self.pos as f64 / self.total as f64)
        } else {
            String::new()
        };
        format!("{}: {pos}/{total}{pct} {secs:.1}s {}", self.label, self.msg)
            .trim_end()
            .to_string()
    }
}

fn mib(b: u64) -> String {
    format!("{:.1}MiB", b as f64 / (1024.0 * 1024.0))
}
