//! The kernels as a burn backend extension: one trait, its `Flex` implementation (forward) and its
//! `Autodiff<Flex>` implementation (forward, saving what the hand-written backward needs).

use crate::activation::{self, Unary};
use crate::batch_norm::{self, BnShape, BnStats};
use crate::conv::{self, ConvShape};
use crate::norm::{self, NormShape, Stats};
use crate::pool::{self, PoolShape};
use burn::backend::AutodiffBackend;
use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Flex, backend_extension};
use burn::tensor::TensorData;
use std::borrow::Cow;

/// Our operations on a backend. `bias` and `add` are always given (zeros where a layer has none).
#[backend_extension(Flex, Autodiff)]
pub trait KernelBackend: Backend {
    /// `conv2d(x, weight) + bias`, NCHW.
    fn dlp_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        shape: ConvShape,
    ) -> FloatTensor<Self>;

    /// `conv2d(x, weight) + bias + residual`, NCHW (the residual of the output's shape).
    fn dlp_conv2d_add(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        residual: FloatTensor<Self>,
        shape: ConvShape,
    ) -> FloatTensor<Self>;

    /// `[SiLU](GroupNorm(x + add[b, c]))` with affine γ, β.
    fn dlp_group_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        add: FloatTensor<Self>,
        shape: NormShape,
    ) -> FloatTensor<Self>;

    /// `[ReLU](BatchNorm(x))` with the batch's statistics and affine γ, β; also returns the
    /// statistics as `[2, C]` (mean, biased variance), outside the autodiff graph.
    fn dlp_batch_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        shape: BnShape,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// Max or average pooling, NCHW.
    fn dlp_pool2d(x: FloatTensor<Self>, shape: PoolShape) -> FloatTensor<Self>;

    /// `f(x)` element by element.
    fn dlp_unary(x: FloatTensor<Self>, f: Unary) -> FloatTensor<Self>;

    /// The softmax over the last axis.
    fn dlp_softmax(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The `f32` contents of a flex tensor, in row-major order (copied only when it is a view).
fn values(t: &FlexTensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(
            t.to_contiguous()
                .as_slice::<f32>()
                .expect("contiguous f32")
                .to_vec(),
        ),
    }
}

fn tensor(v: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(v, shape))
}

fn conv_forward(
    x: &FlexTensor,
    w: &FlexTensor,
    b: &FlexTensor,
    residual: Option<&FlexTensor>,
    s: ConvShape,
) -> FlexTensor {
    let [ho, wo] = s.out_hw();
    let r = residual.map(values);
    let y = conv::forward_add(&values(x), &values(w), &values(b), r.as_deref(), s);
    tensor(y, vec![s.batch, s.c_out, ho, wo])
}

fn norm_forward(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    add: &FlexTensor,
    s: NormShape,
) -> (FlexTensor, Stats) {
    let xv = values(x);
    let (out, stats) = norm::forward(&xv, &values(gamma), &values(beta), Some(&values(add)), s);
    let shape = x.layout().shape().to_vec();
    (tensor(out, shape), stats)
}

fn bn_forward(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    s: BnShape,
) -> (FlexTensor, BnStats) {
    let xv = values(x);
    let mut out = vec![0f32; xv.len()];
    let stats = batch_norm::forward(&xv, &values(gamma), &values(beta), s, &mut out);
    (tensor(out, x.layout().shape().to_vec()), stats)
}

fn stats_tensor(stats: &BnStats) -> FlexTensor {
    let v = [stats.mean.as_slice(), stats.var.as_slice()].concat();
    tensor(v, vec![2, stats.mean.len()])
}

fn pool_forward(x: &FlexTensor, s: PoolShape) -> (FlexTensor, Vec<u32>) {
    let [ho, wo] = s.out_hw();
    let mut out = vec![0f32; s.planes * ho * wo];
    let arg = pool::forward(&values(x), s, &mut out);
    let mut shape = x.layout().shape().to_vec();
    let rank = shape.len();
    shape[rank - 2..].copy_from_slice(&[ho, wo]);
    (tensor(out, shape), arg)
}

impl KernelBackend for Flex {
    fn dlp_conv2d(x: FlexTensor, weight: FlexTensor, bias: FlexTensor, s: ConvShape) -> FlexTensor {
        conv_forward(&x, &weight, &bias, None, s)
    }

    fn dlp_conv2d_add(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        residual: FlexTensor,
        s: ConvShape,
    ) -> FlexTensor {
        conv_forward(&x, &weight, &bias, Some(&residual), s)
    }

    fn dlp_group_norm(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        add: FlexTensor,
        s: NormShape,
    ) -> FlexTensor {
        norm_forward(&x, &gamma, &beta, &add, s).0
    }

    fn dlp_batch_norm(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        s: BnShape,
    ) -> (FlexTensor, FlexTensor) {
        let (out, stats) = bn_forward(&x, &gamma, &beta, s);
        (out, stats_tensor(&stats))
    }

    fn dlp_pool2d(x: FlexTensor, s: PoolShape) -> FlexTensor {
        pool_forward(&x, s).0
    }

    fn dlp_unary(x: FlexTensor, f: Unary) -> FlexTensor {
        unary_forward(&x, f)
    }

    fn dlp_softmax(x: FlexTensor) -> FlexTensor {
        softmax_forward(&x)
    }
}

fn unary_forward(x: &FlexTensor, f: Unary) -> FlexTensor {
    tensor(
        activation::forward(&values(x), f),
        x.layout().shape().to_vec(),
    )
}

fn softmax_forward(x: &FlexTensor) -> FlexTensor {
    let shape = x.layout().shape().to_vec();
    let n = shape.last().copied().unwrap_or(1);
    tensor(activation::softmax(&values(x), n), shape)
}

#[derive(Debug)]
struct UnaryBackward;

impl Backward<Flex, 1> for UnaryBackward {
    type State = (FlexTensor, FlexTensor, Unary);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node);
        let (x, y, f) = ops.state;
        if let Some(node) = node_x {
            let dx = activation::backward(&values(&x), &values(&y), &values(&dy), f);
            grads.register::<Flex>(node.id, tensor(dx, x.layout().shape().to_vec()));
        }
    }
}

#[derive(Debug)]
struct SoftmaxBackward;

impl Backward<Flex, 1> for SoftmaxBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node);
        let y = ops.state;
        if let Some(node) = node_x {
            let shape = y.layout().shape().to_vec();
            let n = shape.last().copied().unwrap_or(1);
            let dx = activation::softmax_backward(&values(&y), &values(&dy), n);
            grads.register::<Flex>(node.id, tensor(dx, shape));
        }
    }
}

/// The convolution's gradients from dy, registered for the parents that want them.
fn conv_grads(
    grads: &mut Gradients,
    dy: &[f32],
    (x, w, s): (FlexTensor, FlexTensor, ConvShape),
    [node_x, node_w, node_b]: [Option<NodeId>; 3],
) {
    if let Some(id) = node_x {
        let dx = conv::backward_input(&values(&w), dy, s);
        grads.register::<Flex>(id, tensor(dx, vec![s.batch, s.c_in, s.h, s.w]));
    }
    if node_w.is_some() || node_b.is_some() {
        let (dw, db) = conv::backward_weight(&values(&x), dy, s);
        if let Some(id) = node_w {
            let [kh, kw] = s.kernel;
            grads.register::<Flex>(id, tensor(dw, vec![s.c_out, s.c_in, kh, kw]));
        }
        if let Some(id) = node_b {
            grads.register::<Flex>(id, tensor(db, vec![s.c_out]));
        }
    }
}

#[derive(Debug)]
struct ConvBackward;

impl Backward<Flex, 3> for ConvBackward {
    type State = (FlexTensor, FlexTensor, ConvShape);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node);
        let ids = ops.parents.map(|p| p.map(|n| n.id));
        conv_grads(grads, &values(&dy), ops.state, ids);
    }
}

#[derive(Debug)]
struct ConvAddBackward;

impl Backward<Flex, 4> for ConvAddBackward {
    type State = (FlexTensor, FlexTensor, ConvShape);

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w, node_b, node_r] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node);
        let ids = [node_x, node_w, node_b].map(|p| p.map(|n| n.id));
        conv_grads(grads, &values(&dy), ops.state, ids);
        if let Some(node) = node_r {
            grads.register::<Flex>(node.id, dy);
        }
    }
}

#[derive(Debug)]
struct NormBackward;

impl Backward<Flex, 4> for NormBackward {
    type State = (
        FlexTensor,
        FlexTensor,
        FlexTensor,
        FlexTensor,
        Stats,
        NormShape,
    );

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_g, node_b, node_a] = ops.parents;
        let d_out = grads.consume::<Flex>(&ops.node);
        let (x, gamma, beta, add, stats, s) = ops.state;
        let shape = x.layout().shape().to_vec();
        let add_v = values(&add);
        let g = norm::backward(
            &values(&x),
            &values(&gamma),
            &values(&beta),
            Some(&add_v),
            &stats,
            &values(&d_out),
            s,
        );
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, tensor(g.x, shape));
        }
        if let Some(node) = node_g {
            grads.register::<Flex>(node.id, tensor(g.gamma, vec![s.channels]));
        }
        if let Some(node) = node_b {
            grads.register::<Flex>(node.id, tensor(g.beta, vec![s.channels]));
        }
        if let (Some(node), Some(da)) = (node_a, g.add) {
            grads.register::<Flex>(node.id, tensor(da, vec![s.batch, s.channels]));
        }
    }
}

#[derive(Debug)]
struct BnBackward;

impl Backward<Flex, 3> for BnBackward {
    type State = (FlexTensor, FlexTensor, FlexTensor, BnStats, BnShape);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_g, node_b] = ops.parents;
        let d_out = grads.consume::<Flex>(&ops.node);
        let (x, gamma, beta, stats, s) = ops.state;
        let g = batch_norm::backward(
            &values(&x),
            &values(&gamma),
            &values(&beta),
            &stats,
            &values(&d_out),
            s,
        );
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, tensor(g.x, x.layout().shape().to_vec()));
        }
        if let Some(node) = node_g {
            grads.register::<Flex>(node.id, tensor(g.gamma, vec![s.channels]));
        }
        if let Some(node) = node_b {
            grads.register::<Flex>(node.id, tensor(g.beta, vec![s.channels]));
        }
    }
}

#[derive(Debug)]
struct PoolBackward;

impl Backward<Flex, 1> for PoolBackward {
    type State = (Vec<u32>, Vec<usize>, PoolShape);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let d_out = grads.consume::<Flex>(&ops.node);
        let (arg, shape, s) = ops.state;
        if let Some(node) = node_x {
            let dx = pool::backward(&values(&d_out), &arg, s);
            grads.register::<Flex>(node.id, tensor(dx, shape));
        }
    }
}

impl<C: CheckpointStrategy> KernelBackend for Autodiff<Flex, C> {
    fn dlp_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        s: ConvShape,
    ) -> FloatTensor<Self> {
        match ConvBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (xp, wp) = (x.primitive().clone(), weight.primitive().clone());
                let y = conv_forward(&xp, &wp, bias.primitive(), None, s);
                prep.finish((xp, wp, s), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(conv_forward(
                x.primitive(),
                weight.primitive(),
                bias.primitive(),
                None,
                s,
            )),
        }
    }

    fn dlp_conv2d_add(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        residual: FloatTensor<Self>,
        s: ConvShape,
    ) -> FloatTensor<Self> {
        let y = conv_forward(
            x.primitive(),
            weight.primitive(),
            bias.primitive(),
            Some(residual.primitive()),
            s,
        );
        match ConvAddBackward
            .prepare::<C>([x.node(), weight.node(), bias.node(), residual.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (xp, wp) = (x.primitive().clone(), weight.primitive().clone());
                prep.finish((xp, wp, s), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }

    fn dlp_group_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        add: FloatTensor<Self>,
        s: NormShape,
    ) -> FloatTensor<Self> {
        match NormBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node(), add.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (xp, gp, bp, ap) = (
                    x.primitive().clone(),
                    gamma.primitive().clone(),
                    beta.primitive().clone(),
                    add.primitive().clone(),
                );
                let (out, stats) = norm_forward(&xp, &gp, &bp, &ap, s);
                prep.finish((xp, gp, bp, ap, stats, s), out)
            }
            OpsKind::UnTracked(prep) => {
                let (out, _) = norm_forward(
                    x.primitive(),
                    gamma.primitive(),
                    beta.primitive(),
                    add.primitive(),
                    s,
                );
                prep.finish(out)
            }
        }
    }

    fn dlp_batch_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        s: BnShape,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        let (xp, gp, bp) = (
            x.primitive().clone(),
            gamma.primitive().clone(),
            beta.primitive().clone(),
        );
        let (out, stats) = bn_forward(&xp, &gp, &bp, s);
        let stats_out = Self::from_inner(stats_tensor(&stats));
        let out = match BnBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((xp, gp, bp, stats, s), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        };
        (out, stats_out)
    }

    fn dlp_pool2d(x: FloatTensor<Self>, s: PoolShape) -> FloatTensor<Self> {
        let shape = x.primitive().layout().shape().to_vec();
        let (out, arg) = pool_forward(x.primitive(), s);
        match PoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((arg, shape, s), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn dlp_unary(x: FloatTensor<Self>, f: Unary) -> FloatTensor<Self> {
        let y = unary_forward(x.primitive(), f);
        match UnaryBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((x.primitive().clone(), y.clone(), f), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }

    fn dlp_softmax(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let y = softmax_forward(x.primitive());
        match SoftmaxBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(y.clone(), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}
