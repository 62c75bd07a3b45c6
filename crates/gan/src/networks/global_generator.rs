//! pix2pixHD's `GlobalGenerator`: reflect-pad 3, conv7 (ngf), `n_downsampling` stride-2
//! convolutions doubling the channels, `n_blocks` residual blocks, as many transposed
//! convolutions halving them, reflect-pad 3, conv7 to the output, tanh. Every convolution
//! but the last is followed by instance norm and ReLU.

use dancenow_nn::tch::nn::{self, Module};
use dancenow_nn::tch::{TchError, Tensor};

use super::layers::{f_norm_relu, f_reflect, Conv, UpConv};
use super::resnet_block::ResnetBlock;
use crate::config::GeneratorConfig;

#[derive(Debug)]
pub struct GlobalGenerator {
    front: Conv,
    down: Vec<Conv>,
    blocks: Vec<ResnetBlock>,
    up: Vec<UpConv>,
    /// The output convolution; absent inside a local enhancer, which adds its own.
    out: Option<Conv>,
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
        generator.out = Some(Conv::new(p / "out", config.ngf, config.output_nc, 7, 1, 0));
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
        let front = Conv::new(p / "front", input_nc, ngf, 7, 1, 0);
        let down = (0..n_downsampling)
            .map(|i| {
                let c = ngf << i;
                Conv::new(p / format!("down{i}"), c, 2 * c, 3, 2, 1)
            })
            .collect();
        let deepest = ngf << n_downsampling;
        let blocks = (0..n_blocks)
            .map(|i| ResnetBlock::new(p / format!("block{i}"), deepest))
            .collect();
        let up = (0..n_downsampling)
            .map(|i| {
                let c = deepest >> i;
                UpConv::new(p / format!("up{i}"), c, c / 2)
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

    /// The trunk's output: `ngf` channels at the input's resolution; libtorch's failures
    /// (out of memory, say) as errors.
    pub fn f_features(&self, x: &Tensor) -> Result<Tensor, TchError> {
        let mut h = f_norm_relu(&self.front.f_forward(&f_reflect(x, 3)?)?)?;
        for layer in &self.down {
            h = f_norm_relu(&layer.f_forward(&h)?)?;
        }
        for block in &self.blocks {
            h = block.f_forward(&h)?;
        }
        for layer in &self.up {
            h = f_norm_relu(&layer.f_forward(&h)?)?;
        }
        Ok(h)
    }

    /// The generator, with libtorch's failures as errors.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor, TchError> {
        let h = self.f_features(x)?;
        match &self.out {
            Some(out) => out.f_forward(&f_reflect(&h, 3)?)?.f_tanh(),
            None => Ok(h),
        }
    }
}

impl Module for GlobalGenerator {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.f_forward(x)
            .unwrap_or_else(|e| panic!("global generator: {e}"))
    }
}
