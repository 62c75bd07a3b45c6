//! The networks' hyperparameters, named as pix2pixHD names them, and the model
//! folder's `config.toml`: networks, image size and training schedule, with presets.

use serde::{Deserialize, Serialize};

use crate::networks::{Norm, UNetConfig, VggLayer};

/// Which network makes the body frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GeneratorKind {
    /// The paper's: pix2pixHD's global generator (and local enhancer).
    #[default]
    Pix2PixHD,
    /// A U-Net with skips (`networks::UNet`): places the body within minutes of CPU.
    UNet,
}

/// The body generator's options, named as pix2pixHD names them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeneratorConfig {
    /// The network; absent in files older than the U-Net: pix2pixHD.
    #[serde(default)]
    pub kind: GeneratorKind,
    /// Channels in: the stick figure's 3, plus 3 for the previous frame with temporal
    /// smoothing.
    pub input_nc: i64,
    pub output_nc: i64,
    /// Filters in the first layer of the (finest) generator.
    pub ngf: i64,
    /// Stride-2 convolutions in the global generator (`n_downsample_global`).
    pub n_downsampling: i64,
    /// Residual blocks in the global generator (`n_blocks_global`).
    pub n_blocks: i64,
    /// Local enhancers around the global generator (0 for the global stage).
    pub n_local_enhancers: i64,
    /// Residual blocks in each local enhancer (`n_blocks_local`).
    pub n_blocks_local: i64,
    /// U-Net only: no level has more channels than this.
    #[serde(default = "default_max_channels")]
    pub max_channels: i64,
    /// U-Net only: the normalization after each convolution.
    #[serde(default)]
    pub norm: Norm,
    /// U-Net only: the network paints the person and an alpha, composed over the
    /// target's background plate (`alpha * person + (1 - alpha) * plate`), instead of
    /// painting the whole frame. Absent in older files: painting.
    #[serde(default)]
    pub composite: bool,
    /// Compositing only: how far from the drawn stick figure, as a share of the frame
    /// height, the person may show; beyond it the output is the plate (0: anywhere).
    /// Keeps a soft halo of alpha off the plate on poses the target never made.
    #[serde(default)]
    pub alpha_reach: f64,
}

/// The U-Net's channel cap when a file does not say: pix2pix's `UnetGenerator` caps at
/// 8 ngf = 512.
fn default_max_channels() -> i64 {
    512
}

impl Default for GeneratorConfig {
    /// pix2pixHD's defaults: ngf 64, 4 downsamplings, 9 blocks, global stage.
    fn default() -> Self {
        Self {
            kind: GeneratorKind::Pix2PixHD,
            input_nc: 3,
            output_nc: 3,
            ngf: 64,
            n_downsampling: 4,
            n_blocks: 9,
            n_local_enhancers: 0,
            n_blocks_local: 3,
            max_channels: default_max_channels(),
            norm: Norm::Instance,
            composite: false,
            alpha_reach: 0.0,
        }
    }
}

impl GeneratorConfig {
    /// For tests: a few thousand parameters.
    pub fn tiny() -> Self {
        Self {
            ngf: 8,
            n_downsampling: 2,
            n_blocks: 2,
            ..Self::default()
        }
    }

    /// For CPUs (docs/architecture.md section 5): ngf 32, 3 downsamplings, 6 blocks.
    pub fn small() -> Self {
        Self {
            ngf: 32,
            n_downsampling: 3,
            n_blocks: 6,
            ..Self::default()
        }
    }

    /// The paper's: pix2pixHD's defaults.
    pub fn paper() -> Self {
        Self::default()
    }

    /// The U-Net options these settings give (`n_blocks` at the bottom, an alpha channel
    /// when compositing).
    pub fn unet(&self) -> UNetConfig {
        UNetConfig {
            input_nc: self.input_nc,
            output_nc: self.output_nc,
            ngf: self.ngf,
            n_downsampling: self.n_downsampling,
            max_channels: self.max_channels,
            n_blocks: self.n_blocks,
            norm: self.norm,
            alpha: self.composite,
        }
    }
}

/// pix2pixHD's multi-scale discriminator options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscriminatorConfig {
    pub input_nc: i64,
    /// Filters in the first layer.
    pub ndf: i64,
    /// Stride-2 layers in each PatchGAN (3 gives a 70x70 receptive field).
    pub n_layers: i64,
    /// PatchGANs, each on a further 2x average-pooled input.
    pub num_d: i64,
}

impl Default for DiscriminatorConfig {
    /// pix2pixHD's defaults on (stick figure, image) pairs: ndf 64, 3 layers, 2 scales.
    fn default() -> Self {
        Self {
            input_nc: 6,
            ndf: 64,
            n_layers: 3,
            num_d: 2,
        }
    }
}

/// The face GAN (paper, section 3.3): a residual generator on the face crop of the stick
/// figure and of the generated frame, and a PatchGAN on face crops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaceConfig {
    pub ngf: i64,
    pub n_downsampling: i64,
    pub n_blocks: i64,
    pub ndf: i64,
    /// Stride-2 layers of the PatchGAN (3: 70x70).
    pub n_layers: i64,
}

impl FaceConfig {
    /// The face networks of the test-sized presets, or the paper's.
    pub fn sized(tiny: bool) -> Self {
        if tiny {
            Self {
                ngf: 8,
                n_blocks: 1,
                ndf: 8,
                ..Self::default()
            }
        } else {
            Self::default()
        }
    }
}

impl Default for FaceConfig {
    /// The paper's: 3 downsamplings, 5 residual blocks, a 70x70 PatchGAN.
    fn default() -> Self {
        Self {
            ngf: 32,
            n_downsampling: 3,
            n_blocks: 5,
            ndf: 64,
            n_layers: 3,
        }
    }
}

/// A training stage (docs/architecture.md section 5): the global generator at the coarse size, then
/// the local enhancer at full size, then the face GAN on the body model's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Global,
    Local,
    Face,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Global => "global",
            Stage::Local => "local",
            Stage::Face => "face",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Stage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "global" => Ok(Stage::Global),
            "local" => Ok(Stage::Local),
            "face" => Ok(Stage::Face),
            _ => Err(format!("unknown stage {s:?} (global, local or face)")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageConfig {
    pub stage: Stage,
    pub steps: u64,
    /// The step from which the discriminator trains and the generator gets its
    /// adversarial and feature-matching losses; before it, reconstruction alone (L1 and
    /// VGG) places the body. 0, the default, is pix2pixHD's: adversarial from the start.
    #[serde(default)]
    pub adversarial_from: u64,
    /// With temporal smoothing, the step from which examples are pairs of consecutive
    /// frames (the second generated after the first); before it, single frames generated
    /// after a black one, at about half the cost. At most `adversarial_from`: the
    /// discriminator judges pairs. 0, the default, is the paper's: pairs throughout.
    #[serde(default)]
    pub temporal_from: u64,
}

impl StageConfig {
    /// `steps` of `stage`, adversarial and (with temporal smoothing) on pairs of frames
    /// from the start.
    pub fn new(stage: Stage, steps: u64) -> Self {
        Self {
            stage,
            steps,
            adversarial_from: 0,
            temporal_from: 0,
        }
    }

    /// The stage with `steps` steps, its switch points (adversarial terms, pairs of
    /// frames) kept at the same fraction of the stage, so a longer or shorter run follows
    /// the same schedule.
    pub fn with_steps(self, steps: u64) -> Self {
        let scale = |at: u64| {
            if at >= self.steps {
                // "Never in this stage" stays never.
                steps
            } else {
                (at as f64 * steps as f64 / self.steps.max(1) as f64).round() as u64
            }
        };
        Self {
            steps,
            adversarial_from: scale(self.adversarial_from),
            temporal_from: scale(self.temporal_from),
            ..self
        }
    }

    /// Whether step `step` (from 0) trains the discriminator and the adversarial terms.
    pub fn adversarial_at(&self, step: u64) -> bool {
        step >= self.adversarial_from
    }

    /// Whether step `step` (from 0) of a temporal model trains on pairs of frames.
    pub fn pairs_at(&self, step: u64) -> bool {
        step >= self.temporal_from
    }
}

/// One layer of the VGG perceptual loss and its weight.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VggTerm {
    pub layer: VggLayer,
    pub weight: f64,
}

/// pix2pixHD's VGG loss: relu1_1 .. relu5_1 weighted 1/32 .. 1 (`losses::VGG_WEIGHTS`),
/// what files older than the choice of layers used.
pub fn pix2pixhd_vgg_terms() -> Vec<VggTerm> {
    [
        VggLayer::Relu1_1,
        VggLayer::Relu2_1,
        VggLayer::Relu3_1,
        VggLayer::Relu4_1,
        VggLayer::Relu5_1,
    ]
    .into_iter()
    .zip(crate::losses::VGG_WEIGHTS)
    .map(|(layer, weight)| VggTerm { layer, weight })
    .collect()
}

fn one() -> u64 {
    1
}

fn unit_weight() -> f64 {
    1.0
}

/// How training runs: pix2pixHD's Adam settings and schedule, and how often to report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingConfig {
    pub seed: u64,
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    /// Weight of the VGG loss relative to pix2pixHD's (1 = pix2pixHD; 0 turns it off).
    pub vgg_weight: f64,
    /// The VGG layers compared and their weights (before `vgg_weight` and pix2pixHD's
    /// factor 10); absent in older files: pix2pixHD's five.
    #[serde(default = "pix2pixhd_vgg_terms")]
    pub vgg_layers: Vec<VggTerm>,
    /// Weight of the L1 distance between generated and real frames (0: pix2pixHD, none).
    #[serde(default)]
    pub l1_weight: f64,
    /// How much more a pixel near the stick figure counts in the L1 loss than one of the
    /// background (1: all alike).
    #[serde(default = "unit_weight")]
    pub l1_body_weight: f64,
    /// How much more a pixel near the stick figure's wrists counts in the L1 loss, on top
    /// of `l1_body_weight` (1: no more; hands and gloves are small and move fast).
    #[serde(default = "unit_weight")]
    pub l1_hand_weight: f64,
    /// Examples per step (1: pix2pixHD's).
    #[serde(default = "one")]
    pub batch_size: u64,
    pub stages: Vec<StageConfig>,
    pub sample_every: u64,
    pub checkpoint_every: u64,
}

/// Everything that defines a model: `config.toml` in the model folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub preset: String,
    /// Temporal smoothing (paper, section 3.2): the generator also sees the previous
    /// generated frame, and the discriminator judges pairs of consecutive frames. Absent
    /// in files older than it: off.
    #[serde(default)]
    pub temporal: bool,
    /// The output size, that of the training images.
    pub width: u32,
    pub height: u32,
    pub generator: GeneratorConfig,
    pub discriminator: DiscriminatorConfig,
    /// Used when the schedule has a face stage.
    #[serde(default)]
    pub face: FaceConfig,
    pub training: TrainingConfig,
}

/// Named sizes: `tiny` for tests, `small` for CPUs, `paper` for GPUs (pix2pixHD's
/// generator and schedule), and `quick`: a U-Net that learns a recognisable person in
/// minutes of CPU (docs/architecture.md section 5b), `quick-tiny` its test-sized version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    Tiny,
    Small,
    Paper,
    Quick,
    QuickTiny,
}

impl std::str::FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "tiny" => Ok(Preset::Tiny),
            "small" => Ok(Preset::Small),
            "paper" => Ok(Preset::Paper),
            "quick" => Ok(Preset::Quick),
            "quick-tiny" => Ok(Preset::QuickTiny),
            _ => Err(format!(
                "unknown preset {s:?} (tiny, small, paper, quick or quick-tiny)"
            )),
        }
    }
}

impl Preset {
    pub fn name(self) -> &'static str {
        match self {
            Preset::Tiny => "tiny",
            Preset::Small => "small",
            Preset::Paper => "paper",
            Preset::Quick => "quick",
            Preset::QuickTiny => "quick-tiny",
        }
    }

    /// The preset's model for images of `width` x `height`.
    pub fn config(self, width: u32, height: u32) -> ModelConfig {
        let size = match self {
            Preset::Quick => return crate::quick::config(width, height, false),
            Preset::QuickTiny => return crate::quick::config(width, height, true),
            Preset::Tiny => Pix2PixHDSize::Tiny,
            Preset::Small => Pix2PixHDSize::Small,
            Preset::Paper => Pix2PixHDSize::Paper,
        };
        size.config(self.name(), width, height)
    }
}

/// The pix2pixHD presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pix2PixHDSize {
    Tiny,
    Small,
    Paper,
}

impl Pix2PixHDSize {
    fn config(self, name: &str, width: u32, height: u32) -> ModelConfig {
        let stage = StageConfig::new;
        let (generator, discriminator, stages) = match self {
            Pix2PixHDSize::Tiny => (
                GeneratorConfig::tiny(),
                DiscriminatorConfig {
                    ndf: 8,
                    n_layers: 2,
                    num_d: 1,
                    ..DiscriminatorConfig::default()
                },
                vec![stage(Stage::Global, 300), stage(Stage::Face, 100)],
            ),
            Pix2PixHDSize::Small => (
                GeneratorConfig {
                    n_local_enhancers: 1,
                    ..GeneratorConfig::small()
                },
                DiscriminatorConfig {
                    ndf: 32,
                    ..DiscriminatorConfig::default()
                },
                vec![
                    stage(Stage::Global, 3000),
                    stage(Stage::Local, 2000),
                    stage(Stage::Face, 1000),
                ],
            ),
            Pix2PixHDSize::Paper => (
                GeneratorConfig {
                    n_local_enhancers: 1,
                    ..GeneratorConfig::paper()
                },
                DiscriminatorConfig::default(),
                vec![
                    stage(Stage::Global, 100_000),
                    stage(Stage::Local, 50_000),
                    stage(Stage::Face, 20_000),
                ],
            ),
        };
        ModelConfig {
            preset: name.into(),
            temporal: false,
            width,
            height,
            generator,
            discriminator,
            face: FaceConfig::sized(self == Pix2PixHDSize::Tiny),
            training: TrainingConfig {
                seed: 0,
                lr: 2e-4,
                beta1: 0.5,
                beta2: 0.999,
                vgg_weight: 1.0,
                vgg_layers: pix2pixhd_vgg_terms(),
                l1_weight: 0.0,
                l1_body_weight: 1.0,
                l1_hand_weight: 1.0,
                batch_size: 1,
                stages,
                sample_every: if self == Pix2PixHDSize::Tiny {
                    100
                } else {
                    200
                },
                checkpoint_every: if self == Pix2PixHDSize::Tiny {
                    100
                } else {
                    500
                },
            },
        }
        .with_temporal(true)
    }
}

/// Channels of a stick figure, and of a frame.
const FIGURE_CHANNELS: i64 = 3;
const IMAGE_CHANNELS: i64 = 3;

impl ModelConfig {
    /// This config with temporal smoothing on or off, and the channels that go with it.
    pub fn with_temporal(mut self, temporal: bool) -> Self {
        self.temporal = temporal;
        self.generator.input_nc = self.generator_input_nc();
        self.discriminator.input_nc = self.discriminator_input_nc();
        self
    }

    /// The stick figure, and the previous frame with temporal smoothing.
    fn generator_input_nc(&self) -> i64 {
        FIGURE_CHANNELS + if self.temporal { IMAGE_CHANNELS } else { 0 }
    }

    /// (stick figure, frame) for one frame, or for each of two consecutive frames.
    fn discriminator_input_nc(&self) -> i64 {
        (FIGURE_CHANNELS + IMAGE_CHANNELS) * self.frames_per_example() as i64
    }

    /// Frames the discriminator judges at once: 2 with temporal smoothing.
    pub fn frames_per_example(&self) -> usize {
        if self.temporal {
            2
        } else {
            1
        }
    }

    /// Each stage's image size: the global stage works at the output size halved once
    /// per local enhancer (when the schedule has a local stage).
    pub fn stage_size(&self, stage: Stage) -> (u32, u32) {
        // Clamped so that an unchecked config cannot shift past the width.
        let shift = match stage {
            Stage::Global if self.has_stage(Stage::Local) => self
                .generator
                .n_local_enhancers
                .clamp(0, MAX_LOCAL_ENHANCERS),
            _ => 0,
        };
        (self.width >> shift, self.height >> shift)
    }

    pub fn has_stage(&self, stage: Stage) -> bool {
        self.stage_schedule(stage).is_some()
    }

    /// `stage`'s place in the schedule (steps, switch points), when it has one.
    pub fn stage_schedule(&self, stage: Stage) -> Option<&StageConfig> {
        self.training.stages.iter().find(|s| s.stage == stage)
    }

    /// The generator options of a stage: the global stage before a local one has the
    /// local enhancer's inner width (ngf doubled per enhancer) and no enhancer itself. A
    /// U-Net is the same network in both stages, the global one at the coarse size.
    pub fn stage_generator(&self, stage: Stage) -> GeneratorConfig {
        match stage {
            Stage::Global | Stage::Local if self.generator.kind == GeneratorKind::UNet => {
                self.generator
            }
            Stage::Global if self.has_stage(Stage::Local) => GeneratorConfig {
                ngf: self.generator.ngf
                    << self
                        .generator
                        .n_local_enhancers
                        .clamp(0, MAX_LOCAL_ENHANCERS),
                n_local_enhancers: 0,
                ..self.generator
            },
            Stage::Global => GeneratorConfig {
                n_local_enhancers: 0,
                ..self.generator
            },
            Stage::Local => GeneratorConfig {
                n_local_enhancers: self.generator.n_local_enhancers.max(1),
                ..self.generator
            },
            // The face crop of the stick figure and of the generated frame in, a residual out.
            Stage::Face => GeneratorConfig {
                kind: GeneratorKind::Pix2PixHD,
                input_nc: FIGURE_CHANNELS + IMAGE_CHANNELS,
                output_nc: IMAGE_CHANNELS,
                ngf: self.face.ngf,
                n_downsampling: self.face.n_downsampling,
                n_blocks: self.face.n_blocks,
                n_local_enhancers: 0,
                n_blocks_local: 0,
                composite: false,
                ..self.generator
            },
        }
    }

    /// The discriminator options of a stage: the face's is one PatchGAN on (stick figure,
    /// face) crops.
    pub fn stage_discriminator(&self, stage: Stage) -> DiscriminatorConfig {
        match stage {
            Stage::Face => DiscriminatorConfig {
                input_nc: FIGURE_CHANNELS + IMAGE_CHANNELS,
                ndf: self.face.ndf,
                n_layers: self.face.n_layers,
                num_d: 1,
            },
            _ => self.discriminator,
        }
    }

    /// The last body stage of the schedule: the generator that makes whole frames.
    pub fn body_stage(&self) -> Stage {
        if self.has_stage(Stage::Local) {
            Stage::Local
        } else {
            Stage::Global
        }
    }

    /// The side of the square the face GAN works on: the face box of an image of this
    /// height, rounded up to what its downsamplings divide, and at least 32 pixels so
    /// that its PatchGAN sees a face, not a few pixels.
    pub fn face_side(&self) -> i64 {
        let unit = 1i64 << self.face.n_downsampling.clamp(0, MAX_DOWNSAMPLING);
        let side = i64::from(dancenow_pose::FaceBox::side_for_height(self.height)).max(32);
        (side + unit - 1) / unit * unit
    }

    /// Checks what a config file could get wrong, every field against its range before
    /// any size is computed from it: sizes the networks cannot take or that would not fit
    /// in memory, an empty or unknown schedule, rates out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let g = &self.generator;
        let d = &self.discriminator;
        let f = &self.face;
        let t = &self.training;
        in_range("width", self.width, 1..=MAX_IMAGE_SIDE)?;
        in_range("height", self.height, 1..=MAX_IMAGE_SIDE)?;
        if g.input_nc != self.generator_input_nc() || d.input_nc != self.discriminator_input_nc() {
            return Err(ConfigError::Channels {
                temporal: self.temporal,
                generator: self.generator_input_nc(),
                discriminator: self.discriminator_input_nc(),
                file_generator: g.input_nc,
                file_discriminator: d.input_nc,
            });
        }
        in_range(
            "generator.output_nc",
            g.output_nc,
            IMAGE_CHANNELS..=IMAGE_CHANNELS,
        )?;
        in_range("generator.ngf", g.ngf, 1..=MAX_FILTERS)?;
        in_range(
            "generator.n_downsampling",
            g.n_downsampling,
            0..=MAX_DOWNSAMPLING,
        )?;
        in_range("generator.n_blocks", g.n_blocks, 0..=MAX_BLOCKS)?;
        in_range(
            "generator.n_local_enhancers",
            g.n_local_enhancers,
            0..=MAX_LOCAL_ENHANCERS,
        )?;
        in_range("generator.n_blocks_local", g.n_blocks_local, 0..=MAX_BLOCKS)?;
        if !(g.alpha_reach.is_finite() && (0.0..=1.0).contains(&g.alpha_reach)) {
            return Err(out_of_range(
                "generator.alpha_reach",
                g.alpha_reach,
                "a share of the frame height from 0 (no limit) to 1",
            ));
        }
        if g.composite && g.kind != GeneratorKind::UNet {
            return Err(out_of_range(
                "generator.composite",
                true,
                "false with the pix2pixhd generator (only the U-Net has an alpha channel)",
            ));
        }
        in_range("discriminator.ndf", d.ndf, 1..=MAX_FILTERS)?;
        in_range(
            "discriminator.n_layers",
            d.n_layers,
            1..=MAX_PATCHGAN_LAYERS,
        )?;
        in_range("discriminator.num_D", d.num_d, 1..=MAX_DISCRIMINATORS)?;
        in_range("face.ngf", f.ngf, 1..=MAX_FILTERS)?;
        in_range(
            "face.n_downsampling",
            f.n_downsampling,
            0..=MAX_DOWNSAMPLING,
        )?;
        in_range("face.n_blocks", f.n_blocks, 0..=MAX_BLOCKS)?;
        in_range("face.ndf", f.ndf, 1..=MAX_FILTERS)?;
        in_range("face.n_layers", f.n_layers, 1..=MAX_PATCHGAN_LAYERS)?;

        // Both counts are in range now, so the shift is at most 11.
        let halvings = g.n_downsampling + g.n_local_enhancers;
        let factor = 1u32 << halvings;
        if !self.width.is_multiple_of(factor) || !self.height.is_multiple_of(factor) {
            return Err(ConfigError::NotDivisible {
                width: self.width,
                height: self.height,
                factor,
                n_downsampling: g.n_downsampling,
                n_local_enhancers: g.n_local_enhancers,
            });
        }

        let order: Vec<Stage> = t.stages.iter().map(|s| s.stage).collect();
        let known = [
            &[Stage::Global][..],
            &[Stage::Global, Stage::Local],
            &[Stage::Global, Stage::Face],
            &[Stage::Global, Stage::Local, Stage::Face],
        ];
        if !known.contains(&order.as_slice()) {
            return Err(ConfigError::Schedule { order });
        }
        if self.has_stage(Stage::Local) && g.n_local_enhancers < 1 {
            return Err(ConfigError::OutOfRange {
                field: "generator.n_local_enhancers".into(),
                value: g.n_local_enhancers.to_string(),
                valid: format!(
                    "between 1 and {MAX_LOCAL_ENHANCERS} when the schedule has a local stage"
                ),
            });
        }
        for s in &t.stages {
            in_range(
                &format!("training.stages ({}).steps", s.stage),
                s.steps,
                1..=MAX_STEPS,
            )?;
        }
        for (field, every) in [
            ("training.sample_every", t.sample_every),
            ("training.checkpoint_every", t.checkpoint_every),
        ] {
            if every == 0 {
                return Err(out_of_range(field, every, "at least 1"));
            }
        }
        if !(t.lr.is_finite() && t.lr > 0.0) {
            return Err(out_of_range("training.lr", t.lr, "a finite number > 0"));
        }
        for (field, beta) in [("training.beta1", t.beta1), ("training.beta2", t.beta2)] {
            if !(0.0..1.0).contains(&beta) {
                return Err(out_of_range(field, beta, "at least 0 and below 1"));
            }
        }
        if !(t.vgg_weight.is_finite() && t.vgg_weight >= 0.0) {
            return Err(out_of_range(
                "training.vgg_weight",
                t.vgg_weight,
                "a finite number >= 0 (0 turns the VGG loss off)",
            ));
        }
        self.validate_reconstruction()?;

        for s in &t.stages {
            let weights = generator_weights(&self.stage_generator(s.stage));
            if weights > MAX_GENERATOR_WEIGHTS {
                return Err(ConfigError::TooLarge {
                    stage: s.stage,
                    weights,
                });
            }
        }
        Ok(())
    }
}

impl ModelConfig {
    /// The U-Net's and the reconstruction losses' settings (docs/architecture.md section 5b).
    fn validate_reconstruction(&self) -> Result<(), ConfigError> {
        let (g, t) = (&self.generator, &self.training);
        in_range("generator.max_channels", g.max_channels, 1..=MAX_FILTERS)?;
        in_range("training.batch_size", t.batch_size, 1..=MAX_BATCH_SIZE)?;
        let weights = [
            ("training.l1_weight", t.l1_weight),
            ("training.l1_body_weight", t.l1_body_weight),
            ("training.l1_hand_weight", t.l1_hand_weight),
        ]
        .into_iter()
        .chain(
            t.vgg_layers
                .iter()
                .map(|v| ("training.vgg_layers.weight", v.weight)),
        );
        for (field, weight) in weights {
            if !(weight.is_finite() && weight >= 0.0) {
                return Err(out_of_range(field, weight, "a finite number >= 0"));
            }
        }
        for s in t.stages.iter().filter(|s| s.temporal_from > 0) {
            if s.stage == Stage::Face || s.temporal_from > s.adversarial_from {
                return Err(out_of_range(
                    &format!("training.stages ({}).temporal_from", s.stage),
                    s.temporal_from,
                    "0 for the face stage, and at most the stage's adversarial_from \
                     (the discriminator judges pairs of frames)",
                ));
            }
        }
        Ok(())
    }
}

/// The most examples in one training step: far past what fits a CPU's or a GPU's memory
/// at the sizes the presets use.
pub const MAX_BATCH_SIZE: u64 = 1024;
/// The largest image side a model may have: 4K video's width.
pub const MAX_IMAGE_SIDE: u32 = 4096;
/// The most filters in a network's first layer (pix2pixHD uses 64, with 32 for the local
/// enhancer's full-resolution branch).
pub const MAX_FILTERS: i64 = 1024;
/// The most stride-2 convolutions in a generator: 2^8 = 256 times smaller than the input.
pub const MAX_DOWNSAMPLING: i64 = 8;
/// The most local enhancers (pix2pixHD's paper uses one, its code allows a few).
pub const MAX_LOCAL_ENHANCERS: i64 = 3;
/// The most residual blocks in one generator part (pix2pixHD: 9 global, 3 local).
pub const MAX_BLOCKS: i64 = 64;
/// The most stride-2 layers in a PatchGAN (pix2pixHD: 3).
pub const MAX_PATCHGAN_LAYERS: i64 = 6;
/// The most discriminator scales (pix2pixHD: 2 or 3).
pub const MAX_DISCRIMINATORS: i64 = 4;
/// The most steps of one stage: 1e9, far past any schedule (the paper's is 170,000).
pub const MAX_STEPS: u64 = 1_000_000_000;
/// A sanity bound on a stage generator's weights: 2e9, 8 GB in float32 and four times
/// that with Adam's two moments and the gradients. The paper preset's largest stage has
/// about 0.7e9; beyond this a typo (`ngf = 1000000`) would only fail in the allocator.
pub const MAX_GENERATOR_WEIGHTS: u64 = 2_000_000_000;

/// What is wrong in a model configuration (`config.toml`); each message names the field
/// and what it may be.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{field} = {value} is out of range: it must be {valid}")]
    OutOfRange {
        field: String,
        value: String,
        valid: String,
    },
    #[error(
        "the image size {width}x{height} must be a multiple of {factor} for \
         {n_downsampling} downsamplings and {n_local_enhancers} local enhancers"
    )]
    NotDivisible {
        width: u32,
        height: u32,
        factor: u32,
        n_downsampling: i64,
        n_local_enhancers: i64,
    },
    #[error(
        "with temporal = {temporal}, the generator takes {generator} channels and the \
         discriminator {discriminator}; the file says {file_generator} and {file_discriminator}"
    )]
    Channels {
        temporal: bool,
        generator: i64,
        discriminator: i64,
        file_generator: i64,
        file_discriminator: i64,
    },
    #[error(
        "the stages must run global, then local (optional), then face (optional); got {order:?}"
    )]
    Schedule { order: Vec<Stage> },
    #[error(
        "the {stage} stage's generator would have {weights} weights, more than the \
         {MAX_GENERATOR_WEIGHTS} that fit in memory; lower ngf, n_downsampling or n_blocks"
    )]
    TooLarge { stage: Stage, weights: u64 },
}

/// `field` = `value` must lie in `range`.
fn in_range<T>(field: &str, value: T, range: std::ops::RangeInclusive<T>) -> Result<(), ConfigError>
where
    T: PartialOrd + std::fmt::Display,
{
    if range.contains(&value) {
        return Ok(());
    }
    let (low, high) = range.into_inner();
    let valid = if low == high {
        format!("{low}")
    } else {
        format!("between {low} and {high}")
    };
    Err(out_of_range(field, value, &valid))
}

fn out_of_range(field: &str, value: impl std::fmt::Display, valid: &str) -> ConfigError {
    ConfigError::OutOfRange {
        field: field.into(),
        value: value.to_string(),
        valid: valid.into(),
    }
}

/// The weights and biases of a stage generator as [`crate::generator::Generator`] builds
/// it (pix2pixHD's global generator, or the local enhancer around it), counted without
/// building it. Saturates rather than overflows; the caller has checked every count's
/// range, so the true value fits anyway.
pub fn generator_weights(g: &GeneratorConfig) -> u64 {
    let count = |x: i64| u64::try_from(x).unwrap_or(0);
    let conv = |c_in: u64, c_out: u64, k: u64| {
        c_in.saturating_mul(c_out)
            .saturating_mul(k * k)
            .saturating_add(c_out)
    };
    if g.kind == GeneratorKind::UNet {
        // `networks::UNet`: conv3 front; per level a stride-2 conv3 down, a transposed
        // conv3 up and a conv3 fusing the skip; blocks at the bottom; conv3 out.
        let u = g.unet();
        let c = |level: i64| count(u.channels(level));
        let mut total = conv(count(u.input_nc), c(0), 3)
            .saturating_add(conv(c(0), count(u.output_nc + i64::from(u.alpha)), 3))
            .saturating_add(
                conv(c(u.n_downsampling), c(u.n_downsampling), 3)
                    .saturating_mul(2)
                    .saturating_mul(count(u.n_blocks)),
            );
        for k in 0..u.n_downsampling {
            total = total
                .saturating_add(conv(c(k), c(k + 1), 3))
                .saturating_add(conv(c(k + 1), c(k), 3))
                .saturating_add(conv(2 * c(k), c(k), 3));
        }
        return total;
    }
    let block = |c: u64| conv(c, c, 3).saturating_mul(2);
    let (input, output) = (count(g.input_nc), count(g.output_nc));
    let shift = |c: u64, by: i64| c.checked_shl(count(by) as u32).unwrap_or(u64::MAX);
    // The global trunk, at `ngf` filters: front conv7, downsamplings, blocks, upsamplings.
    let trunk = |ngf: u64| {
        let deepest = shift(ngf, g.n_downsampling);
        let mut total = conv(input, ngf, 7);
        for i in 0..count(g.n_downsampling) {
            let c = shift(ngf, i as i64);
            total = total
                .saturating_add(conv(c, 2 * c, 3))
                .saturating_add(conv(2 * c, c, 3));
        }
        total.saturating_add(block(deepest).saturating_mul(count(g.n_blocks)))
    };
    let ngf = count(g.ngf);
    let out = conv(ngf, output, 7);
    let enhancers = count(g.n_local_enhancers);
    if enhancers == 0 {
        return trunk(ngf).saturating_add(out);
    }
    let mut total = trunk(shift(ngf, enhancers as i64)).saturating_add(out);
    for k in 1..=enhancers {
        let c = shift(ngf, (enhancers - k) as i64);
        total = total
            .saturating_add(conv(input, c, 7))
            .saturating_add(conv(c, 2 * c, 3))
            .saturating_add(block(2 * c).saturating_mul(count(g.n_blocks_local)))
            .saturating_add(conv(2 * c, c, 3));
    }
    total
}
