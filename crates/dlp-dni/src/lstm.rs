//! An LSTM (Hochreiter & Schmidhuber 1997, with forget gates) and a linear read-out:
//!
//! ```text
//! [i, f, g, o] = W [x_t; h_{t−1}] + b
//! c_t = σ(f) ⊙ c_{t−1} + σ(i) ⊙ tanh(g)
//! h_t = σ(o) ⊙ tanh(c_t)
//! y_t = V h_t + a
//! ```
//!
//! The forget-gate bias starts at 1, so that early gradients pass through time.
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use dlp_dni::lstm::Lstm;
//! let device = Device::flex();
//! let lstm = Lstm::new(3, 16, 2, &device);
//! let (h, c) = lstm.zero_state(4, &device);
//! let (h, c) = lstm.cell(Tensor::<2>::ones([4, 3], &device), h, c);
//! assert_eq!(lstm.readout(h).dims(), [4, 2]);
//! assert_eq!(c.dims(), [4, 16]);
//! ```

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

#[derive(Module, Debug)]
pub struct Lstm {
    gates: Linear,
    out: Linear,
    hidden: usize,
}

impl Lstm {
    /// `input` features, `hidden` units, `output` read-out features.
    pub fn new(input: usize, hidden: usize, output: usize, device: &Device) -> Self {
        let mut gates = LinearConfig::new(input + hidden, 4 * hidden).init(device);
        if let Some(bias) = gates.bias.take() {
            let ones = Tensor::<1>::ones([hidden], device);
            let b = bias.val().slice_assign(hidden..2 * hidden, ones);
            gates.bias = Some(Param::from_tensor(b.detach()));
        }
        Self {
            gates,
            out: LinearConfig::new(hidden, output).init(device),
            hidden,
        }
    }

    /// h_0 = c_0 = 0 for a batch of `batch`.
    pub fn zero_state(&self, batch: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
        let z = Tensor::<2>::zeros([batch, self.hidden], device);
        (z.clone(), z)
    }

    /// One step: (h_t, c_t) from x_t `[b, input]` and the previous state.
    pub fn cell(&self, x: Tensor<2>, h: Tensor<2>, c: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let z = self.gates.forward(Tensor::cat(vec![x, h], 1));
        let mut parts = z.chunk(4, 1).into_iter();
        let mut next = || parts.next().expect("four gates");
        let (i, f, g, o) = (next(), next(), next(), next());
        let c = sigmoid(f) * c + sigmoid(i) * g.tanh();
        let h = sigmoid(o) * c.clone().tanh();
        (h, c)
    }

    /// y_t = V h_t + a.
    pub fn readout(&self, h: Tensor<2>) -> Tensor<2> {
        self.out.forward(h)
    }
}
