//! pix2pixHD's `GlobalGenerator`: reflect-pad 3, conv7 (ngf), `n_downsampling` stride-2
//! convolutions doubling the channels, `n_blocks` residual blocks, as many transposed
//! convolutions halving them, reflect-pad 3, conv7 to the output, tanh. Every convolution
//! but the last is followed by instance norm and ReLU.

use dancenow_nn::tch::nn::{self, Module};
use dancenow_nn::tch::Tensor;

use super::layers::{conv, norm_relu, reflect, upconv};
use super::resnet_block::ResnetBlock;
use crate::config::GeneratorConfig;

#[derive(Debug)]
pub struct GlobalGenerator {
    front: nn::Conv2D,
    down: Vec<nn::Conv2D>,
    blocks: Vec<ResnetBlock>,
    up: Vec<nn::ConvTranspose2D>,
    /// The output convolution; absent inside a local enhancer, which adds its own.
    out: Option<nn::Conv2D>,
}

impl GlobalGenerator {
    /// The global generator of `config` (its `ngf`, downsamplings and blocks).
    pub fn new(p: &nn::Path, config: &GeneratorConfig) -> Self {
        let mut generator = Self::trunk(
            p,
            config.input_nc,
            config.ngf,
            config.n_downsampling,
            config.n_blocks,
        );
        generator.out = Some(conv(p / "out", config.ngf, config.output_nc, 7, 1, 0));
        generator
    }

    /// Everything before the output layers, with `ngf` filters at full resolution.
    pub(crate) fn trunk(
        p: &nn::Path,
        input_nc: i64,
        ngf: i64,
        n_downsampling: i64,
        n_blocks: i64,
    ) -> Self {
        let front = conv(p / "front", input_nc, ngf, 7, 1, 0);
        let down = (0..n_downsampling)
            .map(|i| {
                let c = ngf << i;
                conv(p / format!("down{i}"), c, 2 * c, 3, 2, 1)
            })
            .collect();
        let deepest = ngf << n_downsampling;
        let blocks = (0..n_blocks)
            .map(|i| ResnetBlock::new(p / format!("block{i}"), deepest))
            .collect();
        let up = (0..n_downsampling)
            .map(|i| {
                let c = deepest >> i;
                upconv(p / format!("up{i}"), c, c / 2)
            })
            .collect();
        Self {
            front,
            down,
            blocks,
            up,
            out: None,
        }
    }

    /// The trunk's output: `ngf` channels at the input's resolution.
    pub fn features(&self, x: &Tensor) -> Tensor {
        let mut h = norm_relu(&self.front.forward(&reflect(x, 3)));
        for layer in &self.down {
            h = norm_relu(&layer.forward(&h));
        }
        for block in &self.blocks {
            h = block.forward(&h);
        }
        for layer in &self.up {
            h = norm_relu(&layer.forward(&h));
        }
        h
    }
}

impl Module for GlobalGenerator {
    fn forward(&self, x: &Tensor) -> Tensor {
        let h = self.features(x);
        match &self.out {
            Some(out) => out.forward(&reflect(&h, 3)).tanh(),
            None => h,
        }
    }
}
