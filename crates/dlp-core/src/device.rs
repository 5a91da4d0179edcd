//! `--device` and `--threads`, handled in one place.
//!
//! The CPU backend is burn's `flex` (SIMD kernels, rayon for intra-op parallelism). Its thread
//! count is rayon's global pool, set once per process by [`init_threads`]. The GPU is burn's
//! wgpu backend on Vulkan, built with the cargo feature `vulkan` (burn's `cuda` feature
//! downloads LLVM at build time; wgpu compiles its shaders at run time and builds offline).
//! Without the feature, asking for the GPU is a usage error that says how to build it.
//!
//! ```
//! use dlp_core::device::DeviceSpec;
//! let spec: DeviceSpec = "cpu".parse().unwrap();
//! let device = spec.device().unwrap();
//! assert!(!device.is_autodiff());
//! ```

use crate::error::{Error, Result};
use burn::tensor::Device;
use std::str::FromStr;

/// A device as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSpec {
    /// burn's flex CPU backend (the default).
    Cpu,
    /// A GPU through burn's wgpu backend on Vulkan (cargo feature `vulkan`).
    Wgpu,
}

impl FromStr for DeviceSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" | "flex" => Ok(DeviceSpec::Cpu),
            "wgpu" | "gpu" | "vulkan" => Ok(DeviceSpec::Wgpu),
            other => Err(Error::setting(
                "device",
                format!("unknown device `{other}` (expected cpu or gpu)"),
            )),
        }
    }
}

impl DeviceSpec {
    /// The burn device, without autodiff. Call `.autodiff()` on it for training.
    pub fn device(self) -> Result<Device> {
        match self {
            DeviceSpec::Cpu => Ok(Device::flex()),
            #[cfg(feature = "vulkan")]
            DeviceSpec::Wgpu => open_vulkan(),
            #[cfg(not(feature = "vulkan"))]
            DeviceSpec::Wgpu => Err(Error::setting(
                "device",
                "gpu: this dlp was built without a GPU backend; rebuild with \
                 `cargo build --release -p dlp-cli --features vulkan`, or use the cpu device",
            )),
        }
    }
}

/// The default Vulkan adapter, opened with one small transfer so that a machine without one
/// gives an error here rather than a panic in the first tensor operation.
#[cfg(feature = "vulkan")]
fn open_vulkan() -> Result<Device> {
    let device = Device::vulkan(burn::tensor::DeviceKind::DefaultDevice);
    let probe = device.clone();
    let opened = std::panic::catch_unwind(move || {
        burn::tensor::Tensor::<1>::ones([1], &probe)
            .into_data()
            .try_to_vec::<f32>()
            .ok()
    });
    match opened {
        Ok(Some(v)) if v == [1.0] => Ok(device),
        _ => Err(Error::setting(
            "device",
            "gpu: no working Vulkan adapter (install the Vulkan loader, libvulkan1, \
             and the GPU's Vulkan driver; VK_DRIVER_FILES names a driver's JSON file)",
        )),
    }
}

/// Tells mimalloc (the allocator of `dlp` and of its benchmarks) to keep freed memory instead of
/// handing it back to the OS 10 ms later. A training step frees and allocates the same few
/// hundred MB each time; handed back, each page is faulted in and zeroed by the kernel again
/// (43,000 page faults in 16 U-Net steps, 5-6% of the step, against 500 when kept). The process
/// stays at its peak size until it ends. Harmless where mimalloc is not the global allocator.
fn keep_freed_memory() {
    // mimalloc v2's `mi_option_purge_delay` (between `eager_commit_delay`, 14, and
    // `use_numa_nodes`, 16, which the bindings name); -1: never purge.
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: setting an option is a plain store into mimalloc's option table.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) };
}

/// Sets the number of CPU threads for tensor kernels and data work (rayon's global pool).
/// `None` or `Some(0)` keeps rayon's default (one per core). Returns the count in use.
/// It can be set once per process; a second call with another count is an error. The pool's
/// threads get 32 MiB stacks, since [`in_pool`] runs whole commands on them.
pub fn init_threads(threads: Option<usize>) -> Result<usize> {
    keep_freed_memory();
    let n = threads.unwrap_or(0);
    let built = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .stack_size(32 << 20)
        .build_global();
    if built.is_err() && n > 0 && rayon::current_num_threads() != n {
        return Err(Error::setting(
            "threads",
            format!(
                "{n}: the thread pool already runs {} threads",
                rayon::current_num_threads()
            ),
        ));
    }
    Ok(rayon::current_num_threads())
}

/// Runs `f` on a thread of rayon's global pool (the caller waits) and returns its result; runs
/// it in place when already there. burn's CPU kernels split their work over that pool: called
/// from outside it, each parallel kernel wakes the pool and puts the caller to sleep until it is
/// done; from inside, the calling thread takes a share and wakes only the others. A training
/// loop should run in here (`dlp` runs every command in here; the MLP step of
/// `benches/dni_speed.sh` at 2 threads goes 1.3x faster).
///
/// ```
/// let on_worker = dlp_core::device::in_pool(|| rayon::current_thread_index().is_some());
/// assert!(on_worker);
/// ```
pub fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        f()
    } else {
        rayon::scope(|_| f())
    }
}

/// Refuses a run whose memory, estimated from its settings before anything is allocated, is more
/// than this machine has available (`MemAvailable` in `/proc/meminfo`; no check elsewhere):
/// `Err` names `what` (the setting at fault), the estimate and the available memory.
pub fn check_memory(what: &str, bytes: f64) -> Result<()> {
    let Some(available) = available_memory() else {
        return Ok(());
    };
    if bytes <= available as f64 {
        return Ok(());
    }
    let gb = |b: f64| format!("{:.1} GB", b / 1e9);
    Err(Error::Usage(format!(
        "{what}: needs about {} of memory, and this machine has {} available",
        gb(bytes),
        gb(available as f64)
    )))
}

/// Bytes of memory available to a new process (Linux), if known.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_rejects_unknown() {
        assert_eq!("CPU".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cpu);
        assert_eq!("wgpu".parse::<DeviceSpec>().unwrap(), DeviceSpec::Wgpu);
        let err = "tpu".parse::<DeviceSpec>().unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("tpu"));
    }

    #[cfg(not(feature = "vulkan"))]
    #[test]
    fn gpu_without_the_feature_says_how_to_build_it() {
        let err = DeviceSpec::Wgpu.device().unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("--features vulkan"), "{err}");
    }
}
