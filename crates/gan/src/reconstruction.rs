//! Reconstruction losses (docs/architecture.md section 5b): L1 between generated and real frames,
//! weighted more near the stick figure, where the person is, and the VGG perceptual
//! loss on a chosen set of layers. They place the body before any adversarial term.

use dancenow_nn::tch::{self, Kind, Tensor};

use crate::config::VggTerm;
use crate::losses::LAMBDA_FEAT;
use crate::networks::{Vgg16, VggLayer};

/// A stick-figure pixel darker than this (in [-1, 1]) in any channel is drawn on: the
/// canvas is white (1.0), and the palette's lightest limb colours stay well below.
const DRAWN_BELOW: f64 = 0.9;
/// The body region reaches this fraction of the image height past the drawn figure: the
/// stick figure's lines run along the limbs' middles, and a torso or a sleeve is wider.
const BODY_MARGIN: f64 = 1.0 / 20.0;

/// `[N, 1, H, W]`: 1 where the stick figures `figures` (`[N, 3, H, W]`, white canvas)
/// are drawn or within [`BODY_MARGIN`] of it, 0 elsewhere.
pub fn body_region(figures: &Tensor) -> Tensor {
    tch::no_grad(|| {
        let (min, _) = figures.min_dim(1, true);
        let drawn = min.lt(DRAWN_BELOW).to_kind(Kind::Float);
        let height = figures.size()[2];
        let radius = ((height as f64 * BODY_MARGIN).round() as i64).max(1);
        let k = 2 * radius + 1;
        // A square dilation as two separable max-pools: 2k instead of k^2 per pixel.
        drawn
            .max_pool2d([k, 1], [1, 1], [radius, 0], [1, 1], false)
            .max_pool2d([1, k], [1, 1], [0, radius], [1, 1], false)
    })
}

/// The L1 loss's per-pixel weights for `figures`: `body_weight` in the body region,
/// 1 elsewhere, scaled to average 1 over each image so that the loss stays on the scale
/// of a plain L1 whatever the person's size.
pub fn l1_weights(figures: &Tensor, body_weight: f64) -> Tensor {
    let region = body_region(figures);
    let weights = region * (body_weight - 1.0) + 1.0;
    let mean = weights.mean_dim(&[2i64, 3][..], true, Kind::Float);
    weights / mean
}

/// The mean of `weights` x |`fake` - `real`| (`weights` broadcast over channels; `None`:
/// plain L1).
pub fn weighted_l1(fake: &Tensor, real: &Tensor, weights: Option<&Tensor>) -> Tensor {
    let diff = (fake - real.detach()).abs();
    match weights {
        Some(w) => (diff * w).mean(Kind::Float),
        None => diff.mean(Kind::Float),
    }
}

/// The VGG loss on `terms`: the weighted L1 between the layers' activations on generated
/// and on real images, times pix2pixHD's `LAMBDA_FEAT`. The real images' activations are
/// computed without a graph (they are constants). With pix2pixHD's five terms this is
/// [`crate::losses::vgg`].
pub fn vgg_loss(vgg: &Vgg16, fake: &Tensor, real: &Tensor, terms: &[VggTerm]) -> Tensor {
    // One term per layer, in the network's order (a layer named twice: weights summed).
    let mut sorted: Vec<VggTerm> = Vec::with_capacity(terms.len());
    for term in terms {
        match sorted.iter_mut().find(|t| t.layer == term.layer) {
            Some(t) => t.weight += term.weight,
            None => sorted.push(*term),
        }
    }
    sorted.sort_by_key(|t| t.layer);
    let layers: Vec<VggLayer> = sorted.iter().map(|t| t.layer).collect();
    let on_real = tch::no_grad(|| vgg.features(real, &layers));
    let on_fake = vgg.features(fake, &layers);
    on_fake
        .iter()
        .zip(&on_real)
        .zip(&sorted)
        .map(|((f, r), t)| (f - r).abs().mean(Kind::Float) * t.weight)
        .fold(Tensor::zeros([], (Kind::Float, fake.device())), |a, l| {
            a + l
        })
        * LAMBDA_FEAT
}
