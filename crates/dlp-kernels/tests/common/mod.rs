//! Helpers shared by the kernel tests.

use burn::tensor::{Distribution, Gradients, Tensor};

pub fn close(what: &str, ours: Tensor<1>, theirs: Tensor<1>, tol: f32) {
    close_above(what, ours, theirs, tol, 1e-6)
}

/// As [`close`], the scale at least `floor`: a gradient that is zero in exact arithmetic (the add's
/// with one channel per group, which the normalisation removes) is rounding noise on both sides.
pub fn close_above(what: &str, ours: Tensor<1>, theirs: Tensor<1>, tol: f32, floor: f32) {
    let scale = theirs.clone().abs().max().into_scalar::<f32>().max(floor);
    let diff = (ours - theirs).abs().max().into_scalar::<f32>();
    assert!(
        diff <= tol * scale,
        "{what}: max difference {diff} against scale {scale}"
    );
}

pub fn flat<const D: usize>(t: Tensor<D>) -> Tensor<1> {
    let n = t.shape().num_elements();
    t.reshape([n])
}

pub fn on_threads(threads: usize, f: impl FnOnce() + Send) {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f);
}

/// `ours` against `theirs` to `tol` (see [`close`]), then Σ y·r backpropagated through each with
/// the same random r: (our gradients, theirs).
pub fn same_then_backward<const D: usize>(
    what: &str,
    ours: Tensor<D>,
    theirs: Tensor<D>,
    tol: f32,
) -> (Gradients, Gradients) {
    close(
        &format!("{what} y"),
        flat(ours.clone()),
        flat(theirs.clone()),
        tol,
    );
    let r = theirs.random_like(Distribution::Normal(0.0, 1.0));
    (
        (ours * r.clone()).sum().backward(),
        (theirs * r).sum().backward(),
    )
}
