//! pix2pixHD's `LocalEnhancer`: a global generator with twice the filters per enhancer,
//! run on the input average-pooled once per enhancer; each enhancer adds a full-resolution
//! branch (conv7, a stride-2 conv) to the coarser output, then residual blocks and a
//! transposed convolution bring it up; the last enhancer ends with conv7 and tanh.

use dancenow_nn::tch::nn::{self, Module};
use dancenow_nn::tch::{TchError, Tensor};

use super::global_generator::GlobalGenerator;
use super::layers::{f_downsample, f_norm_relu, f_reflect, Conv, UpConv};
use super::resnet_block::ResnetBlock;
use crate::config::GeneratorConfig;

#[derive(Debug)]
struct Enhancer {
    front: Conv,
    down: Conv,
    blocks: Vec<ResnetBlock>,
    up: UpConv,
}

#[derive(Debug)]
pub struct LocalEnhancer {
    global: GlobalGenerator,
    /// Coarsest first.
    enhancers: Vec<Enhancer>,
    out: Conv,
}

impl LocalEnhancer {
    pub fn new(p: &nn::Path, config: &GeneratorConfig) -> Self {
        let n = config.n_local_enhancers.max(1);
        let global = GlobalGenerator::trunk(
            &(p / "global"),
            config.input_nc,
            config.ngf << n,
            config.n_downsampling,
            config.n_blocks,
        );
        let enhancers = (1..=n)
            .map(|k| {
                let p = p / format!("enhancer{k}");
                let c = config.ngf << (n - k);
                Enhancer {
                    front: Conv::new(&p / "front", config.input_nc, c, 7, 1, 0),
                    down: Conv::new(&p / "down", c, 2 * c, 3, 2, 1),
                    blocks: (0..config.n_blocks_local)
                        .map(|i| ResnetBlock::new(&p / format!("block{i}"), 2 * c))
                        .collect(),
                    up: UpConv::new(&p / "up", 2 * c, c),
                }
            })
            .collect();
        Self {
            global,
            enhancers,
            out: Conv::new(p / "out", config.ngf, config.output_nc, 7, 1, 0),
        }
    }

    /// The generator, with libtorch's failures (out of memory, say) as errors.
    pub fn f_forward(&self, x: &Tensor) -> Result<Tensor, TchError> {
        // The input average-pooled once per enhancer, coarsest last.
        let mut inputs = vec![x.shallow_clone()];
        for _ in 0..self.enhancers.len() {
            let next = f_downsample(inputs.last().unwrap_or(x))?;
            inputs.push(next);
        }
        let mut h = self.global.f_features(inputs.last().unwrap_or(x))?;
        for (enhancer, input) in self.enhancers.iter().zip(inputs.iter().rev().skip(1)) {
            let local = f_norm_relu(&enhancer.front.f_forward(&f_reflect(input, 3)?)?)?;
            let local = f_norm_relu(&enhancer.down.f_forward(&local)?)?;
            h = local.f_add(&h)?;
            for block in &enhancer.blocks {
                h = block.f_forward(&h)?;
            }
            h = f_norm_relu(&enhancer.up.f_forward(&h)?)?;
        }
        self.out.f_forward(&f_reflect(&h, 3)?)?.f_tanh()
    }
}

impl Module for LocalEnhancer {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.f_forward(x)
            .unwrap_or_else(|e| panic!("local enhancer: {e}"))
    }
}
