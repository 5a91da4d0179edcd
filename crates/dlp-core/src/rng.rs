//! Seeded randomness whose state can be saved in a checkpoint and restored exactly.
//!
//! [`Rng`] is ChaCha8 (the `rand_chacha` stream): its whole state is the seed, the stream and
//! the word position, so [`Rng::state`] and [`Rng::from_state`] round-trip it. Shuffling and
//! batching draw from it, so a CPU run with the same seed visits the data in the same order.
//!
//! ```
//! use dlp_core::rng::Rng;
//! let mut a = Rng::new(7);
//! let order = a.permutation(5);
//! let mut sorted = order.clone();
//! sorted.sort();
//! assert_eq!(sorted, vec![0, 1, 2, 3, 4]);
//! assert_eq!(Rng::new(7).permutation(5), order);
//! ```

use rand::{Rng as _, RngCore, SeedableRng, seq::SliceRandom};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// A seeded, checkpointable random number generator.
#[derive(Debug, Clone)]
pub struct Rng {
    seed: u64,
    inner: ChaCha8Rng,
}

/// Everything needed to resume an [`Rng`] where it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    pub seed: u64,
    pub stream: u64,
    /// Position in the key stream, in 32-bit words (a u128, stored as a string in JSON).
    #[serde(with = "u128_string")]
    pub word_pos: u128,
}

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            inner: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// An independent generator for a named purpose (a worker, a data loader), derived from
    /// the seed and `stream`, so that adding one consumer does not shift the others' numbers.
    pub fn fork(&self, stream: u64) -> Self {
        let mut inner = ChaCha8Rng::seed_from_u64(self.seed);
        inner.set_stream(stream);
        Self {
            seed: self.seed,
            inner,
        }
    }

    /// The state to save.
    pub fn state(&self) -> RngState {
        RngState {
            seed: self.seed,
            stream: self.inner.get_stream(),
            word_pos: self.inner.get_word_pos(),
        }
    }

    /// Restores a saved state.
    pub fn from_state(state: RngState) -> Self {
        let mut inner = ChaCha8Rng::seed_from_u64(state.seed);
        inner.set_stream(state.stream);
        inner.set_word_pos(state.word_pos);
        Self {
            seed: state.seed,
            inner,
        }
    }

    /// A uniform `u64`, e.g. to seed a backend.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// A uniform float in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.inner.random::<f64>()
    }

    /// A standard normal draw (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A uniform index in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.inner.random_range(0..n)
    }

    /// Shuffles a slice in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        items.shuffle(&mut self.inner);
    }

    /// A random permutation of `0..n`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        self.shuffle(&mut order);
        order
    }

    /// One epoch of mini-batches over `0..n`: a fresh permutation cut into batches of
    /// `batch_size` (the last one smaller unless `drop_last`).
    pub fn batches(&mut self, n: usize, batch_size: usize, drop_last: bool) -> Vec<Vec<usize>> {
        assert!(batch_size > 0, "batch size must be positive");
        self.permutation(n)
            .chunks(batch_size)
            .filter(|c| !drop_last || c.len() == batch_size)
            .map(<[usize]>::to_vec)
            .collect()
    }
}

mod u128_string {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trip_continues_the_same_stream() {
        let mut a = Rng::new(42);
        for _ in 0..37 {
            a.next_u64();
        }
        let json = serde_json::to_string(&a.state()).unwrap();
        let mut b = Rng::from_state(serde_json::from_str(&json).unwrap());
        let xs: Vec<u64> = (0..10).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..10).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
    }

    #[test]
    fn batches_cover_every_index_once() {
        let mut rng = Rng::new(1);
        let batches = rng.batches(103, 10, false);
        assert_eq!(batches.len(), 11);
        let mut all: Vec<usize> = batches.concat();
        all.sort();
        assert_eq!(all, (0..103).collect::<Vec<_>>());
        assert_eq!(rng.batches(103, 10, true).len(), 10);
    }

    #[test]
    fn forks_differ_and_are_repeatable() {
        let base = Rng::new(5);
        let x = base.fork(1).next_u64();
        assert_eq!(x, base.fork(1).next_u64());
        assert_ne!(x, base.fork(2).next_u64());
    }

    #[test]
    fn normal_has_unit_moments() {
        let mut rng = Rng::new(3);
        let n = 20000;
        let xs: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
    }
}
