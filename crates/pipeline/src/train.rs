//! `train`: a prepared dataset -> a model folder, stage by stage, resumable. The plan
//! (preset + overrides, or the saved `config.toml` on resume) is checked before any
//! network is built.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use dancenow_gan::{
    Dataset, Event, GeneratorKind, ModelConfig, ModelDir, Outcome, Preset, Stage, Target,
};
use dancenow_nn::DeviceChoice;
use tracing::{info, warn};

use crate::progress::{Phase, Progress};

/// The preset a new model gets when none is named.
pub const DEFAULT_PRESET: Preset = Preset::Quick;
/// The longest time budget accepted: a year, in minutes.
pub const MAX_MINUTES: f64 = 525_600.0;

/// Step counts asked for on the command line: one for every stage, and/or per stage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepOverrides {
    pub all: Option<u64>,
    pub per_stage: Vec<(Stage, u64)>,
}

impl StepOverrides {
    pub fn is_empty(&self) -> bool {
        self.all.is_none() && self.per_stage.is_empty()
    }

    /// Sets the steps of `config`'s stages, their switch points at the same fraction of
    /// the stage; a stage the schedule lacks is an error.
    pub fn apply(&self, config: &mut ModelConfig) -> Result<()> {
        if let Some(steps) = self.all {
            for stage in &mut config.training.stages {
                *stage = stage.with_steps(steps);
            }
        }
        for (name, steps) in &self.per_stage {
            match config.training.stages.iter_mut().find(|s| s.stage == *name) {
                Some(stage) => *stage = stage.with_steps(*steps),
                None => bail!(
                    "the {} preset has no {name} stage (its stages: {})",
                    config.preset,
                    stage_names(config)
                ),
            }
        }
        if let Some(stage) = config.training.stages.iter().find(|s| s.steps == 0) {
            bail!(
                "the {} stage is given 0 steps; give at least 1",
                stage.stage
            );
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub data: PathBuf,
    pub output: PathBuf,
    /// The preset of a new model; on `resume`, it must match the saved one if given.
    pub preset: Option<Preset>,
    pub steps: StepOverrides,
    /// Continue the model in `output` from its checkpoints.
    pub resume: bool,
    /// Train without temporal smoothing (the paper's baseline).
    pub no_temporal: bool,
    /// A new U-Net model paints the whole frame instead of the person and an alpha over
    /// the target's background plate (the U-Net presets' default).
    pub paint: bool,
    /// Only this stage (its predecessors must be finished).
    pub stage: Option<Stage>,
    /// Stop with a checkpoint after this many minutes.
    pub minutes: Option<f64>,
    /// The seed of a new model; on `resume`, it must match the saved one if given.
    pub seed: Option<u64>,
    pub threads: usize,
    pub device: DeviceChoice,
}

/// Why a run stopped before its schedule was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The `minutes` budget ran out.
    Budget,
    /// The caller's stop flag was set (Ctrl-C, SIGTERM).
    Interrupted,
}

/// How a training run ended.
#[derive(Debug, Clone)]
pub struct TrainSummary {
    /// `None` when every stage finished.
    pub stopped: Option<(StopReason, Stage, u64)>,
    pub minutes: f64,
    pub config: ModelConfig,
}

/// Checks a time budget: finite, positive, at most [`MAX_MINUTES`].
pub fn check_minutes(minutes: f64) -> Result<Duration> {
    if !(minutes.is_finite() && minutes > 0.0 && minutes <= MAX_MINUTES) {
        bail!("--minutes must be a number of minutes above 0 and at most {MAX_MINUTES}, got {minutes}");
    }
    Ok(Duration::from_secs_f64(minutes * 60.0))
}

/// The model's configuration: a preset with overrides for a new model, the saved one
/// (with step overrides) on resume. Writes nothing.
pub fn plan(options: &TrainOptions, dataset: &Dataset) -> Result<ModelConfig> {
    let model = ModelDir::new(&options.output);
    if options.resume {
        if !model.exists() {
            bail!(
                "{} holds no model to resume (no config.toml)",
                options.output.display()
            );
        }
        let mut config = model.read_config()?;
        if let Some(preset) = options.preset {
            if preset.name() != config.preset {
                bail!(
                    "--preset {} conflicts with the {} preset saved in {}; drop --preset to resume",
                    preset.name(),
                    config.preset,
                    model.config_path().display()
                );
            }
        }
        if options.no_temporal && config.temporal {
            bail!(
                "--no-temporal conflicts with the temporal model saved in {}",
                model.config_path().display()
            );
        }
        if options.paint && config.generator.composite {
            bail!(
                "--paint conflicts with the compositing model saved in {}",
                model.config_path().display()
            );
        }
        if let Some(seed) = options.seed {
            if seed != config.training.seed {
                bail!(
                    "--seed {seed} conflicts with seed {} saved in {}",
                    config.training.seed,
                    model.config_path().display()
                );
            }
        }
        options.steps.apply(&mut config)?;
        return Ok(config);
    }
    if model.exists() {
        bail!(
            "{} already holds a model; pass --resume to continue it, or choose another folder",
            options.output.display()
        );
    }
    let preset = options.preset.unwrap_or(DEFAULT_PRESET);
    let mut config = preset
        .config(dataset.info.width, dataset.info.height)
        .with_temporal(!options.no_temporal);
    config.training.seed = options.seed.unwrap_or(0);
    if options.paint {
        if config.generator.kind != GeneratorKind::UNet {
            bail!(
                "--paint is for the U-Net presets (quick, quick-tiny), which composite by \
                 default; the {} preset always paints whole frames",
                config.preset
            );
        }
        config.generator.composite = false;
    }
    options.steps.apply(&mut config)?;
    if let Err(problem) = config.validate() {
        bail!(
            "the {} preset does not fit {}: {problem}; prepare it with another --size",
            config.preset,
            options.data.display()
        );
    }
    Ok(config)
}

/// Trains as `options` ask until the schedule is done, the budget runs out or `stop` is
/// set; a checkpoint is written in every case.
pub fn run(
    options: &TrainOptions,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> Result<TrainSummary> {
    crate::require_exists(&options.data, "dataset")?;
    let budget = options.minutes.map(check_minutes).transpose()?;
    let dataset = Dataset::open(&options.data)?;
    let device = options.device.resolve()?;
    let config = plan(options, &dataset)?;
    if let Some(only) = options.stage {
        if !config.has_stage(only) {
            bail!(
                "the {} preset has no {only} stage (its stages: {})",
                config.preset,
                stage_names(&config)
            );
        }
    }
    dancenow_nn::set_cpu_threads(options.threads);
    let model = ModelDir::new(&options.output);
    // A new model that fails before its first checkpoint leaves nothing that would make
    // the next fresh run refuse the folder as "already holding a model".
    let mut unstarted = (!options.resume).then(|| Unstarted::new(&model, &config));
    if options.resume {
        model.write_config(&config)?;
        info!("resuming the model in {}", options.output.display());
    } else {
        model.initialize(
            &config,
            &Target {
                dataset: options.data.display().to_string(),
                fps: dataset.info.fps,
                stats: dataset.info.stats.clone(),
                crop: Some(dataset.info.crop),
                video_size: Some((dataset.info.video_width, dataset.info.video_height)),
            },
        )?;
        // The background travels with the model, so transfer needs only the model folder.
        let plate = dataset.layout.plate_path();
        if plate.is_file() {
            std::fs::copy(&plate, model.plate_path()).with_context(|| {
                format!(
                    "copying {} into {}",
                    plate.display(),
                    options.output.display()
                )
            })?;
        }
    }
    info!(
        "{} preset, {}x{}{}, stages: {}",
        config.preset,
        config.width,
        config.height,
        if config.temporal {
            ", temporal smoothing"
        } else {
            ""
        },
        config
            .training
            .stages
            .iter()
            .map(|s| format!("{} ({} steps)", s.stage, s.steps))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // One flag for the trainer: the caller's, or the budget's end.
    let stop_training = Arc::new(AtomicBool::new(false));
    let budget_over = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let done = AtomicBool::new(false);
    let outcome = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                if budget.is_some_and(|b| started.elapsed() >= b) {
                    budget_over.store(true, Ordering::SeqCst);
                    stop_training.store(true, Ordering::SeqCst);
                }
                if stop.load(Ordering::SeqCst) {
                    stop_training.store(true, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let gan_options = dancenow_gan::TrainOptions {
            device,
            vgg_weights: Some(crate::assets::deps_dir().join("models/lpips/vgg16.safetensors")),
            only_stage: options.stage,
            stop: &stop_training,
            max_steps: None,
        };
        let mut bar: Option<Box<dyn Phase>> = None;
        let outcome = dancenow_gan::train(&model, &dataset, &gan_options, &mut |event| {
            report_event(event, progress, &mut bar)
        });
        done.store(true, Ordering::SeqCst);
        outcome
    })?;
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    TrainingTime::add(&options.output, minutes)?;
    let stopped = match outcome {
        Outcome::Finished => {
            info!(
                "training finished in {minutes:.1} min; model in {}",
                options.output.display()
            );
            None
        }
        Outcome::Stopped { stage, step } => {
            let reason = if budget_over.load(Ordering::SeqCst) && !stop.load(Ordering::SeqCst) {
                StopReason::Budget
            } else {
                StopReason::Interrupted
            };
            warn!(
                "{} in the {stage} stage at step {step} after {minutes:.1} min, with a checkpoint; \
                 `dancenow train {} -o {} --resume` continues",
                match reason {
                    StopReason::Budget => "the time budget ran out",
                    StopReason::Interrupted => "stopped",
                },
                options.data.display(),
                options.output.display()
            );
            Some((reason, stage, step))
        }
    };
    if let Some(unstarted) = unstarted.as_mut() {
        unstarted.keep();
    }
    Ok(TrainSummary {
        stopped,
        minutes,
        config,
    })
}

/// A new model's folder until training succeeds or leaves a checkpoint: dropped early (an
/// error), it removes the folder if this run made it, else its `config.toml`, the mark
/// that makes the folder a model.
struct Unstarted<'a> {
    model: &'a ModelDir,
    stages: Vec<Stage>,
    made_the_folder: bool,
    keep: bool,
}

impl<'a> Unstarted<'a> {
    fn new(model: &'a ModelDir, config: &ModelConfig) -> Self {
        Self {
            model,
            stages: config.training.stages.iter().map(|s| s.stage).collect(),
            made_the_folder: !model.root().exists(),
            keep: false,
        }
    }

    fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for Unstarted<'_> {
    fn drop(&mut self) {
        let has_checkpoint = self
            .stages
            .iter()
            .any(|&stage| self.model.checkpoint_path(stage).exists());
        if self.keep || has_checkpoint {
            return;
        }
        let removed = if self.made_the_folder {
            std::fs::remove_dir_all(self.model.root())
        } else {
            std::fs::remove_file(self.model.config_path())
        };
        if let Err(e) = removed {
            if e.kind() != std::io::ErrorKind::NotFound {
                warn!(
                    "could not remove the unstarted model in {}: {e}",
                    self.model.root().display()
                );
            }
        }
    }
}

fn report_event(event: Event, progress: &dyn Progress, bar: &mut Option<Box<dyn Phase>>) {
    match event {
        Event::StageStarted { stage, step, steps } => {
            let phase = progress.phase(&format!("{stage} stage"), "steps", Some(steps));
            phase.set_position(step);
            phase.restart_estimate();
            *bar = Some(phase);
        }
        Event::Step(r) => {
            if let Some(b) = bar {
                b.set_position(r.step);
                // The terms this schedule has at this step, by name.
                let terms: Vec<String> = [
                    ("l1", r.g_l1),
                    ("vgg", r.g_vgg),
                    ("gan", r.g_gan),
                    ("feat", r.g_feat),
                    ("alpha", r.g_mask),
                ]
                .iter()
                .filter(|(_, v)| *v != 0.0)
                .map(|(name, v)| format!("{name} {v:.2}"))
                .collect();
                let d = r.d_total();
                let d = if d != 0.0 {
                    format!(", D {d:.3}")
                } else {
                    String::new()
                };
                b.set_message(&format!(
                    "{} G {:.2} ({}){d}",
                    r.stage,
                    r.g_total(),
                    terms.join(" ")
                ));
            }
        }
        Event::Checkpoint { step, path, .. } => {
            tracing::debug!("checkpoint at step {step}: {}", path.display())
        }
        Event::Sample(path) => tracing::debug!("samples: {}", path.display()),
        Event::StageFinished { stage } => {
            *bar = None;
            info!("{stage} stage finished");
        }
    }
}

fn stage_names(config: &ModelConfig) -> String {
    config
        .training
        .stages
        .iter()
        .map(|s| s.stage.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// How long a model has trained, over all its runs: `training.json` in the model folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainingTime {
    pub minutes: f64,
    pub runs: u32,
}

impl TrainingTime {
    const FILE: &'static str = "training.json";

    /// The model's record; `None` for models trained before dancenow kept one.
    pub fn read(model: &Path) -> Result<Option<Self>> {
        let path = model.join(Self::FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .with_context(|| format!("reading {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Adds one run of `minutes` to the record.
    fn add(model: &Path, minutes: f64) -> Result<()> {
        let mut time = Self::read(model)?.unwrap_or_default();
        time.minutes += minutes;
        time.runs += 1;
        let text = serde_json::to_string_pretty(&time)? + "\n";
        dancenow_pose::openpose::write_atomically(&model.join(Self::FILE), text.as_bytes())?;
        Ok(())
    }
}

/// How far each stage of a model's schedule has trained.
#[derive(Debug, Clone, PartialEq)]
pub struct StageProgress {
    pub stage: Stage,
    pub step: u64,
    pub steps: u64,
}

impl StageProgress {
    pub fn finished(&self) -> bool {
        self.step >= self.steps
    }

    /// Every stage of the model's schedule, with the last step it recorded.
    pub fn of(model: &ModelDir) -> Result<Vec<Self>> {
        let config = model.read_config()?;
        let losses = model.read_losses()?;
        Ok(config
            .training
            .stages
            .iter()
            .map(|s| Self {
                stage: s.stage,
                step: losses
                    .iter()
                    .filter(|r| r.stage == s.stage)
                    .map(|r| r.step)
                    .max()
                    .unwrap_or(0),
                steps: s.steps,
            })
            .collect())
    }
}

/// The model folder's summary files, for printing.
pub fn outputs(output: &std::path::Path) -> (PathBuf, PathBuf) {
    let model = ModelDir::new(output);
    (output.join("samples"), model.plot_path())
}
