//! pix2pixHD's `MultiscaleDiscriminator`: `num_D` PatchGANs, the first on the input and
//! each next one on the input average-pooled once more.

use dancenow_nn::tch::nn;
use dancenow_nn::tch::Tensor;

use super::layers::downsample;
use super::nlayer_discriminator::NLayerDiscriminator;
use crate::config::DiscriminatorConfig;

#[derive(Debug)]
pub struct MultiscaleDiscriminator {
    /// Finest scale first.
    scales: Vec<NLayerDiscriminator>,
}

impl MultiscaleDiscriminator {
    pub fn new(p: &nn::Path, config: &DiscriminatorConfig) -> Self {
        let scales = (0..config.num_d)
            .map(|i| {
                NLayerDiscriminator::new(
                    &(p / format!("scale{i}")),
                    config.input_nc,
                    config.ndf,
                    config.n_layers,
                )
            })
            .collect();
        Self { scales }
    }

    /// Per scale, finest first: every layer's output (the last is the patch scores).
    pub fn forward(&self, x: &Tensor) -> Vec<Vec<Tensor>> {
        let mut input = x.shallow_clone();
        let mut out = Vec::with_capacity(self.scales.len());
        for (i, scale) in self.scales.iter().enumerate() {
            if i > 0 {
                input = downsample(&input);
            }
            out.push(scale.features(&input));
        }
        out
    }
}
