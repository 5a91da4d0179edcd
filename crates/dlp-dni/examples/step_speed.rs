//! Steps per second of one training step of the paper's MNIST MLP on fixed random inputs (data
//! loading not timed), the Rust side of `benches/dni_speed.sh`:
//!
//! ```text
//! cargo run --release -p dlp-dni --example step_speed -- METHOD LAYERS BATCH STEPS THREADS
//! ```
//!
//! METHOD is backprop, dni, cdni or decoupled; prints one JSON line.

use burn::tensor::{Device, Tensor, TensorData};
use dlp_core::rng::Rng;
use dlp_dni::dni::Dni;
use dlp_dni::train::TrainConfig;
use std::time::Instant;

/// The allocator `dlp` itself uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> dlp_core::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or(default.into());
    let method = arg(0, "backprop").parse()?;
    let num = |i: usize, d: &str| -> usize { arg(i, d).parse().expect("a whole number") };
    let (layers, batch, steps, threads) = (num(1, "3"), num(2, "256"), num(3, "300"), num(4, "2"));
    dlp_core::device::init_threads(Some(threads))?;
    let cfg = TrainConfig {
        method,
        layers,
        batch_size: batch,
        ..TrainConfig::default()
    };
    let device = Device::flex().autodiff();
    device.seed(0);
    let mut dni = Dni::new(&cfg, 784, 10, &device);
    let mut rng = Rng::new(0);
    let x: Vec<f32> = (0..batch * 784).map(|_| rng.uniform() as f32).collect();
    let x = Tensor::<2>::from_data(TensorData::new(x, [batch, 784]), &device);
    let y: Vec<usize> = (0..batch).map(|i| i % 10).collect();
    for _ in 0..20 {
        dni = dni.step(x.clone(), &y).0;
    }
    // As `dlp` runs its commands: on a thread of the kernels' pool.
    let (secs, loss) = dlp_core::device::in_pool(move || {
        let start = Instant::now();
        let mut loss = f64::NAN;
        for _ in 0..steps {
            let (next, stats) = dni.step(x.clone(), &y);
            (dni, loss) = (next, stats.loss);
        }
        (start.elapsed().as_secs_f64(), loss)
    });
    println!(
        "{}",
        serde_json::json!({"method": cfg.method, "layers": layers, "batch": batch, "threads": threads,
            "steps_per_second": steps as f64 / secs, "samples_per_second": (steps * batch) as f64 / secs,
            "final_loss": loss})
    );
    Ok(())
}
