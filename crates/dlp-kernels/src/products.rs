//! What the convolution kernels share: the sizes of a convolution ([`ConvShape`]), each
//! thread's scratch buffer, a matrix product over strided operands, and how images are split
//! among threads.

use crate::simd::with_simd;
use gemm::Parallelism;
use std::cell::RefCell;
use std::mem::MaybeUninit;

thread_local! {
    /// Each thread's two scratch buffers (patches, and a group's outputs), kept between calls: a
    /// fresh one of up to a few MB per call costs page faults (the kernel zeroing pages) on
    /// every step.
    static SCRATCH: [RefCell<Vec<f32>>; 2] = const { [RefCell::new(Vec::new()), RefCell::new(Vec::new())] };
}

/// One of this thread's scratch buffers (`slot` 0 or 1) with `len` values (contents
/// unspecified), given back on drop.
pub(crate) struct Scratch(Vec<f32>, usize);

impl Scratch {
    pub(crate) fn take(slot: usize, len: usize) -> Self {
        let mut v = SCRATCH.with(|c| std::mem::take(&mut *c[slot].borrow_mut()));
        if v.len() < len {
            v.resize(len, 0.0);
        }
        v.truncate(len);
        Scratch(v, slot)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.0);
        SCRATCH.with(|c| {
            let mut kept = c[self.1].borrow_mut();
            if v.capacity() > kept.capacity() {
                *kept = v;
            }
        });
    }
}

/// A vector of `len` values written by `fill`, which gets them uninitialised: no pass that
/// zeroes memory only to overwrite it.
///
/// # Safety
/// `fill` must write every one of the `len` values.
pub(crate) unsafe fn written(len: usize, fill: impl FnOnce(&mut [MaybeUninit<f32>])) -> Vec<f32> {
    let mut v = Vec::with_capacity(len);
    fill(&mut v.spare_capacity_mut()[..len]);
    // SAFETY: `fill` initialised all `len` values (the caller's promise).
    unsafe { v.set_len(len) };
    v
}

/// Writes `value[r]` (plus `plus`'s element, when given: same shape as `rows`) into every
/// element of row r of `rows` (`value.len()` rows of `n`), which makes them readable.
pub(crate) fn init_rows<'a>(
    rows: &'a mut [MaybeUninit<f32>],
    value: &[f32],
    n: usize,
    plus: Option<&[f32]>,
) -> &'a mut [f32] {
    assert_eq!(rows.len(), value.len() * n);
    with_simd!({
        for (r, (row, &v)) in rows.chunks_mut(n.max(1)).zip(value).enumerate() {
            match plus {
                Some(p) => {
                    for (e, &a) in row.iter_mut().zip(&p[r * n..(r + 1) * n]) {
                        e.write(v + a);
                    }
                }
                None => {
                    for e in row.iter_mut() {
                        e.write(v);
                    }
                }
            }
        }
    });
    // SAFETY: every element was written just above, and MaybeUninit<f32> has f32's layout.
    unsafe { &mut *(rows as *mut [MaybeUninit<f32>] as *mut [f32]) }
}

impl std::ops::Deref for Scratch {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl std::ops::DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}

/// Copies `src` into `dst` (same length) in 16-value blocks, without a call per short row.
#[inline(always)]
pub(crate) fn copy_row(dst: &mut [f32], src: &[f32]) {
    let mut d = dst.chunks_exact_mut(16);
    let mut s = src.chunks_exact(16);
    for (a, b) in (&mut d).zip(&mut s) {
        let a: &mut [f32; 16] = a.try_into().unwrap();
        *a = *<&[f32; 16]>::try_from(b).unwrap();
    }
    for (a, b) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *a = *b;
    }
}

/// Image `image`'s `len` values of a batch tensor, when there is one.
pub(crate) fn image_of(t: Option<&[f32]>, image: usize, len: usize) -> Option<&[f32]> {
    t.map(|t| &t[image * len..(image + 1) * len])
}

/// Sizes of one convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    pub batch: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
}

impl ConvShape {
    /// Output side: (h + 2p − k)/s + 1.
    pub fn out_hw(&self) -> [usize; 2] {
        [
            (self.h + 2 * self.padding[0] - self.kernel[0]) / self.stride[0] + 1,
            (self.w + 2 * self.padding[1] - self.kernel[1]) / self.stride[1] + 1,
        ]
    }
    pub(crate) fn k(&self) -> usize {
        self.c_in * self.kernel[0] * self.kernel[1]
    }
    pub(crate) fn n(&self) -> usize {
        let [ho, wo] = self.out_hw();
        ho * wo
    }
    pub(crate) fn direct(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.padding == [0, 0]
    }
    pub(crate) fn in_size(&self) -> usize {
        self.c_in * self.h * self.w
    }
}

/// Images per task and the products' own parallelism.
pub(crate) fn split(s: &ConvShape) -> (usize, Parallelism) {
    let threads = rayon::current_num_threads().max(1);
    if s.batch >= threads {
        (s.batch.div_ceil(threads), Parallelism::None)
    } else {
        (1, Parallelism::Rayon(threads))
    }
}

/// dst (m×n, row-major, rows `dst_rs` apart) = [dst +] lhs·rhs, lhs and rhs given by their row
/// and column strides.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(
    [m, n, k]: [usize; 3],
    dst: &mut [f32],
    dst_rs: usize,
    accumulate: bool,
    lhs: &[f32],
    [lhs_rs, lhs_cs]: [usize; 2],
    rhs: &[f32],
    [rhs_rs, rhs_cs]: [usize; 2],
    par: Parallelism,
) {
    assert!(m == 0 || n == 0 || dst.len() >= (m - 1) * dst_rs + n);
    assert!(m == 0 || k == 0 || lhs.len() > (m - 1) * lhs_rs + (k - 1) * lhs_cs);
    assert!(n == 0 || k == 0 || rhs.len() > (k - 1) * rhs_rs + (n - 1) * rhs_cs);
    // SAFETY: the asserts above keep every index the product reads or writes inside the slices.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}
