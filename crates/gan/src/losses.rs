//! pix2pixHD's losses (docs/architecture.md section 5): LSGAN, discriminator feature matching, and
//! the VGG perceptual loss.

use dancenow_nn::tch::{Kind, Tensor};

use crate::networks::Vgg16;

/// Weight of feature matching and of the VGG loss against the adversarial loss.
pub const LAMBDA_FEAT: f64 = 10.0;
/// pix2pixHD's weights of the five VGG slices, finest first.
pub const VGG_WEIGHTS: [f64; 5] = [1.0 / 32.0, 1.0 / 16.0, 1.0 / 8.0, 1.0 / 4.0, 1.0];

/// Each scale's patch scores: the last of its feature list.
fn scores(outputs: &[Vec<Tensor>]) -> impl Iterator<Item = &Tensor> {
    outputs.iter().filter_map(|features| features.last())
}

/// LSGAN: the mean squared distance of every scale's scores from `target` (1 real, 0 fake),
/// summed over scales.
pub fn lsgan(outputs: &[Vec<Tensor>], target: f64) -> Tensor {
    scores(outputs)
        .map(|s| (s - target).square().mean(Kind::Float))
        .reduce(|a, b| a + b)
        .expect("at least one scale")
}

/// The discriminator's loss: half its LSGAN loss on real pairs plus half on generated ones.
pub fn discriminator_loss(on_real: &[Vec<Tensor>], on_fake: &[Vec<Tensor>]) -> Tensor {
    (lsgan(on_real, 1.0) + lsgan(on_fake, 0.0)) * 0.5
}

/// Feature matching: L1 between the discriminator's intermediate features on generated
/// and on real pairs (the real ones detached), weighted (4 / (n_layers + 1)) (1 / num_D)
/// `LAMBDA_FEAT` as pix2pixHD weighs them.
pub fn feature_matching(on_fake: &[Vec<Tensor>], on_real: &[Vec<Tensor>]) -> Tensor {
    let num_d = on_fake.len() as f64;
    let mut total = Tensor::zeros([], (Kind::Float, on_fake[0][0].device()));
    for (fake, real) in on_fake.iter().zip(on_real) {
        // n_layers + 2 outputs per scale; the last (the scores) is not matched.
        let n_layers = (fake.len() - 2) as f64;
        let weight = 4.0 / (n_layers + 1.0) / num_d * LAMBDA_FEAT;
        for (f, r) in fake.iter().zip(real).take(fake.len() - 1) {
            total += (f - r.detach()).abs().mean(Kind::Float) * weight;
        }
    }
    total
}

/// The VGG loss: weighted L1 between the slices of generated and real images (real
/// detached), times `LAMBDA_FEAT`.
pub fn vgg(vgg: &Vgg16, fake: &Tensor, real: &Tensor) -> Tensor {
    let (f, r) = (vgg.slices(fake), vgg.slices(real));
    f.iter()
        .zip(&r)
        .zip(VGG_WEIGHTS)
        .map(|((f, r), w)| (f - r.detach()).abs().mean(Kind::Float) * w)
        .reduce(|a, b| a + b)
        .expect("five slices")
        * LAMBDA_FEAT
}
