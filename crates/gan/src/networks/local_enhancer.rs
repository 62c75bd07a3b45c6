//! pix2pixHD's `LocalEnhancer`: a global generator with twice the filters per enhancer,
//! run on the input average-pooled once per enhancer; each enhancer adds a full-resolution
//! branch (conv7, a stride-2 conv) to the coarser output, then residual blocks and a
//! transposed convolution bring it up; the last enhancer ends with conv7 and tanh.

use dancenow_nn::tch::nn::{self, Module};
use dancenow_nn::tch::Tensor;

use super::global_generator::GlobalGenerator;
use super::layers::{conv, downsample, norm_relu, reflect, upconv};
use super::resnet_block::ResnetBlock;
use crate::config::GeneratorConfig;

#[derive(Debug)]
struct Enhancer {
    front: nn::Conv2D,
    down: nn::Conv2D,
    blocks: Vec<ResnetBlock>,
    up: nn::ConvTranspose2D,
}

#[derive(Debug)]
pub struct LocalEnhancer {
    global: GlobalGenerator,
    /// Coarsest first.
    enhancers: Vec<Enhancer>,
    out: nn::Conv2D,
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
                    front: conv(&p / "front", config.input_nc, c, 7, 1, 0),
                    down: conv(&p / "down", c, 2 * c, 3, 2, 1),
                    blocks: (0..config.n_blocks_local)
                        .map(|i| ResnetBlock::new(&p / format!("block{i}"), 2 * c))
                        .collect(),
                    up: upconv(&p / "up", 2 * c, c),
                }
            })
            .collect();
        Self {
            global,
            enhancers,
            out: conv(p / "out", config.ngf, config.output_nc, 7, 1, 0),
        }
    }
}

impl Module for LocalEnhancer {
    fn forward(&self, x: &Tensor) -> Tensor {
        // inputs[k]: the input average-pooled k times.
        let mut inputs = vec![x.shallow_clone()];
        for _ in 0..self.enhancers.len() {
            let next = downsample(inputs.last().expect("at least the input"));
            inputs.push(next);
        }
        let mut h = self
            .global
            .features(inputs.last().expect("at least the input"));
        for (enhancer, input) in self.enhancers.iter().zip(inputs.iter().rev().skip(1)) {
            let local = norm_relu(&enhancer.front.forward(&reflect(input, 3)));
            let local = norm_relu(&enhancer.down.forward(&local));
            h = local + h;
            for block in &enhancer.blocks {
                h = block.forward(&h);
            }
            h = norm_relu(&enhancer.up.forward(&h));
        }
        self.out.forward(&reflect(&h, 3)).tanh()
    }
}
