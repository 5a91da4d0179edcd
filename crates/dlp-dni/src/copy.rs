//! The Copy and Repeat Copy tasks (Graves et al. 2014), as endless streams of episodes for
//! truncated training (Jaderberg et al. 2017, Section 3.1).
//!
//! Copy, length N: N random 8-bit vectors, then a delimiter on channel 8; during the next N steps
//! the input is blank and the output must be the N vectors again (2N + 1 steps). Repeat Copy:
//! the delimiter step also carries the number of repeats R ∈ {1, 2, 3} as R/3 on channel 9; the
//! output is the sequence R times, then an end marker on output channel 8
//! (N + 1 + RN + 1 steps). Only output steps carry a loss. An episode's error is its number of
//! wrongly predicted output bits.
//!
//! ```
//! use dlp_dni::copy::{Stream, Task};
//! let mut rng = dlp_core::rng::Rng::new(0);
//! let mut s = Stream::default();
//! let steps: Vec<_> = (0..5).map(|_| s.next(Task::Copy, 2, &mut rng)).collect();
//! assert_eq!(steps[2].x[8], 1.0); // the delimiter after 2 vectors
//! assert!(steps[3].output && steps[4].output && steps[4].end);
//! assert_eq!(steps[3].y[..8], steps[0].x[..8]);
//! ```

use dlp_core::rng::Rng;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Bits per vector.
pub const BITS: usize = 8;
/// Input features: the bits, the delimiter, the repeat count.
pub const INPUT: usize = BITS + 2;
/// Output features: the bits and the end marker.
pub const OUTPUT: usize = BITS + 1;
/// The most repeats of Repeat Copy.
pub const MAX_REPEATS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    Copy,
    RepeatCopy,
}

impl std::str::FromStr for Task {
    type Err = dlp_core::Error;
    fn from_str(s: &str) -> dlp_core::Result<Self> {
        match s {
            "copy" => Ok(Self::Copy),
            "repeat-copy" => Ok(Self::RepeatCopy),
            other => Err(dlp_core::Error::setting(
                "task",
                format!("`{other}` (expected copy or repeat-copy)"),
            )),
        }
    }
}

/// One time step of a stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub x: [f32; INPUT],
    pub y: [f32; OUTPUT],
    /// Whether the output is scored.
    pub output: bool,
    /// The last step of its episode.
    pub end: bool,
    /// The episode's sequence length N.
    pub length: usize,
}

/// An endless stream of episodes, generated as needed at the length asked for.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Stream {
    queue: VecDeque<Step>,
}

impl Stream {
    /// The next step; when the queue is empty, a new episode of length `n`.
    pub fn next(&mut self, task: Task, n: usize, rng: &mut Rng) -> Step {
        if self.queue.is_empty() {
            self.queue.extend(episode(task, n, rng));
        }
        self.queue.pop_front().expect("a generated episode")
    }
}

/// One episode of `task` with sequence length `n`.
pub fn episode(task: Task, n: usize, rng: &mut Rng) -> Vec<Step> {
    let blank = |output| Step {
        x: [0.0; INPUT],
        y: [0.0; OUTPUT],
        output,
        end: false,
        length: n,
    };
    let seq: Vec<[f32; BITS]> = (0..n)
        .map(|_| std::array::from_fn(|_| if rng.uniform() < 0.5 { 1.0 } else { 0.0 }))
        .collect();
    let repeats = match task {
        Task::Copy => 1,
        Task::RepeatCopy => 1 + rng.below(MAX_REPEATS),
    };
    let mut steps = Vec::with_capacity(n * (repeats + 1) + 2);
    for v in &seq {
        let mut s = blank(false);
        s.x[..BITS].copy_from_slice(v);
        steps.push(s);
    }
    let mut delim = blank(false);
    delim.x[BITS] = 1.0;
    if task == Task::RepeatCopy {
        delim.x[BITS + 1] = repeats as f32 / MAX_REPEATS as f32;
    }
    steps.push(delim);
    for _ in 0..repeats {
        for v in &seq {
            let mut s = blank(true);
            s.y[..BITS].copy_from_slice(v);
            steps.push(s);
        }
    }
    if task == Task::RepeatCopy {
        let mut s = blank(true);
        s.y[BITS] = 1.0;
        steps.push(s);
    }
    steps.last_mut().expect("at least the delimiter").end = true;
    steps
}
