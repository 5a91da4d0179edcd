//! 2D max and average pooling on contiguous NCHW `f32` data, forward and backward.
//!
//! Output (h_o, w_o) = ((h + 2p − k)/s + 1, …) (floor). Each output reads the window
//! rows [h_o·s − p, h_o·s − p + k) ∩ [0, h) (columns likewise); padding is never a candidate:
//!
//! - max: out = max over the window; its backward adds d_out to the first maximum's input;
//! - average (padding not counted, PyTorch's `count_include_pad=False`): out = Σ x / |window|;
//!   its backward adds d_out/|window| to each input of the window.
//!
//! Each (sample, channel) plane is one task; the max keeps its argmax (an index into the plane)
//! for the backward pass.

use rayon::prelude::*;

/// Sizes and settings of one pooling call. `padding ≤ kernel / 2`, so no window is empty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolShape {
    /// batch·channels.
    pub planes: usize,
    pub h: usize,
    pub w: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    /// Max pooling, else average pooling without the padding.
    pub max: bool,
}

impl PoolShape {
    pub fn out_hw(&self) -> [usize; 2] {
        let out =
            |n: usize, i: usize| (n + 2 * self.padding[i] - self.kernel[i]) / self.stride[i] + 1;
        [out(self.h, 0), out(self.w, 1)]
    }

    /// The input range one output index `o` of axis `i` reads.
    fn window(&self, o: usize, i: usize, n: usize) -> std::ops::Range<usize> {
        let start = (o * self.stride[i]) as isize - self.padding[i] as isize;
        start.max(0) as usize..((start + self.kernel[i] as isize) as usize).min(n)
    }
}

/// Planes per parallel task.
fn min_planes(s: &PoolShape) -> usize {
    (2048 / (s.h * s.w).max(1)).max(1)
}

/// The forward pass: fills `out` (`[planes, h_o, w_o]`) and, for max pooling, returns each
/// output's argmax within its plane.
pub fn forward(x: &[f32], s: PoolShape, out: &mut [f32]) -> Vec<u32> {
    let [ho, wo] = s.out_hw();
    let mut arg = vec![0u32; if s.max { out.len() } else { 0 }];
    let per = |(xs, os): (&[f32], &mut [f32]), mut args: Option<&mut [u32]>| {
        for oh in 0..ho {
            let rows = s.window(oh, 0, s.h);
            for ow in 0..wo {
                let cols = s.window(ow, 1, s.w);
                let o = oh * wo + ow;
                if let Some(args) = args.as_deref_mut() {
                    let (mut best, mut at) = (f32::NEG_INFINITY, rows.start * s.w + cols.start);
                    for r in rows.clone() {
                        for c in cols.clone() {
                            let v = xs[r * s.w + c];
                            if v > best {
                                (best, at) = (v, r * s.w + c);
                            }
                        }
                    }
                    os[o] = xs[at];
                    args[o] = at as u32;
                } else {
                    let total: f32 = rows
                        .clone()
                        .map(|r| {
                            xs[r * s.w + cols.start..r * s.w + cols.end]
                                .iter()
                                .sum::<f32>()
                        })
                        .sum();
                    os[o] = total / (rows.len() * cols.len()) as f32;
                }
            }
        }
    };
    let planes = x.par_chunks(s.h * s.w).zip(out.par_chunks_mut(ho * wo));
    if s.max {
        planes
            .zip(arg.par_chunks_mut(ho * wo))
            .with_min_len(min_planes(&s))
            .for_each(|(p, a)| per(p, Some(a)));
    } else {
        planes
            .with_min_len(min_planes(&s))
            .for_each(|p| per(p, None));
    }
    arg
}

/// The backward pass: d_x from d_out (and the forward's argmax for max pooling).
pub fn backward(dout: &[f32], arg: &[u32], s: PoolShape) -> Vec<f32> {
    let [ho, wo] = s.out_hw();
    let mut dx = vec![0f32; s.planes * s.h * s.w];
    dx.par_chunks_mut(s.h * s.w)
        .zip(dout.par_chunks(ho * wo))
        .enumerate()
        .with_min_len(min_planes(&s))
        .for_each(|(p, (dx, g))| {
            if s.max {
                let arg = &arg[p * ho * wo..(p + 1) * ho * wo];
                for (&a, &g) in arg.iter().zip(g) {
                    dx[a as usize] += g;
                }
                return;
            }
            for oh in 0..ho {
                let rows = s.window(oh, 0, s.h);
                for ow in 0..wo {
                    let cols = s.window(ow, 1, s.w);
                    let share = g[oh * wo + ow] / (rows.len() * cols.len()) as f32;
                    for r in rows.clone() {
                        for d in &mut dx[r * s.w + cols.start..r * s.w + cols.end] {
                            *d += share;
                        }
                    }
                }
            }
        });
    dx
}
