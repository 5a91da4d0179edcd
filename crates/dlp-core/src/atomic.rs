//! Atomic file writes: write beside the target under a temporary name, flush, `fsync`, then
//! rename over the target. A crash at any point leaves either the old file or the new one,
//! never a half-written file under the real name.

use crate::error::{Error, Result};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A temporary path in the same directory as `target` (same file system, so rename is atomic).
pub fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let unique = format!(".{name}.tmp-{}-{}", std::process::id(), next_id());
    target.with_file_name(unique)
}

fn next_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

/// Writes `bytes` to `target` atomically.
pub fn write(target: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    write_with(target, |f| f.write_all(bytes))
}

/// Writes `target` atomically through a closure that fills the temporary file.
pub fn write_with(
    target: impl AsRef<Path>,
    fill: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<()> {
    let target = target.as_ref();
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    remove_dead_temps(target);
    let tmp = temp_path(target);
    let result = (|| {
        let mut file = File::create(&tmp)?;
        fill(&mut file)?;
        file.flush()?;
        file.sync_all()?;
        fs::rename(&tmp, target)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(target, e));
    }
    sync_dir(target);
    Ok(())
}

/// Removes the temporaries of `target` ([`temp_path`]) left by processes that no longer run (a
/// writer killed mid-write), so that an interrupted export does not leave its partial file
/// forever. Linux only (a process is alive while `/proc/PID` exists); best effort.
fn remove_dead_temps(target: &Path) {
    if !cfg!(target_os = "linux") {
        return;
    }
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(rest) = file.to_str().and_then(|f| f.strip_prefix(&prefix)) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid
            && pid != std::process::id()
            && !Path::new("/proc").join(pid.to_string()).exists()
        {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Makes a rename durable by syncing the parent directory (best effort).
pub fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.json");
        write(&target, b"one").unwrap();
        write(&target, b"two").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_dead_writers_temporary_is_removed_by_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("export.nt");
        // PIDs stop below 2^22 on Linux: 4000000000 never ran.
        let dead = dir.path().join(".export.nt.tmp-4000000000-0");
        let ours = dir
            .path()
            .join(format!(".export.nt.tmp-{}-77", std::process::id()));
        let other = dir.path().join(".other.nt.tmp-4000000000-0");
        for p in [&dead, &ours, &other] {
            fs::write(p, b"partial").unwrap();
        }
        write(&target, b"done").unwrap();
        assert_eq!(dead.exists(), !cfg!(target_os = "linux"));
        assert!(ours.exists() && other.exists());
        assert_eq!(fs::read(&target).unwrap(), b"done");
    }

    #[test]
    fn failed_fill_keeps_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.json");
        write(&target, b"good").unwrap();
        let err = write_with(&target, |f| {
            f.write_all(b"partial")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("a.json"), "{err}");
        assert_eq!(fs::read(&target).unwrap(), b"good");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
