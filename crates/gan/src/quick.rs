//! The `quick` preset (docs/architecture.md section 5b): a U-Net that learns a recognisable
//! person in minutes of CPU, painting the person and an alpha over the target's plate. The
//! body by reconstruction (L1 weighted on the body, VGG on early layers), one frame a
//! step, single frames first and pairs for the temporal smoothing last; then the face GAN
//! as the paper trains it.

use crate::config::{
    DiscriminatorConfig, FaceConfig, GeneratorConfig, GeneratorKind, ModelConfig, Stage,
    StageConfig, TrainingConfig, VggTerm,
};
use crate::networks::{Norm, VggLayer};

/// The body stage's steps, and the step its examples become pairs of frames (before it,
/// single frames at half the cost place the body; the pairs then teach the temporal
/// smoothing). The body stage stays reconstruction only: measured on the dancer, the
/// adversarial terms after 170 reconstruction steps cost more than they gave within
/// minutes (docs/performance.md). About 10 minutes on 2 CPU cores at 256x256.
const BODY_STEPS: u64 = 1200;
const TEMPORAL_FROM: u64 = 1000;
/// The face GAN's steps, the paper's residual face generator on the body's output.
const FACE_STEPS: u64 = 60;

/// Adam's rate: reconstruction losses take 1e-3 (the U-Net experiment of docs/architecture.md section 5b),
/// five times pix2pixHD's 2e-4.
const LEARNING_RATE: f64 = 1e-3;

/// Examples per step: one. On 2 cores four steps of one frame place the body better than
/// one step of four at the same cost (docs/performance.md).
const BATCH_SIZE: u64 = 1;

/// L1 weight: pix2pixHD's lambda (10), as its VGG and feature-matching terms.
const L1_WEIGHT: f64 = 10.0;
/// Pixels near the stick figure count this much more than the background in L1.
const L1_BODY_WEIGHT: f64 = 4.0;
/// Pixels near the wrists count this much more again: without it the gloves fade into
/// the sleeves (docs/performance.md).
const L1_HAND_WEIGHT: f64 = 4.0;

/// How far from the stick figure the person may show, as a share of the frame height:
/// past the alpha's teaching neighbourhood (`composite::FIGURE_RADIUS_OF_HEIGHT`), so
/// that only the halo on poses the target never made is cut (docs/performance.md).
const ALPHA_REACH: f64 = 0.1;

/// The VGG layers compared, early ones only (relu1_2 .. relu3_3, as in the experiment),
/// weighted as pix2pixHD weights its finer layers.
const VGG_TERMS: [(VggLayer, f64); 3] = [
    (VggLayer::Relu1_2, 1.0 / 16.0),
    (VggLayer::Relu2_2, 1.0 / 8.0),
    (VggLayer::Relu3_3, 1.0 / 4.0),
];

/// The preset's model for `width` x `height` images; `tiny` for tests.
pub(crate) fn config(width: u32, height: u32, tiny: bool) -> ModelConfig {
    let generator = GeneratorConfig {
        kind: GeneratorKind::UNet,
        ngf: if tiny { 8 } else { 32 },
        n_downsampling: if tiny { 3 } else { 5 },
        n_blocks: 0,
        n_local_enhancers: 0,
        max_channels: if tiny { 32 } else { 256 },
        norm: Norm::Instance,
        // The person and an alpha over the plate: on a cluttered room far better than
        // painting the whole frame, on a plain backdrop as good (docs/performance.md).
        composite: true,
        alpha_reach: ALPHA_REACH,
        ..GeneratorConfig::default()
    };
    let discriminator = DiscriminatorConfig {
        ndf: if tiny { 8 } else { 32 },
        n_layers: if tiny { 2 } else { 3 },
        num_d: 1,
        ..DiscriminatorConfig::default()
    };
    let face = FaceConfig::sized(tiny);
    let stages = vec![
        StageConfig {
            adversarial_from: BODY_STEPS,
            temporal_from: TEMPORAL_FROM,
            ..StageConfig::new(Stage::Global, BODY_STEPS)
        },
        StageConfig::new(Stage::Face, FACE_STEPS),
    ];
    ModelConfig {
        preset: if tiny { "quick-tiny" } else { "quick" }.into(),
        temporal: false,
        width,
        height,
        generator,
        discriminator,
        face,
        training: TrainingConfig {
            seed: 0,
            lr: LEARNING_RATE,
            beta1: 0.5,
            beta2: 0.999,
            vgg_weight: 1.0,
            vgg_layers: VGG_TERMS
                .iter()
                .map(|&(layer, weight)| VggTerm { layer, weight })
                .collect(),
            l1_weight: L1_WEIGHT,
            l1_body_weight: L1_BODY_WEIGHT,
            l1_hand_weight: L1_HAND_WEIGHT,
            batch_size: BATCH_SIZE,
            stages,
            sample_every: 100,
            checkpoint_every: 100,
        },
    }
    .with_temporal(true)
}
