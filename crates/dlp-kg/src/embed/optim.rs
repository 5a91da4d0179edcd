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

    /// Adds `other` into `self` and clears `other`.
    pub fn absorb(&mut self, other: &mut RowGrad) {
        let w = self.width;
        for i in 0..other.touched.len() {
            let r = other.touched[i];
            let src = &mut other.data[r as usize * w..(r as usize + 1) * w];
            let dst = self.row(r);
            for (d, s) in dst.iter_mut().zip(src.iter_mut()) {
                *d += *s;
                *s = 0.0;
            }
            other.mark[r as usize] = false;
        }
        other.touched.clear();
    }

    /// Zeroes the touched rows.
    pub fn clear(&mut self) {
        let w = self.width;
        for &r in &self.touched {
            self.data[r as usize * w..(r as usize + 1) * w].fill(0.0);
            self.mark[r as usize] = false;
        }
        self.touched.clear();
    }

    /// Sorts the touched list so that updates run in a fixed order.
    pub fn sort(&mut self) {
        self.touched.sort_unstable();
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
    lr: f32,
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

    /// Applies `grad` to the touched rows of `params`, in parallel over rows, then clears it.
    pub fn step(&mut self, params: &mut [f32], grad: &mut RowGrad) {
        self.step += 1;
        grad.sort();
        let w = grad.width;
        let (lr, kind, t) = (self.lr, self.kind, self.step as i32);
        let (b1, b2, eps_adam) = (0.9f32, 0.999f32, 1e-8f32);
        let c1 = 1.0 - b1.powi(t);
        let c2 = 1.0 - b2.powi(t);
        let p = SyncPtr(params.as_mut_ptr());
        let s1 = SyncPtr(self.s1.as_mut_ptr());
        let s2 = SyncPtr(self.s2.as_mut_ptr());
        let g = &grad.data;
        grad.touched.par_iter().with_min_len(64).for_each(|&r| {
            let off = r as usize * w;
            // SAFETY: touched rows are unique, so each task writes rows no other task touches,
            // and `off + w` is inside every table (all have rows × w floats).
            let (x, a) = unsafe {
                (
                    std::slice::from_raw_parts_mut(p.at(off), w),
                    std::slice::from_raw_parts_mut(s1.at(off), w),
                )
            };
            let g = &g[off..off + w];
            match kind {
                OptimizerKind::Adagrad => {
                    for i in 0..w {
                        a[i] += g[i] * g[i];
                        x[i] -= lr * g[i] / (a[i].sqrt() + 1e-10);
                    }
                }
                OptimizerKind::Adam => {
                    // SAFETY: as above.
                    let v = unsafe { std::slice::from_raw_parts_mut(s2.at(off), w) };
                    for i in 0..w {
                        a[i] = b1 * a[i] + (1.0 - b1) * g[i];
                        v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
                        x[i] -= lr * (a[i] / c1) / ((v[i] / c2).sqrt() + eps_adam);
                    }
                }
            }
        });
        grad.clear();
    }
}
