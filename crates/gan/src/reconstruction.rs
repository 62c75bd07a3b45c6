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
        dilate(&drawn, radius)
    })
}

/// A wrist's joint disc is drawn in its own colour (`pose::render::BODY_COLORS`); a figure
/// pixel this close to it in every channel (in [-1, 1]) is taken for the wrist.
const WRIST_COLOR_TOLERANCE: f64 = 0.25;
/// The hand region reaches this fraction of the image height around a wrist's disc: a hand,
/// or a glove, is about a tenth of a person's height, and starts at the wrist.
const HAND_RADIUS: f64 = 1.0 / 16.0;

/// `[N, 1, H, W]`: 1 within [`HAND_RADIUS`] of the wrists drawn in the stick figures
/// `figures`, 0 elsewhere. Hands are small and fast, so plain L1 settles for the sleeve's
/// colour there; gloves and fingers need the extra weight.
pub fn hand_region(figures: &Tensor) -> Tensor {
    use dancenow_pose::body::{L_WRIST, R_WRIST};
    use dancenow_pose::render::BODY_COLORS;
    tch::no_grad(|| {
        let device = figures.device();
        let wrists = [R_WRIST, L_WRIST]
            .iter()
            .map(|&joint| {
                let color: Vec<f32> = BODY_COLORS[joint]
                    .iter()
                    .map(|&c| c as f32 / 127.5 - 1.0)
                    .collect();
                let color = Tensor::from_slice(&color).to(device).view([1, 3, 1, 1]);
                let (distance, _) = (figures - color).abs().max_dim(1, true);
                distance.lt(WRIST_COLOR_TOLERANCE).to_kind(Kind::Float)
            })
            .reduce(|a, b| a.maximum(&b))
            .expect("two wrists");
        let radius = ((figures.size()[2] as f64 * HAND_RADIUS).round() as i64).max(1);
        dilate(&wrists, radius)
    })
}

/// A square dilation of a `[N, 1, H, W]` mask by `radius`, as two separable max-pools:
/// 2k instead of k^2 per pixel.
fn dilate(mask: &Tensor, radius: i64) -> Tensor {
    let k = 2 * radius + 1;
    mask.max_pool2d([k, 1], [1, 1], [radius, 0], [1, 1], false)
        .max_pool2d([1, k], [1, 1], [0, radius], [1, 1], false)
}

/// The L1 loss's per-pixel weights for `figures`: `body_weight` in the body region,
/// times `hand_weight` in the hands' region, 1 elsewhere, scaled to average 1 over each
/// image so that the loss stays on the scale of a plain L1 whatever the person's size.
pub fn l1_weights(figures: &Tensor, body_weight: f64, hand_weight: f64) -> Tensor {
    let body = body_region(figures) * (body_weight - 1.0) + 1.0;
    let weights = if hand_weight == 1.0 {
        body
    } else {
        body * (hand_region(figures) * (hand_weight - 1.0) + 1.0)
    };
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

#[cfg(test)]
mod tests {
    use dancenow_nn::tch::Device;
    use dancenow_pose::render::StickFigure;
    use dancenow_pose::{body, Frame, Keypoint, Person};

    use super::*;
    use crate::images::to_tensor;

    /// A standing person's stick figure at 128x128, as `prepare` draws it.
    fn figure() -> Tensor {
        let mut person = Person::default();
        let points = [
            (body::NOSE, 64.0, 20.0),
            (body::NECK, 64.0, 32.0),
            (body::R_SHOULDER, 52.0, 32.0),
            (body::R_ELBOW, 46.0, 48.0),
            (body::R_WRIST, 42.0, 64.0),
            (body::L_SHOULDER, 76.0, 32.0),
            (body::L_ELBOW, 82.0, 48.0),
            (body::L_WRIST, 86.0, 64.0),
            (body::MID_HIP, 64.0, 68.0),
            (body::R_HIP, 58.0, 68.0),
            (body::R_KNEE, 58.0, 90.0),
            (body::R_ANKLE, 58.0, 112.0),
            (body::L_HIP, 70.0, 68.0),
            (body::L_KNEE, 70.0, 90.0),
            (body::L_ANKLE, 70.0, 112.0),
        ];
        for (joint, x, y) in points {
            person.body[joint] = Keypoint::new(x, y, 0.9);
        }
        let frame = Frame {
            people: vec![person],
        };
        to_tensor(&StickFigure::render(&frame, 128, 128), Device::Cpu)
    }

    fn at(mask: &Tensor, x: i64, y: i64) -> f64 {
        mask.double_value(&[0, 0, y, x])
    }

    #[test]
    fn the_hand_region_surrounds_both_wrists_and_nothing_else() {
        let hands = hand_region(&figure());
        for (x, y) in [(42, 64), (86, 64), (42, 70), (86, 58)] {
            assert_eq!(at(&hands, x, y), 1.0, "({x}, {y}) is by a wrist");
        }
        for (x, y) in [(52, 32), (64, 20), (58, 112), (64, 68), (46, 44)] {
            assert_eq!(at(&hands, x, y), 0.0, "({x}, {y}) is far from the wrists");
        }
        let body = body_region(&figure());
        assert_eq!(at(&body, 64, 68), 1.0);
        assert_eq!(at(&body, 10, 10), 0.0);
    }

    #[test]
    fn l1_weights_favour_hands_then_body_and_average_one() {
        let weights = l1_weights(&figure(), 4.0, 4.0);
        let mean = weights.mean(Kind::Float).double_value(&[]);
        assert!((mean - 1.0).abs() < 1e-5, "{mean}");
        let (hand, torso, wall) = (
            at(&weights, 42, 64),
            at(&weights, 64, 50),
            at(&weights, 5, 5),
        );
        assert!((hand / torso - 4.0).abs() < 1e-5, "{hand} {torso}");
        assert!((torso / wall - 4.0).abs() < 1e-5, "{torso} {wall}");
        let plain = l1_weights(&figure(), 4.0, 1.0);
        assert!((at(&plain, 42, 64) / at(&plain, 64, 50) - 1.0).abs() < 1e-5);
    }
}
