//! Row-sparse gradients and the optimisers that apply them only to the rows a batch touched.
//!
//! Adagrad (Duchi et al. 2011): G ← G + g², x ← x − lr·g / (√G + ε).
//! Adam (Kingma & Ba 2015), lazily on touched rows as PyTorch's `SparseAdam`: m ← β₁m + (1−β₁)g,
//! v ← β₂v + (1−β₂)g², x ← x − lr·m̂ / (√v̂ + ε), with the bias corrections of the global step.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A gradient for a table of `rows × width`, dense storage with the list of touched rows.
#[derive(Debug, Clone)]
pub struct RowGrad {
    pub width: usize,
    pub data: Vec<f32>,
    touched: Vec<u32>,
    mark: Vec<bool>,
}

impl RowGrad {
    pub fn new(rows: usize, width: usize) -> Self {
        RowGrad {
            width,
            data: vec![0.0; rows * width],
            touched: Vec::new(),
            mark: vec![false; rows],
        }
    }

    /// The gradient row of `row`, marked as touched.
    #[inline]
    pub fn row(&mut self, row: u32) -> &mut [f32] {
        let r = row as usize;
        if !self.mark[r] {
            self.mark[r] = true;
            self.touched.push(row);
        }
        &mut self.data[r * self.width..(r + 1) * self.width]
    }

    /// Marks every row as touched (after a dense write into `data`).
    pub fn touch_all(&mut self) {
        for r in 0..self.mark.len() {
            if !self.mark[r] {
                self.mark[r] = true;
                self.touched.push(r as u32);
            }
        }
    }

    pub fn touched(&self) -> &[u32] {
        &self.touched
    }
}

/// Which optimiser, with its learning rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Adagrad,
    Adam,
}

/// Optimiser state for one table.
#[derive(Debug, Clone)]
pub struct RowOptimizer {
    kind: OptimizerKind,
    pub lr: f32,
    /// Adagrad: Σg²; Adam: first moment.
    pub s1: Vec<f32>,
    /// Adam: second moment (empty for Adagrad).
    pub s2: Vec<f32>,
    pub step: u64,
}

struct SyncPtr(*mut f32);
unsafe impl Sync for SyncPtr {}
unsafe impl Send for SyncPtr {}

impl SyncPtr {
    fn at(&self, off: usize) -> *mut f32 {
        // SAFETY: callers stay inside the table the pointer came from.
        unsafe { self.0.add(off) }
    }
}

impl RowOptimizer {
    pub fn new(kind: OptimizerKind, lr: f32, len: usize) -> Self {
        let s2 = if kind == OptimizerKind::Adam {
            vec![0.0; len]
        } else {
            Vec::new()
        };
        RowOptimizer {
            kind,
            lr,
            s1: vec![0.0; len],
            s2,
            step: 0,
        }
    }

    /// Applies the sum of `grads` (one per worker) to every row any of them touched, in parallel
    /// over rows; runs `after` on each updated row (a constraint such as a unit norm); leaves
    /// the gradients zeroed.
    pub fn step(
        &mut self,
        params: &mut [f32],
        grads: &mut [&mut RowGrad],
        after: Option<fn(&mut [f32])>,
    ) {
        self.step += 1;
        let w = grads[0].width;
        let ptrs: Vec<SyncPtr> = grads
            .iter_mut()
            .map(|g| SyncPtr(g.data.as_mut_ptr()))
            .collect();
        let (first, rest) = grads.split_first_mut().expect("at least one gradient");
        for g in rest.iter() {
            for &r in &g.touched {
                if !first.mark[r as usize] {
                    first.mark[r as usize] = true;
                    first.touched.push(r);
                }
            }
        }
        first.touched.sort_unstable();
        let (lr, kind, t) = (self.lr, self.kind, self.step as i32);
        let (b1, b2, eps_adam) = (0.9f32, 0.999f32, 1e-8f32);
        let c1 = 1.0 - b1.powi(t);
        let c2 = 1.0 - b2.powi(t);
        let p = SyncPtr(params.as_mut_ptr());
        let s1 = SyncPtr(self.s1.as_mut_ptr());
        let s2 = SyncPtr(self.s2.as_mut_ptr());
        first.touched.par_iter().with_min_len(64).for_each(|&r| {
            let off = r as usize * w;
            // SAFETY: the union list holds each row once, so each task reads and writes rows no
            // other task touches, and `off + w` is inside every table (all have rows × w floats).
            let row = |ptr: &SyncPtr| unsafe { std::slice::from_raw_parts_mut(ptr.at(off), w) };
            let (x, a, g) = (row(&p), row(&s1), row(&ptrs[0]));
            for other in &ptrs[1..] {
                for (gi, oi) in g.iter_mut().zip(row(other)) {
                    *gi += *oi;
                    *oi = 0.0;
                }
            }
            match kind {
                OptimizerKind::Adagrad => {
                    for i in 0..w {
                        a[i] += g[i] * g[i];
                        x[i] -= lr * g[i] / (a[i].sqrt() + 1e-10);
                    }
                }
                OptimizerKind::Adam => {
                    let v = row(&s2);
                    for i in 0..w {
                        a[i] = b1 * a[i] + (1.0 - b1) * g[i];
                        v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
                        x[i] -= lr * (a[i] / c1) / ((v[i] / c2).sqrt() + eps_adam);
                    }
                }
            }
            g.fill(0.0);
            if let Some(f) = after {
                f(x);
            }
        });
        for g in grads.iter_mut() {
            for &r in &g.touched {
                g.mark[r as usize] = false;
            }
            g.touched.clear();
        }
    }
}
