//! pix2pixHD's `NLayerDiscriminator`, a PatchGAN: conv4 stride 2 (ndf) and LeakyReLU(0.2),
//! `n_layers - 1` more stride-2 conv4s doubling the channels (capped at 512) with
//! instance norm, one stride-1 conv4, and a stride-1 conv4 to one channel. Padding 2, as
//! pix2pixHD pads. With 3 layers each output sees a 70x70 patch (docs/architecture.md section 5).

use dancenow_nn::tch::nn::{self, Module};
use dancenow_nn::tch::Tensor;

use super::layers::{conv, instance_norm, leaky_relu};

/// pix2pixHD's kernel and padding.
const KERNEL: i64 = 4;
const PADDING: i64 = 2;
const MAX_CHANNELS: i64 = 512;

#[derive(Debug)]
pub struct NLayerDiscriminator {
    layers: Vec<nn::Conv2D>,
}

impl NLayerDiscriminator {
    pub fn new(p: &nn::Path, input_nc: i64, ndf: i64, n_layers: i64) -> Self {
        let mut layers = vec![conv(p / "layer0", input_nc, ndf, KERNEL, 2, PADDING)];
        let mut channels = ndf;
        for n in 1..=n_layers {
            let next = (channels * 2).min(MAX_CHANNELS);
            let stride = if n < n_layers { 2 } else { 1 };
            layers.push(conv(
                p / format!("layer{n}"),
                channels,
                next,
                KERNEL,
                stride,
                PADDING,
            ));
            channels = next;
        }
        layers.push(conv(
            p / format!("layer{}", n_layers + 1),
            channels,
            1,
            KERNEL,
            1,
            PADDING,
        ));
        Self { layers }
    }

    /// Every layer's output, the last being the patch scores (no sigmoid: LSGAN). The
    /// intermediate ones are what feature matching compares.
    pub fn features(&self, x: &Tensor) -> Vec<Tensor> {
        let last = self.layers.len() - 1;
        let mut outputs: Vec<Tensor> = Vec::with_capacity(self.layers.len());
        for (i, layer) in self.layers.iter().enumerate() {
            let input = outputs.last().unwrap_or(x);
            let h = layer.forward(input);
            let h = match i {
                0 => leaky_relu(&h),
                i if i == last => h,
                _ => leaky_relu(&instance_norm(&h)),
            };
            outputs.push(h);
        }
        outputs
    }
}

impl Module for NLayerDiscriminator {
    fn forward(&self, x: &Tensor) -> Tensor {
        self.features(x).pop().expect("at least two layers")
    }
}
