//! pix2pixHD training, stage by stage, with checkpoints that resume exactly.
//!
//! Exactness: the only randomness after initialisation is the order of the frames, and
//! that is a function of the seed and the step. A checkpoint holds the weights, both
//! optimizers' moments and the step, so training k steps, stopping and resuming gives
//! the weights that training straight through gives.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use dancenow_nn::tch::nn::VarStore;
use dancenow_nn::tch::{self, Device, Kind, Tensor};
use image::RgbImage;

use crate::checkpoint::{self, Checkpoint, CheckpointError};
use crate::composite;
use crate::config::{ModelConfig, Stage, VggTerm};
use crate::dataset::{Dataset, DatasetError, Example, FrameEntry, Split};
use crate::generator::Generator;
use crate::images::{grid, shrink, to_image};
use crate::losses;
use crate::model_dir::{LossRecord, ModelDir, ModelDirError};
use crate::networks::{MultiscaleDiscriminator, Vgg16, VggError};
use crate::optim::Adam;
use crate::plot::PlotError;
use crate::reconstruction;

/// Frames shown in each sample grid.
const SAMPLE_FRAMES: usize = 3;

/// Why training cannot start or go on, grouped by who can fix it: the files it reads
/// (dataset, checkpoints, model folder, weights), the plan (stages, sizes), the run itself
/// (divergence) and what it writes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    ModelDir(#[from] ModelDirError),
    #[error(transparent)]
    Vgg(#[from] VggError),
    #[error(transparent)]
    Plate(#[from] composite::BackgroundError),
    /// The dataset was prepared at another size than the model's.
    #[error(
        "{dataset}: the dataset's images are {}x{}, the model in {model} is {}x{}",
        dataset_size.0, dataset_size.1, model_size.0, model_size.1
    )]
    SizeMismatch {
        dataset: PathBuf,
        dataset_size: (u32, u32),
        model: PathBuf,
        model_size: (u32, u32),
    },
    #[error(
        "the VGG loss is on (training.vgg_weight = {vgg_weight}) but no VGG16 weights were \
         given; run `cargo xtask setup`, or set training.vgg_weight = 0 in config.toml"
    )]
    NoVggWeights { vgg_weight: f64 },
    /// Only one stage was asked for, and the model's schedule does not have it.
    #[error(
        "{model}: the schedule has no {stage} stage (its stages: {})",
        stage_list(schedule)
    )]
    NotInSchedule {
        stage: Stage,
        model: PathBuf,
        schedule: Vec<Stage>,
    },
    #[error("{dataset}: the face stage needs training frames with a face box, and none has one")]
    NoFaceFrames { dataset: PathBuf },
    #[error(
        "{dataset}: temporal smoothing trains on consecutive frames, and no two kept training \
         frames follow each other; train with --no-temporal"
    )]
    NoConsecutiveFrames { dataset: PathBuf },
    /// A temporal example ends at a frame whose previous frame was not kept.
    #[error("{dataset}: frame {index} has no previous frame")]
    NoPreviousFrame { dataset: PathBuf, index: usize },
    /// A stage starts from (or refines) another stage that has not been trained.
    #[error(
        "the {needed_by} stage {} the {stage} stage, which has no checkpoint ({path}); \
         train it first",
        builds_on(*needed_by)
    )]
    MissingCheckpoint {
        stage: Stage,
        needed_by: Stage,
        path: PathBuf,
    },
    /// As [`TrainError::MissingCheckpoint`], with a checkpoint that stopped early.
    #[error(
        "the {needed_by} stage {} the {stage} stage, which stopped at step {step} of {steps} \
         ({path}); train it to the end first",
        builds_on(*needed_by)
    )]
    StageNotFinished {
        stage: Stage,
        needed_by: Stage,
        step: u64,
        steps: u64,
        path: PathBuf,
    },
    #[error("training diverged in the {stage} stage at step {step}: the {loss} loss is {value}; {kept}. Try a lower learning rate (training.lr in config.toml) and --resume")]
    Diverged {
        stage: Stage,
        step: u64,
        loss: &'static str,
        value: f64,
        kept: String,
    },
    #[error("{path}: cannot write the sample grid")]
    Sample {
        path: PathBuf,
        source: image::ImageError,
    },
    #[error(transparent)]
    Plot(#[from] PlotError),
}

/// How stage `needed_by` depends on the stage before it, for messages.
fn builds_on(needed_by: Stage) -> &'static str {
    match needed_by {
        Stage::Face => "refines the frames of",
        _ => "starts from the weights of",
    }
}

fn stage_list(stages: &[Stage]) -> String {
    stages
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What happens during training, for progress bars and logs.
pub enum Event<'a> {
    StageStarted {
        stage: Stage,
        step: u64,
        steps: u64,
    },
    Step(&'a LossRecord),
    Checkpoint {
        stage: Stage,
        step: u64,
        path: PathBuf,
    },
    Sample(PathBuf),
    StageFinished {
        stage: Stage,
    },
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Finished,
    /// Stopped by the stop flag (Ctrl-C) after a checkpoint at this step.
    Stopped {
        stage: Stage,
        step: u64,
    },
}

pub struct TrainOptions<'a> {
    pub device: Device,
    /// VGG16 weights (setup's), needed when the VGG loss is on.
    pub vgg_weights: Option<PathBuf>,
    /// Only this stage (its predecessors must be finished); all stages when `None`.
    pub only_stage: Option<Stage>,
    /// Set by a Ctrl-C handler: save a checkpoint and return.
    pub stop: &'a AtomicBool,
    /// Stop (with a checkpoint) after this many steps in this run: for tests and time
    /// budgets.
    pub max_steps: Option<u64>,
}

/// Trains the model in `model` on `dataset`, from wherever its checkpoints stand.
pub fn train(
    model: &ModelDir,
    dataset: &Dataset,
    options: &TrainOptions,
    on_event: &mut dyn FnMut(Event),
) -> Result<Outcome, TrainError> {
    let config = model.read_config()?;
    let (dataset_size, model_size) = (
        (dataset.info.width, dataset.info.height),
        (config.width, config.height),
    );
    if dataset_size != model_size {
        return Err(TrainError::SizeMismatch {
            dataset: dataset.layout.root().to_path_buf(),
            dataset_size,
            model: model.root().to_path_buf(),
            model_size,
        });
    }
    if let Some(stage) = options.only_stage.filter(|s| !config.has_stage(*s)) {
        return Err(TrainError::NotInSchedule {
            stage,
            model: model.root().to_path_buf(),
            schedule: config.training.stages.iter().map(|s| s.stage).collect(),
        });
    }
    let vgg_weight = config.training.vgg_weight;
    let vgg = match (vgg_weight > 0.0, &options.vgg_weights) {
        (false, _) => None,
        (true, Some(path)) => Some(Vgg16::load(path, options.device)?),
        (true, None) => return Err(TrainError::NoVggWeights { vgg_weight }),
    };
    model.create_dirs()?;
    let mut losses = model.read_losses()?;
    let mut steps_this_run = 0u64;
    let stages = config.training.stages.clone();
    for (i, stage_config) in stages.iter().enumerate() {
        let stage = stage_config.stage;
        if options.only_stage.is_some_and(|only| only != stage) {
            continue;
        }
        let previous = i.checked_sub(1).map(|p| stages[p].stage);
        let mut trainer = StageTrainer::new(&config, i, dataset, options.device, vgg.as_ref())?;
        let start = trainer.restore(model, previous)?;
        if start >= stage_config.steps {
            continue;
        }
        // Losses past the checkpoint (and of later stages) belong to steps that will be
        // run again.
        losses.retain(|r| {
            stages.iter().position(|s| s.stage == r.stage) < Some(i)
                || (r.stage == stage && r.step <= start)
        });
        on_event(Event::StageStarted {
            stage,
            step: start,
            steps: stage_config.steps,
        });
        let mut last_saved = start;
        for step in start..stage_config.steps {
            let record = trainer.step(step, stage_config.steps)?;
            if let Some((loss, value)) = record.non_finite() {
                let kept = if last_saved > 0 {
                    format!(
                        "the last good checkpoint, step {last_saved}, is kept in {}",
                        model.checkpoint_path(stage).display()
                    )
                } else {
                    "no checkpoint of this stage was written yet".to_string()
                };
                return Err(TrainError::Diverged {
                    stage,
                    step: step + 1,
                    loss,
                    value,
                    kept,
                });
            }
            losses.push(record);
            on_event(Event::Step(&record));
            let done = step + 1;
            steps_this_run += 1;
            let t = &config.training;
            if done % t.sample_every == 0 || done == stage_config.steps {
                let path = model.sample_path(stage, done);
                trainer.write_samples(&path)?;
                on_event(Event::Sample(path));
            }
            let stopping = must_stop(options, steps_this_run);
            if done % t.checkpoint_every == 0 || done == stage_config.steps || stopping {
                let path = model.checkpoint_path(stage);
                trainer.save(&path, done)?;
                model.write_losses(&losses)?;
                crate::plot::write_loss_plot(&losses, &model.plot_path())?;
                last_saved = done;
                on_event(Event::Checkpoint {
                    stage,
                    step: done,
                    path,
                });
            }
            if stopping && done < stage_config.steps {
                return Ok(Outcome::Stopped { stage, step: done });
            }
        }
        on_event(Event::StageFinished { stage });
        if must_stop(options, steps_this_run) {
            let more = stages[i + 1..]
                .iter()
                .any(|s| options.only_stage.is_none_or(|o| o == s.stage));
            if more {
                return Ok(Outcome::Stopped {
                    stage,
                    step: stage_config.steps,
                });
            }
        }
    }
    Ok(Outcome::Finished)
}

/// pix2pixHD's networks and optimizers for one stage, and its training step, with the
/// reconstruction losses of docs/architecture.md section 5b where the config asks for them.
pub struct Pix2PixHD<'a> {
    pub generator: Generator,
    d_vs: VarStore,
    discriminator: MultiscaleDiscriminator,
    opt_g: Adam,
    opt_d: Adam,
    vgg: Option<&'a Vgg16>,
    vgg_weight: f64,
    vgg_terms: Vec<VggTerm>,
    l1_weight: f64,
    l1_body_weight: f64,
    l1_hand_weight: f64,
}

impl<'a> Pix2PixHD<'a> {
    /// Fresh networks for `stage`, initialised from the current torch seed.
    pub fn new(config: &ModelConfig, stage: Stage, device: Device, vgg: Option<&'a Vgg16>) -> Self {
        let generator = Generator::new(config, stage, device);
        let d_vs = VarStore::new(device);
        let discriminator =
            MultiscaleDiscriminator::new(&d_vs.root(), &config.stage_discriminator(stage));
        let t = &config.training;
        Self {
            opt_g: Adam::new(&generator.vs, t.beta1, t.beta2),
            opt_d: Adam::new(&d_vs, t.beta1, t.beta2),
            generator,
            d_vs,
            discriminator,
            vgg,
            vgg_weight: t.vgg_weight,
            vgg_terms: t.vgg_layers.clone(),
            l1_weight: t.l1_weight,
            l1_body_weight: t.l1_body_weight,
            l1_hand_weight: t.l1_hand_weight,
        }
    }

    /// One step on consecutive stick figures `xs` and real frames `ys` (one frame, or two
    /// with temporal smoothing): the discriminator's and the generator's losses, then an
    /// Adam update of each with learning rate `lr`. With two frames, as the paper trains
    /// temporal smoothing: I0 = G(x0, 0), I1 = G(x1, I0), and the discriminator judges
    /// (x0, x1, I0, I1) against (x0, x1, y0, y1); VGG on both frames. The record's stage
    /// and step are the caller's to fill.
    pub fn step(&mut self, xs: &[Tensor], ys: &[Tensor], lr: f64) -> LossRecord {
        self.step_with(xs, ys, lr, true)
    }

    /// [`step`](Self::step), with the discriminator and the adversarial terms only when
    /// `adversarial` (before a schedule's `adversarial_from`: reconstruction alone).
    pub fn step_with(
        &mut self,
        xs: &[Tensor],
        ys: &[Tensor],
        lr: f64,
        adversarial: bool,
    ) -> LossRecord {
        let mut fakes: Vec<Tensor> = Vec::with_capacity(xs.len());
        let mut alphas = Vec::new();
        for x in xs {
            let parts = self.generator.frame_parts(x, fakes.last());
            fakes.push(parts.frame);
            alphas.extend(parts.alpha);
        }
        self.update(&Tensor::cat(xs, 1), &fakes, &alphas, ys, lr, adversarial)
    }

    /// One face GAN step on face crops (the face stage's networks): the generated face
    /// plus the residual, against the real face, both with the stick figure's face.
    pub fn step_face(
        &mut self,
        figure_crop: &Tensor,
        frame_crop: &Tensor,
        real_crop: &Tensor,
        lr: f64,
        adversarial: bool,
    ) -> LossRecord {
        let fake = crate::face::refine_crop(&self.generator, figure_crop, frame_crop);
        self.update(
            figure_crop,
            std::slice::from_ref(&fake),
            &[],
            std::slice::from_ref(real_crop),
            lr,
            adversarial,
        )
    }

    /// pix2pixHD's losses for `fakes` against `reals`, the discriminator seeing each
    /// after the condition `cond`, and the alpha terms of a compositing generator's
    /// `alphas` (none otherwise); then one Adam update of each network (of the generator
    /// alone when not `adversarial`).
    fn update(
        &mut self,
        cond: &Tensor,
        fakes: &[Tensor],
        alphas: &[Tensor],
        reals: &[Tensor],
        lr: f64,
        adversarial: bool,
    ) -> LossRecord {
        let grads = self.gradients(cond, fakes, alphas, reals, adversarial);
        self.opt_g.step(&grads.generator, lr);
        if let Some(discriminator) = &grads.discriminator {
            self.opt_d.step(discriminator, lr);
        }
        grads.losses
    }

    /// The reconstruction losses of `fakes` against `reals`: VGG (on the configured
    /// layers, times `vgg_weight`) and L1 weighted near the stick figures in `cond`.
    fn reconstruction(
        &self,
        cond: &Tensor,
        fakes: &[Tensor],
        reals: &[Tensor],
    ) -> (Tensor, Tensor) {
        let zero = || Tensor::zeros([], (Kind::Float, cond.device()));
        let g_vgg = match self.vgg.filter(|_| self.vgg_weight > 0.0) {
            Some(vgg) => {
                fakes
                    .iter()
                    .zip(reals)
                    .map(|(f, y)| reconstruction::vgg_loss(vgg, f, y, &self.vgg_terms))
                    .fold(zero(), |a, l| a + l)
                    * self.vgg_weight
            }
            None => zero(),
        };
        if self.l1_weight == 0.0 {
            return (g_vgg, zero());
        }
        // `cond` is the frames' stick figures side by side on the channels.
        let figures = cond.chunk(fakes.len() as i64, 1);
        let g_l1 = fakes
            .iter()
            .zip(reals)
            .zip(&figures)
            .map(|((f, y), x)| {
                let weights =
                    (self.l1_body_weight != 1.0 || self.l1_hand_weight != 1.0).then(|| {
                        reconstruction::l1_weights(x, self.l1_body_weight, self.l1_hand_weight)
                    });
                reconstruction::weighted_l1(f, y, weights.as_ref())
            })
            .fold(zero(), |a, l| a + l)
            * self.l1_weight;
        (g_vgg, g_l1)
    }

    /// A compositing generator's alpha terms (docs/architecture.md section 5b): each
    /// alpha pulled toward where its real frame differs from the plate near its stick
    /// figure in `cond`, and kept smooth. Zero without alphas.
    fn alpha_terms(&self, cond: &Tensor, alphas: &[Tensor], reals: &[Tensor]) -> Tensor {
        let zero = Tensor::zeros([], (Kind::Float, cond.device()));
        let Some(plate) = self.generator.plate().filter(|_| !alphas.is_empty()) else {
            return zero;
        };
        let figures = cond.chunk(alphas.len() as i64, 1);
        alphas
            .iter()
            .zip(reals)
            .zip(&figures)
            .map(|((alpha, real), figure)| {
                let height = alpha.size()[2] as f64;
                let radius = (composite::FIGURE_RADIUS_OF_HEIGHT * height).round() as i64;
                let near = composite::figure_mask(figure, radius);
                let target = composite::alpha_target(real, plate, &near);
                composite::guidance_loss(alpha, &target) * composite::LAMBDA_MASK
                    + composite::total_variation(alpha) * composite::LAMBDA_SMOOTH
            })
            .fold(zero, |sum, l| sum + l)
    }

    /// The losses, and each network's gradients of its own loss, before either update;
    /// without `adversarial`, the reconstruction (and alpha) losses and the generator's
    /// alone.
    fn gradients(
        &self,
        cond: &Tensor,
        fakes: &[Tensor],
        alphas: &[Tensor],
        reals: &[Tensor],
        adversarial: bool,
    ) -> Gradients {
        let (g_vgg, g_l1) = self.reconstruction(cond, fakes, reals);
        let g_mask = self.alpha_terms(cond, alphas, reals);
        if !adversarial {
            let loss_g = &g_vgg + &g_l1 + &g_mask;
            let generator = self.opt_g.gradients(&loss_g, false);
            return Gradients {
                losses: LossRecord {
                    stage: self.generator.stage,
                    step: 0,
                    g_gan: 0.0,
                    g_feat: 0.0,
                    g_vgg: g_vgg.double_value(&[]),
                    d_real: 0.0,
                    d_fake: 0.0,
                    g_l1: g_l1.double_value(&[]),
                    g_mask: g_mask.double_value(&[]),
                },
                generator,
                discriminator: None,
            };
        }
        let with_cond = |frames: &[Tensor]| {
            Tensor::cat(&std::iter::once(cond).chain(frames).collect::<Vec<_>>(), 1)
        };
        let (real_input, fake_input) = (with_cond(reals), with_cond(fakes));

        // One discriminator pass on the fake pair serves both losses: pix2pixHD runs it
        // twice (once on the detached pair), but D's weights are the same in both, so the
        // scores are too. Each loss is then differentiated only with respect to its own
        // network's weights, which also skips D's weight gradients in the generator's
        // backward pass.
        let on_fake = self.discriminator.forward(&fake_input);
        let on_real = self.discriminator.forward(&real_input);
        let d_fake = losses::lsgan(&on_fake, 0.0);
        let d_real = losses::lsgan(&on_real, 1.0);
        let loss_d = (&d_fake + &d_real) * 0.5;

        let g_gan = losses::lsgan(&on_fake, 1.0);
        let g_feat = losses::feature_matching(&on_fake, &on_real);
        let loss_g = &g_gan + &g_feat + &g_vgg + &g_l1 + &g_mask;

        // The discriminator's first, keeping the graph: the generator's backward then
        // frees it all, the large generator activations with it.
        let discriminator = self.opt_d.gradients(&loss_d, true);
        let generator = self.opt_g.gradients(&loss_g, false);
        Gradients {
            losses: LossRecord {
                stage: self.generator.stage,
                step: 0,
                g_gan: g_gan.double_value(&[]),
                g_feat: g_feat.double_value(&[]),
                g_vgg: g_vgg.double_value(&[]),
                d_real: d_real.double_value(&[]),
                d_fake: d_fake.double_value(&[]),
                g_l1: g_l1.double_value(&[]),
                g_mask: g_mask.double_value(&[]),
            },
            generator,
            discriminator: Some(discriminator),
        }
    }
}

/// One step's losses and gradients, in the order of each optimizer's variables; no
/// discriminator gradients in a reconstruction-only step.
struct Gradients {
    losses: LossRecord,
    generator: Vec<Tensor>,
    discriminator: Option<Vec<Tensor>>,
}

/// Runs `init` with libtorch's random generator seeded with `seed`, holding a lock: the
/// generator is global to the process, and another thread drawing from it between the
/// seeding and the last draw would change the weights (tests train in parallel threads).
pub fn seeded<T>(seed: u64, init: impl FnOnce() -> T) -> T {
    static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = RNG
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    tch::manual_seed(seed as i64);
    init()
}

/// Whether Ctrl-C or the run's step budget asks training to stop.
fn must_stop(options: &TrainOptions, steps_this_run: u64) -> bool {
    options.stop.load(Ordering::SeqCst) || options.max_steps.is_some_and(|m| steps_this_run >= m)
}

/// A stage's networks with its data order and checkpoints.
struct StageTrainer<'a> {
    config: &'a ModelConfig,
    stage: Stage,
    stage_index: usize,
    dataset: &'a Dataset,
    device: Device,
    nets: Pix2PixHD<'a>,
    /// The face stage's trained body generator, frozen: it makes the frames whose faces
    /// the face GAN refines.
    body: Option<Generator>,
    /// The training frames that can end an example: with temporal smoothing, those whose
    /// previous video frame was kept too; for the face stage, those with a face box.
    train: Vec<&'a FrameEntry>,
    /// Output size over stage size: the dataset's images are shrunk by this much.
    shrink: i64,
}

impl<'a> StageTrainer<'a> {
    fn new(
        config: &'a ModelConfig,
        stage_index: usize,
        dataset: &'a Dataset,
        device: Device,
        vgg: Option<&'a Vgg16>,
    ) -> Result<Self, TrainError> {
        let stage = config.training.stages[stage_index].stage;
        let train = examples_of(dataset, config, stage, Split::Train);
        if train.is_empty() {
            let dataset = dataset.layout.root().to_path_buf();
            // The dataset has training frames (Dataset::open checks), so one of the two
            // filters of examples_of left none.
            return Err(if stage == Stage::Face {
                TrainError::NoFaceFrames { dataset }
            } else {
                TrainError::NoConsecutiveFrames { dataset }
            });
        }
        let seed = config.training.seed.wrapping_add(stage_index as u64);
        let mut nets = seeded(seed, || Pix2PixHD::new(config, stage, device, vgg));
        attach_plate(&mut nets.generator, dataset, config, device)?;
        let (w, _) = config.stage_size(stage);
        Ok(Self {
            config,
            stage,
            stage_index,
            dataset,
            device,
            nets,
            body: None,
            train,
            shrink: (config.width / w) as i64,
        })
    }

    /// Loads this stage's checkpoint, or starts from the previous stage's weights (which
    /// must be finished); the step to continue from.
    fn restore(&mut self, model: &ModelDir, previous: Option<Stage>) -> Result<u64, TrainError> {
        let path = model.checkpoint_path(self.stage);
        let fresh = !path.exists();
        if self.stage == Stage::Face {
            let body_stage = self.config.body_stage();
            let (mut body, step) =
                load_base(model, self.config, body_stage, self.stage, self.device)?;
            attach_plate(&mut body, self.dataset, self.config, self.device)?;
            if fresh {
                self.require_finished(model, body_stage, step)?;
            }
            body.vs.freeze();
            self.body = Some(body);
        }
        if !fresh {
            let ckpt = Checkpoint::read(&path, self.device)?;
            ckpt.restore("g", &self.nets.generator.vs)?;
            ckpt.restore("d", &self.nets.d_vs)?;
            for (prefix, opt) in [
                ("opt_g", &mut self.nets.opt_g),
                ("opt_d", &mut self.nets.opt_d),
            ] {
                opt.load_state(|name, like| {
                    ckpt.get(&format!("{prefix}.{name}"), like)
                        .map_err(|e| e.to_string())
                })
                .map_err(|reason| CheckpointError::Unreadable {
                    path: path.clone(),
                    reason,
                })?;
            }
            return Ok(ckpt.step()?);
        }
        if let Some(previous) = previous.filter(|_| self.stage != Stage::Face) {
            let prev_path = model.checkpoint_path(previous);
            if !prev_path.exists() {
                return Err(TrainError::MissingCheckpoint {
                    stage: previous,
                    needed_by: self.stage,
                    path: prev_path,
                });
            }
            let ckpt = Checkpoint::read(&prev_path, self.device)?;
            self.require_finished(model, previous, ckpt.step()?)?;
            let copied = ckpt.restore_matching("g", &self.nets.generator.vs);
            ckpt.restore_matching("d", &self.nets.d_vs);
            tracing::info!(
                "{} stage: {copied} generator tensors taken from the {previous} stage",
                self.stage
            );
        }
        Ok(0)
    }

    /// An error unless `stage`, which this stage builds on, reached the end of its
    /// schedule (its checkpoint is at `step`).
    fn require_finished(
        &self,
        model: &ModelDir,
        stage: Stage,
        step: u64,
    ) -> Result<(), TrainError> {
        let steps = self.config.stage_schedule(stage).map_or(0, |s| s.steps);
        if step < steps {
            return Err(TrainError::StageNotFinished {
                stage,
                needed_by: self.stage,
                step,
                steps,
                path: model.checkpoint_path(stage),
            });
        }
        Ok(())
    }

    fn save(&self, path: &std::path::Path, step: u64) -> Result<(), TrainError> {
        let mut tensors = checkpoint::named("g", &self.nets.generator.vs);
        tensors.extend(checkpoint::named("d", &self.nets.d_vs));
        for (prefix, opt) in [("opt_g", &self.nets.opt_g), ("opt_d", &self.nets.opt_d)] {
            tensors.extend(
                opt.state()
                    .into_iter()
                    .map(|(k, t)| (format!("{prefix}.{k}"), t)),
            );
        }
        tensors.push(("step".into(), Tensor::from(step as i64)));
        Checkpoint::write(path, &tensors)?;
        Ok(())
    }

    /// The training frames for `step`: the next `batch_size` of a fresh shuffle of the
    /// frames each epoch, drawn from the seed and the epoch alone.
    fn entries(&self, step: u64) -> Vec<&'a FrameEntry> {
        let batch = self.config.training.batch_size.max(1);
        (0..batch)
            .map(|k| self.entry(step.saturating_mul(batch).saturating_add(k)))
            .collect()
    }

    /// The training frame at `position` in the sequence of shuffled epochs.
    fn entry(&self, position: u64) -> &'a FrameEntry {
        let n = self.train.len() as u64;
        let (epoch, at) = (position / n, position % n);
        let mut order: Vec<usize> = (0..self.train.len()).collect();
        let mut rng = SplitMix64(
            self.config.training.seed
                ^ (self.stage_index as u64).rotate_left(32)
                ^ epoch.wrapping_mul(0x9E37_79B9),
        );
        for i in (1..order.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        self.train[order[at as usize]]
    }

    /// An example at this stage's size.
    fn example(&self, entry: &FrameEntry) -> Result<Example, TrainError> {
        let ex = self.dataset.example(entry, self.device)?;
        Ok(Example {
            figure: shrink(&ex.figure, self.shrink),
            real: shrink(&ex.real, self.shrink),
        })
    }

    /// pix2pixHD's learning rate: constant for the first half, then linearly to zero.
    fn learning_rate(&self, step: u64, steps: u64) -> f64 {
        let half = steps / 2;
        let lr = self.config.training.lr;
        if step < half {
            lr
        } else {
            lr * (steps - step) as f64 / (steps - half).max(1) as f64
        }
    }

    /// The consecutive examples ending at each of `entries`, as batches: stick figures
    /// and real frames of the first frame of each, then of the second (with temporal
    /// smoothing, from the stage's `temporal_from`).
    fn batch(
        &self,
        entries: &[&FrameEntry],
        step: u64,
    ) -> Result<(Vec<Tensor>, Vec<Tensor>), TrainError> {
        let stage = &self.config.training.stages[self.stage_index];
        let frames = if stage.pairs_at(step) {
            self.config.frames_per_example()
        } else {
            1
        };
        let mut xs: Vec<Vec<Tensor>> = Vec::new();
        let mut ys: Vec<Vec<Tensor>> = Vec::new();
        for entry in entries {
            let (x, y) = self.frames_ending_at(entry, frames)?;
            xs.resize_with(x.len(), Vec::new);
            ys.resize_with(y.len(), Vec::new);
            for (t, (x, y)) in x.into_iter().zip(y).enumerate() {
                xs[t].push(x);
                ys[t].push(y);
            }
        }
        let cat = |frames: Vec<Vec<Tensor>>| -> Vec<Tensor> {
            frames.iter().map(|f| Tensor::cat(f, 0)).collect()
        };
        Ok((cat(xs), cat(ys)))
    }

    /// The consecutive examples ending at `entry`: one, or two with temporal smoothing.
    fn examples(&self, entry: &FrameEntry) -> Result<(Vec<Tensor>, Vec<Tensor>), TrainError> {
        self.frames_ending_at(entry, self.config.frames_per_example())
    }

    /// The `count` consecutive examples ending at `entry`.
    fn frames_ending_at(
        &self,
        entry: &FrameEntry,
        count: usize,
    ) -> Result<(Vec<Tensor>, Vec<Tensor>), TrainError> {
        let mut frames = vec![entry];
        while frames.len() < count {
            let previous =
                self.dataset
                    .previous(frames[0])
                    .ok_or_else(|| TrainError::NoPreviousFrame {
                        dataset: self.dataset.layout.root().to_path_buf(),
                        index: frames[0].index,
                    })?;
            frames.insert(0, previous);
        }
        let mut xs = Vec::with_capacity(frames.len());
        let mut ys = Vec::with_capacity(frames.len());
        for f in frames {
            let ex = self.example(f)?;
            xs.push(ex.figure);
            ys.push(ex.real);
        }
        Ok((xs, ys))
    }

    fn step(&mut self, step: u64, steps: u64) -> Result<LossRecord, TrainError> {
        let entries = self.entries(step);
        let (xs, ys) = self.batch(&entries, step)?;
        let lr = self.learning_rate(step, steps);
        let adversarial = self.config.training.stages[self.stage_index].adversarial_at(step);
        let mut record = match self.face_crops(&entries, &xs, &ys) {
            Some([figure, frame, real]) => {
                self.nets.step_face(&figure, &frame, &real, lr, adversarial)
            }
            None => self.nets.step_with(&xs, &ys, lr, adversarial),
        };
        record.step = step + 1;
        Ok(record)
    }

    /// In the face stage: the face crops of the stick figures, of the frozen body
    /// model's frames (following their previous frames when temporal) and of the real
    /// frames, a batch of each.
    fn face_crops(
        &self,
        entries: &[&FrameEntry],
        xs: &[Tensor],
        ys: &[Tensor],
    ) -> Option<[Tensor; 3]> {
        let body = self.body.as_ref()?;
        let faces: Vec<_> = entries.iter().map(|e| e.face).collect::<Option<_>>()?;
        let side = self.config.face_side();
        let frame = tch::no_grad(|| body_frame(body, xs));
        let last = xs.len() - 1;
        let crops = |images: &Tensor| {
            let each: Vec<Tensor> = faces
                .iter()
                .enumerate()
                .map(|(k, face)| crate::face::crop(&images.narrow(0, k as i64, 1), *face, side))
                .collect();
            Tensor::cat(&each, 0)
        };
        Some([crops(&xs[last]), crops(&frame), crops(&ys[last])])
    }

    /// A grid of fixed frames (held-out ones when there are any): one row each of
    /// stick figure | generated | real, or in the face stage, of face crops: stick figure
    /// | body model | refined | real.
    fn write_samples(&self, path: &std::path::Path) -> Result<(), TrainError> {
        let val = examples_of(self.dataset, self.config, self.stage, Split::Val);
        let pool = if val.is_empty() { &self.train } else { &val };
        let picks: Vec<&FrameEntry> = (0..SAMPLE_FRAMES.min(pool.len()))
            .map(|k| pool[k * pool.len() / SAMPLE_FRAMES.min(pool.len())])
            .collect();
        let mut rows: Vec<Vec<RgbImage>> = Vec::with_capacity(picks.len());
        for entry in picks {
            let (xs, ys) = self.examples(entry)?;
            let cells = match self.face_crops(&[entry], &xs, &ys) {
                Some([figure, frame, real]) => {
                    let refined = tch::no_grad(|| {
                        crate::face::refine_crop(&self.nets.generator, &figure, &frame)
                    });
                    vec![figure, frame, refined, real]
                }
                None => {
                    let fake = tch::no_grad(|| body_frame(&self.nets.generator, &xs));
                    let last = xs.len() - 1;
                    vec![xs[last].shallow_clone(), fake, ys[last].shallow_clone()]
                }
            };
            rows.push(cells.iter().map(to_image).collect());
        }
        let grid = grid(&rows.iter().map(|r| r.iter().collect()).collect::<Vec<_>>());
        crate::images::save_png(&grid, path).map_err(|source| TrainError::Sample {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// The frames of `split` that can end a training example (see [`StageTrainer::train`]).
fn examples_of<'a>(
    dataset: &'a Dataset,
    config: &ModelConfig,
    stage: Stage,
    split: Split,
) -> Vec<&'a FrameEntry> {
    dataset
        .split(split)
        .into_iter()
        .filter(|e| config.frames_per_example() == 1 || dataset.previous(e).is_some())
        .filter(|e| stage != Stage::Face || e.face.is_some())
        .collect()
}

/// The generator of `stage` that stage `needed_by` builds on (the face stage: the trained
/// body generator), and the step of its checkpoint.
fn load_base(
    model: &ModelDir,
    config: &ModelConfig,
    stage: Stage,
    needed_by: Stage,
    device: Device,
) -> Result<(Generator, u64), TrainError> {
    let path = model.checkpoint_path(stage);
    if !path.exists() {
        return Err(TrainError::MissingCheckpoint {
            stage,
            needed_by,
            path,
        });
    }
    Ok(Generator::load(&path, config, stage, device)?)
}

/// Gives a compositing `generator` the dataset's background plate at its stage's size.
fn attach_plate(
    generator: &mut Generator,
    dataset: &Dataset,
    config: &ModelConfig,
    device: Device,
) -> Result<(), TrainError> {
    if generator.composites() {
        let (w, h) = config.stage_size(generator.stage);
        let plate = composite::read_plate(
            &dataset.layout.plate_path(),
            &dataset.info.crop,
            i64::from(w),
            i64::from(h),
            device,
        )?;
        generator.set_plate(plate);
    }
    Ok(())
}

/// The body generator's frame for the last of consecutive stick figures `xs`, each frame
/// following the one before when the model is temporal.
fn body_frame(body: &Generator, xs: &[Tensor]) -> Tensor {
    xs.iter()
        .fold(None, |previous: Option<Tensor>, x| {
            Some(body.frame(x, previous.as_ref()))
        })
        .expect("at least one frame")
}

/// A small, fast, well-mixed generator (Steele et al.), for the data order.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Preset;

    /// The shared discriminator pass gives the gradients pix2pixHD's own step gives:
    /// D on the detached fake pair for D's loss, D again on the fake pair for G's loss,
    /// each loss's backward filling every weight's `grad`.
    #[test]
    fn one_discriminator_pass_gives_pix2pixhds_gradients() {
        let config = Preset::Tiny.config(64, 64).with_temporal(false);
        let nets = seeded(7, || {
            Pix2PixHD::new(&config, Stage::Global, Device::Cpu, None)
        });
        let (x, y) = seeded(8, || {
            let image = || Tensor::rand([1, 3, 64, 64], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
            (image(), image())
        });
        let fake = nets.generator.frame(&x, None);
        let ours = nets.gradients(
            &x,
            std::slice::from_ref(&fake),
            &[],
            std::slice::from_ref(&y),
            true,
        );

        // The step above freed its graph: the reference runs the generator again.
        let fake = nets.generator.frame(&x, None);
        let d = &nets.discriminator;
        let real_pair = Tensor::cat(&[&x, &y], 1);
        let fake_pair = Tensor::cat(&[&x, &fake], 1);
        let on_real = d.forward(&real_pair);
        let loss_d = (losses::lsgan(&d.forward(&fake_pair.detach()), 0.0)
            + losses::lsgan(&on_real, 1.0))
            * 0.5;
        let on_fake = d.forward(&fake_pair);
        let loss_g = losses::lsgan(&on_fake, 1.0) + losses::feature_matching(&on_fake, &on_real);
        let reference = |opt: &Adam, loss: &Tensor| {
            for p in opt.params() {
                p.grad().defined().then(|| p.grad().zero_());
            }
            loss.backward();
            opt.params()
                .iter()
                .map(|p| p.grad().copy())
                .collect::<Vec<_>>()
        };
        let ref_g = reference(&nets.opt_g, &loss_g);
        let ref_d = reference(&nets.opt_d, &loss_d);

        let ours_d = ours.discriminator.expect("an adversarial step");
        for (ours, reference) in [(&ours.generator, &ref_g), (&ours_d, &ref_d)] {
            assert_eq!(ours.len(), reference.len());
            for (a, b) in ours.iter().zip(reference) {
                let scale = b.abs().max().double_value(&[]).max(1e-12);
                let error = (a - b).abs().max().double_value(&[]) / scale;
                assert!(error < 1e-5, "relative gradient error {error}");
            }
        }
    }
}
