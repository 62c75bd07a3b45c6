//! pix2pixHD's `ResnetBlock`: reflect-pad, conv3, norm, ReLU, reflect-pad, conv3, norm,
//! added to the input.

use dancenow_nn::tch::nn::{self, Module};
use dancenow_nn::tch::{TchError, Tensor};

use super::layers::{f_instance_norm, f_norm_relu, f_reflect, Conv};

#[derive(Debug)]
pub struct ResnetBlock {
    conv1: Conv,
    conv2: Conv,
}

impl ResnetBlock {
    pub fn new(p: nn::Path, dim: i64) -> Self {
        Self {
            conv1: Conv::new(&p / "conv1", dim, dim, 3, 1, 0),
            conv2: Conv::new(&p / "conv2", dim, dim, 3, 1, 0),
        }
    }

    /// The block, with libtorch's failures as errors.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor, TchError> {
        let h = f_norm_relu(&self.conv1.f_forward(&f_reflect(x, 1)?)?)?;
        let h = f_instance_norm(&self.conv2.f_forward(&f_reflect(&h, 1)?)?)?;
        x.f_add(&h)
    }
}

impl Module for ResnetBlock {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.f_forward(x)
            .unwrap_or_else(|e| panic!("residual block: {e}"))
    }
}
