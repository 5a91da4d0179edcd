//! The paper's fully connected networks: `layers` blocks of Linear(→256), batch norm and ReLU,
//! then a linear classifier (Jaderberg et al. 2017, Section 3.2). Each block is a module that
//! DNI can decouple; backprop trains the same blocks end to end.

use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

/// Linear → batch norm → ReLU.
#[derive(Module, Debug)]
pub struct Block {
    linear: Linear,
    norm: BatchNorm,
}

impl Block {
    pub fn new(input: usize, output: usize, device: &Device) -> Self {
        Self {
            linear: LinearConfig::new(input, output).init(device),
            norm: BatchNormConfig::new(output).init(device),
        }
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        relu(self.norm.forward(self.linear.forward(x)))
    }
}

/// The hidden blocks and the classifier of an FC network.
#[derive(Module, Debug)]
pub struct FcNet {
    pub blocks: Vec<Block>,
    pub classifier: Linear,
}

impl FcNet {
    /// `layers` hidden blocks of `width` units on `input` features, `classes` outputs.
    pub fn new(input: usize, width: usize, layers: usize, classes: usize, device: &Device) -> Self {
        let blocks = (0..layers)
            .map(|i| Block::new(if i == 0 { input } else { width }, width, device))
            .collect();
        Self {
            blocks,
            classifier: LinearConfig::new(width, classes).init(device),
        }
    }

    /// Logits.
    pub fn forward(&self, mut x: Tensor<2>) -> Tensor<2> {
        for b in &self.blocks {
            x = b.forward(x);
        }
        self.classifier.forward(x)
    }
}
