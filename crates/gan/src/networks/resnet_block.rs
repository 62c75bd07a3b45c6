//! pix2pixHD's `ResnetBlock`: reflect-pad, conv3, norm, ReLU, reflect-pad, conv3, norm,
//! added to the input.

use dancenow_nn::tch::nn::{self, Module};
use dancenow_nn::tch::Tensor;

use super::layers::{conv, instance_norm, norm_relu, reflect};

#[derive(Debug)]
pub struct ResnetBlock {
    conv1: nn::Conv2D,
    conv2: nn::Conv2D,
}

impl ResnetBlock {
    pub fn new(p: nn::Path, dim: i64) -> Self {
        Self {
            conv1: conv(&p / "conv1", dim, dim, 3, 1, 0),
            conv2: conv(&p / "conv2", dim, dim, 3, 1, 0),
        }
    }
}

impl Module for ResnetBlock {
    fn forward(&self, x: &Tensor) -> Tensor {
        let h = norm_relu(&self.conv1.forward(&reflect(x, 1)));
        let h = instance_norm(&self.conv2.forward(&reflect(&h, 1)));
        x + h
    }
}
