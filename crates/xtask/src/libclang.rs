//! libclang for RocksDB's bindgen (Oxigraph's `oxrocksdb-sys` build script loads it).
//!
//! Order: `LIBCLANG_PATH` if set; a system libclang if the dynamic linker or LLVM's usual folders
//! have one; else the `libclang` wheel from PyPI (a manylinux build of libclang 18.1.1), unpacked
//! once into the user's cache and reused. The wheel has no compiler resource headers
//! (`stddef.h`), so bindgen is pointed at the C compiler's own include folder.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The wheel's version: pinned so that every machine builds with the same libclang.
const WHEEL: &str = "libclang==18.1.1";

/// Environment variables to set for cargo, empty when the system already has libclang.
pub fn ensure() -> Result<Vec<(String, String)>, String> {
    if env::var_os("LIBCLANG_PATH").is_some() || system_has_libclang() {
        return Ok(Vec::new());
    }
    let dir = cache_dir()?.join("libclang");
    let lib = dir.join(lib_name());
    if !lib.exists() {
        eprintln!(
            "xtask: no libclang on this machine (RocksDB's bindgen needs it); fetching {WHEEL} from PyPI into {}",
            dir.display()
        );
        fetch_wheel(&dir)?;
    }
    let mut vars = vec![("LIBCLANG_PATH".to_string(), dir.display().to_string())];
    if env::var_os("BINDGEN_EXTRA_CLANG_ARGS").is_none()
        && let Some(include) = compiler_include()
    {
        vars.push((
            "BINDGEN_EXTRA_CLANG_ARGS".to_string(),
            format!("-I{include}"),
        ));
    }
    Ok(vars)
}

fn lib_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "libclang.dylib"
    } else {
        "libclang.so"
    }
}

/// A libclang the build can find without help: ldconfig's cache or LLVM's folders.
fn system_has_libclang() -> bool {
    let is_libclang = |name: &str| {
        name.starts_with("libclang") && !name.starts_with("libclang-cpp") && name.contains(".so")
            || name.starts_with("libclang") && name.ends_with(".dylib")
    };
    if let Ok(out) = Command::new("ldconfig").arg("-p").output() {
        let text = String::from_utf8_lossy(&out.stdout);
        if text.lines().any(|l| is_libclang(l.trim())) {
            return true;
        }
    }
    let mut dirs = vec![PathBuf::from("/usr/lib"), PathBuf::from("/usr/lib64")];
    dirs.push(PathBuf::from("/usr/lib/x86_64-linux-gnu"));
    dirs.push(PathBuf::from("/usr/lib/aarch64-linux-gnu"));
    if let Ok(entries) = fs::read_dir("/usr/lib") {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with("llvm") {
                dirs.push(e.path().join("lib"));
            }
        }
    }
    dirs.iter().any(|d| {
        fs::read_dir(d).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| is_libclang(&e.file_name().to_string_lossy()))
        })
    })
}

/// `$XDG_CACHE_HOME/dlpapers`, else `~/.cache/dlpapers`.
pub fn cache_dir() -> Result<PathBuf, String> {
    let base = env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .ok_or("xtask: neither XDG_CACHE_HOME nor HOME is set; set LIBCLANG_PATH to a folder holding libclang")?;
    Ok(base.join("dlpapers"))
}

/// Downloads the wheel with pip and unpacks `clang/native/libclang.*` into `dir`, atomically.
fn fetch_wheel(dir: &Path) -> Result<(), String> {
    let parent = dir.parent().expect("cache dir has a parent");
    fs::create_dir_all(parent)
        .map_err(|e| format!("xtask: cannot create {}: {e}", parent.display()))?;
    let tmp = parent.join(format!(".libclang-{}.tmp", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(|e| format!("xtask: cannot create {}: {e}", tmp.display()))?;
    let python = if Command::new("python3").arg("--version").output().is_ok() {
        "python3"
    } else {
        "python"
    };
    let status = Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            WHEEL,
            "-d",
        ])
        .arg(&tmp)
        .status()
        .map_err(|e| {
            format!(
                "xtask: cannot run {python} (Python 3 with pip is needed to fetch libclang): {e}"
            )
        })?;
    if !status.success() {
        let _ = fs::remove_dir_all(&tmp);
        return Err(format!(
            "xtask: `{python} -m pip download {WHEEL}` failed; install libclang (Debian: libclang-dev) or set LIBCLANG_PATH"
        ));
    }
    let unpack = "import sys, zipfile, glob, os\n\
        whl = glob.glob(os.path.join(sys.argv[1], '*.whl'))[0]\n\
        z = zipfile.ZipFile(whl)\n\
        name = [n for n in z.namelist() if '/clang/native/libclang' in n][0]\n\
        open(os.path.join(sys.argv[1], sys.argv[2]), 'wb').write(z.read(name))\n\
        os.remove(whl)\n";
    let status = Command::new(python)
        .args(["-c", unpack])
        .arg(&tmp)
        .arg(lib_name())
        .status()
        .map_err(|e| format!("xtask: cannot run {python}: {e}"))?;
    if !status.success() {
        let _ = fs::remove_dir_all(&tmp);
        return Err("xtask: the libclang wheel has no clang/native/libclang library".to_string());
    }
    let _ = fs::remove_dir_all(dir);
    fs::rename(&tmp, dir).map_err(|e| {
        format!(
            "xtask: cannot move {} to {}: {e}",
            tmp.display(),
            dir.display()
        )
    })
}

/// The C compiler's own header folder (`stddef.h`, `stdint.h`), from `cc -print-file-name=include`.
fn compiler_include() -> Option<String> {
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let out = Command::new(cc)
        .arg("-print-file-name=include")
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Path::new(&path).is_absolute().then_some(path)
}
