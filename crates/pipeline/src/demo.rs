//! `demo`: the whole pipeline on the sample videos setup installs, with the same jobs a
//! user runs: prepare the target, train, transfer the source's dance, evaluate. Each step
//! that already finished in the output folder is kept, so a demo stopped half-way
//! continues.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use dancenow_gan::{Dataset, ModelDir, Preset};
use dancenow_media::{probe, FrameSource};
use dancenow_nn::DeviceChoice;
use image::RgbImage;
use tracing::info;

use crate::eval::EvalOptions;
use crate::prepare::PrepareOptions;
use crate::progress::Progress;
use crate::train::{StepOverrides, TrainOptions, TrainSummary};
use crate::transfer::TransferOptions;
use crate::{DetectOptions, SourcePoseOptions};

/// The target: a minute of one woman dancing before a plain backdrop (musicalgestures).
pub const DEFAULT_TARGET: &str = "musicalgestures/dancer.avi";
/// The source: a man on a box swinging his arms and jumping off it (sports2d).
pub const DEFAULT_SOURCE: &str = "sports2d/demo.mp4";
/// The last fifth of the target's dance is held out, so eval measures unseen poses.
pub const HELD_OUT: f64 = 0.2;

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub output: PathBuf,
    /// The target person's video; the sample setup installs when `None`.
    pub target: Option<PathBuf>,
    /// The source dancer's video; the sample setup installs when `None`.
    pub source: Option<PathBuf>,
    pub size: (u32, u32),
    pub preset: Preset,
    /// Paint whole frames instead of compositing the person over the plate (see
    /// `TrainOptions`).
    pub paint: bool,
    pub steps: StepOverrides,
    /// The training budget; training stops there with a checkpoint, and says so.
    pub minutes: f64,
    pub threads: usize,
    pub device: DeviceChoice,
}

/// Where the demo's results are.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub video: PathBuf,
    pub strip: PathBuf,
    pub report: PathBuf,
    pub model: PathBuf,
    pub training: TrainSummary,
}

/// Rows of the picture strip cut from the transfer video.
const STRIP_ROWS: usize = 4;

pub fn run(
    options: &DemoOptions,
    progress: &dyn Progress,
    stop: &AtomicBool,
) -> Result<DemoSummary> {
    let args = options;
    crate::train::check_minutes(args.minutes)?;
    let samples = crate::assets::deps_dir().join("samples");
    let target = args
        .target
        .clone()
        .unwrap_or_else(|| samples.join(DEFAULT_TARGET));
    let source = args
        .source
        .clone()
        .unwrap_or_else(|| samples.join(DEFAULT_SOURCE));
    for (video, what) in [(&target, "target"), (&source, "source")] {
        if !video.is_file() {
            anyhow::bail!(
                "the {what} video {} is missing; run `cargo xtask setup` (it installs the sample videos)",
                video.display()
            );
        }
    }
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("creating {}", args.output.display()))?;
    let out = |name: &str| args.output.join(name);
    let (data, model, video, report) = (
        out("target.data"),
        out("model"),
        out("transfer.mp4"),
        out("report"),
    );
    let detect = DetectOptions {
        threads: args.threads,
        device: args.device,
        ..DetectOptions::default()
    };

    step(1, "preparing the target person's frames", &target);
    if Dataset::open(&data).is_ok() {
        info!("{} is already prepared", data.display());
    } else {
        // prepare builds beside an earlier dataset and replaces it only when done (an
        // unfinished one is never left in place), and refuses a folder it did not make.
        crate::prepare::run(
            &PrepareOptions {
                input: target.clone(),
                output: data.clone(),
                poses: None,
                size: args.size,
                val_fraction: HELD_OUT,
                detect: detect.clone(),
            },
            progress,
        )?;
    }

    step(2, "training the model (resumable)", &data);
    let resume = ModelDir::new(&model).exists();
    let training = crate::train::run(
        &TrainOptions {
            data: data.clone(),
            output: model.clone(),
            preset: (!resume).then_some(args.preset),
            steps: args.steps.clone(),
            resume,
            no_temporal: false,
            paint: args.paint && !resume,
            stage: None,
            minutes: Some(args.minutes),
            seed: None,
            threads: args.threads,
            device: args.device,
        },
        progress,
        stop,
    )?;
    if training.stopped.is_some() {
        anyhow::ensure!(
            !stop.load(std::sync::atomic::Ordering::SeqCst),
            "the demo was interrupted during training; run it again to continue"
        );
    }

    step(3, "making the target dance as the source does", &source);
    crate::transfer::run(
        &TransferOptions {
            source: source.clone(),
            model: model.clone(),
            output: video.clone(),
            poses: None,
            side_by_side: true,
            source_poses: SourcePoseOptions::default(),
            detect: detect.clone(),
        },
        progress,
    )?;
    let strip = out("strip.png");
    write_strip(&video, &strip)?;

    step(4, "evaluating on the held-out frames", &data);
    crate::eval::run(
        &EvalOptions {
            model: model.clone(),
            data: data.clone(),
            output: report.clone(),
            compare: Vec::new(),
            samples: 4,
            threads: args.threads,
            device: args.device,
        },
        progress,
    )?;
    Ok(DemoSummary {
        video,
        strip,
        report,
        model,
        training,
    })
}

fn step(n: usize, what: &str, input: &Path) {
    info!("demo step {n} of 4: {what} ({})", input.display());
}

/// [`STRIP_ROWS`] frames spread over the video, stacked: a picture of the result for
/// people who cannot play the video (the README's). Only the picked frames are kept.
fn write_strip(video: &Path, path: &Path) -> Result<()> {
    let open = || {
        FrameSource::open(video, None).with_context(|| format!("reading back {}", video.display()))
    };
    let total = match probe(video).ok().and_then(|info| info.frame_count) {
        Some(n) => n as usize,
        None => open()?.count(),
    };
    let rows = STRIP_ROWS.min(total);
    // Centred in each of `rows` equal parts of the video.
    let picks: Vec<usize> = (0..rows)
        .map(|row| (2 * row + 1) * total / (2 * rows))
        .collect();
    let mut frames = Vec::with_capacity(rows);
    for (index, frame) in open()?.enumerate().take(total) {
        let frame =
            frame.with_context(|| format!("reading frame {index} of {}", video.display()))?;
        if picks.contains(&index) {
            frames.push(frame);
        }
    }
    if frames.is_empty() {
        anyhow::bail!("{} has no frames", video.display());
    }
    let column: Vec<Vec<&RgbImage>> = frames.iter().map(|f| vec![f]).collect();
    dancenow_gan::images::save_png(&dancenow_gan::images::grid(&column), path)
        .with_context(|| format!("writing {}", path.display()))
}
