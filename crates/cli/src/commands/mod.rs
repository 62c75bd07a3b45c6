//! One function per command: arguments -> the pipeline's options, the job, the results
//! printed. The work itself is in `dancenow-pipeline`.

mod device;
mod probe;

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;
use dancenow_pipeline as pipeline;
use dancenow_pipeline::demo::DemoOptions;
use dancenow_pipeline::eval::EvalOptions;
use dancenow_pipeline::normalize::NormalizeOptions;
use dancenow_pipeline::pose::PoseOptions;
use dancenow_pipeline::prepare::PrepareOptions;
use dancenow_pipeline::render::RenderOptions;
use dancenow_pipeline::train::{StopReason, TrainOptions, TrainSummary};
use dancenow_pipeline::transfer::TransferOptions;
use dancenow_pipeline::{DetectOptions, SourcePoseOptions};
use tracing::warn;

use crate::args::{self, Command, Size};
use crate::progress::Bars;

/// How a command ended, for the exit status.
pub enum Ended {
    Done,
    /// Stopped by a signal, with its work saved.
    Interrupted,
}

pub fn run(command: Command, stop: &AtomicBool) -> Result<Ended> {
    let bars = Bars::new(stop);
    match command {
        Command::Probe(args) => probe::run(args)?,
        Command::Device(args) => device::run(args)?,
        Command::Pose(args) => {
            let s = pipeline::pose::run(
                &PoseOptions {
                    input: args.input,
                    output: args.output,
                    preview: args.preview,
                    detect: detect(&args.detect),
                },
                &bars,
            )?;
            println!("frames:               {}", s.frames);
            println!("frames with a person: {}", s.with_person());
            if s.without_person > 0 {
                println!(
                    "frames with nobody:   {} (frames {})",
                    s.without_person,
                    spans(&s.gaps)
                );
            } else {
                println!("frames with nobody:   0");
            }
            println!("found again:          {} times after a loss", s.reacquired);
            if let Some([left, right]) = s.with_hands {
                println!("frames with a hand:   {left} left, {right} right");
            }
            if let Some(faces) = s.with_face {
                println!("frames with a face:   {faces}");
            }
            println!("mean body confidence: {:.3}", s.mean_confidence());
            println!(
                "time:                 {:.2} s ({:.1} fps)",
                s.seconds,
                s.fps()
            );
            if s.with_several_people > 0 {
                println!(
                    "frames with several people: {} (one person is followed: the largest at \
                     the start, or the one at --person-at; after a loss, only someone where \
                     and as big as they were last seen)",
                    s.with_several_people
                );
            }
        }
        Command::Render(args) => {
            pipeline::render::run(
                &RenderOptions {
                    poses: args.poses,
                    output: args.output,
                    over: args.over,
                    height: args.height,
                    size: args.size.map(Size::pair),
                    fps: args.fps,
                },
                &bars,
            )?;
        }
        Command::Normalize(args) => {
            pipeline::normalize::run(
                &NormalizeOptions {
                    source: args.source,
                    target: args.target,
                    output: args.output,
                    source_size: args.source_size.map(Size::pair),
                    target_size: args.target_size.map(Size::pair),
                    fps: args.fps,
                    source_poses: source_poses(&args.source_poses),
                },
                &bars,
            )?;
        }
        Command::Prepare(args) => {
            let s = pipeline::prepare::run(
                &PrepareOptions {
                    input: args.input,
                    output: args.output,
                    poses: args.poses,
                    size: args.size.pair(),
                    val_fraction: args.val_fraction,
                    detect: detect(&args.detect),
                },
                &bars,
            )?;
            println!("frames in the video:     {}", s.frames_in_video);
            println!("training frames:         {}", s.training_frames);
            println!(
                "validation frames:       {} (the last ones)",
                s.held_out_frames
            );
            println!("skipped, nobody:         {}", s.skipped_without_person);
            println!("skipped, several people: {}", s.skipped_several_people);
            println!("frames with a face box:  {}", s.frames_with_face);
            println!(
                "crop:                    {:.0}x{:.0} at ({:.0}, {:.0}) -> {}x{}",
                s.crop.width, s.crop.height, s.crop.x, s.crop.y, s.size.0, s.size.1
            );
        }
        Command::Train(args) => {
            let output = args.output.clone();
            let summary = pipeline::train::run(
                &TrainOptions {
                    data: args.data,
                    output: args.output,
                    preset: args.preset,
                    steps: args.steps,
                    resume: args.resume,
                    no_temporal: args.no_temporal,
                    paint: args.paint,
                    stage: args.stage,
                    minutes: args.minutes,
                    seed: args.seed,
                    threads: threads(args.threads),
                    device: args.device,
                },
                &bars,
                stop,
            )?;
            let (samples, plot) = pipeline::train::outputs(&output);
            println!("samples:   {}", samples.display());
            println!("loss plot: {}", plot.display());
            return Ok(ended(&summary));
        }
        Command::Transfer(args) => {
            pipeline::transfer::run(
                &TransferOptions {
                    source: args.source,
                    model: args.model,
                    output: args.output,
                    poses: args.poses,
                    side_by_side: args.side_by_side,
                    source_poses: source_poses(&args.source_poses),
                    detect: detect(&args.detect),
                },
                &bars,
            )?;
        }
        Command::Eval(args) => {
            let (_, written) = pipeline::eval::run(
                &EvalOptions {
                    model: args.model,
                    data: args.data,
                    output: args.output,
                    compare: args.compare,
                    samples: args.samples,
                    threads: threads(args.threads),
                    device: args.device,
                },
                &bars,
            )?;
            println!("report: {}", written.display());
        }
        Command::Demo(args) => {
            let s = pipeline::demo::run(
                &DemoOptions {
                    output: args.output.clone(),
                    target: args.target,
                    source: args.source,
                    size: args.size.pair(),
                    preset: args.preset,
                    paint: args.paint,
                    steps: args.steps,
                    minutes: args.minutes,
                    threads: threads(args.threads),
                    device: args.device,
                },
                &bars,
                stop,
            )?;
            println!();
            println!("demo finished; in {}:", args.output.display());
            for (path, what) in [
                (
                    &s.video,
                    "source | stick figure | generated target, side by side",
                ),
                (&s.strip, "a few frames of it as one picture"),
                (
                    &s.report.join("report.html"),
                    "the evaluation report (also report.md)",
                ),
                (
                    &s.model.join("samples"),
                    "training samples: stick figure | generated | real",
                ),
                (&s.model.join("losses.png"), "the training losses"),
            ] {
                println!("  {:<40} {what}", path.display());
            }
            if let Some((StopReason::Budget, stage, step)) = s.training.stopped {
                println!(
                    "note: the training budget ran out in the {stage} stage at step {step}; \
                     the results are from that checkpoint"
                );
            }
        }
    }
    Ok(if stop.load(Ordering::SeqCst) {
        Ended::Interrupted
    } else {
        Ended::Done
    })
}

fn ended(summary: &TrainSummary) -> Ended {
    match summary.stopped {
        Some((StopReason::Interrupted, ..)) => Ended::Interrupted,
        _ => Ended::Done,
    }
}

fn detect(args: &args::DetectArgs) -> DetectOptions {
    DetectOptions {
        fps: args.fps,
        parts: dancenow_detect::Parts {
            hands: args.hands,
            face: args.face,
        },
        person_at: args.person_at,
        threads: threads(args.threads),
        device: args.device,
    }
}

fn source_poses(args: &args::SourcePoseArgs) -> SourcePoseOptions {
    SourcePoseOptions {
        smoothing: args.smooth.0,
        keep_source_x: args.keep_source_x,
    }
}

/// Runs of frames as `0-4, 169-176, 230`, the first few only.
fn spans(runs: &[std::ops::Range<u64>]) -> String {
    /// More runs than this read as noise; the count says the rest.
    const SHOWN: usize = 8;
    let mut text: Vec<String> = runs
        .iter()
        .take(SHOWN)
        .map(|run| match run.end - run.start {
            1 => run.start.to_string(),
            _ => format!("{}-{}", run.start, run.end - 1),
        })
        .collect();
    if runs.len() > SHOWN {
        text.push(format!("and {} more runs", runs.len() - SHOWN));
    }
    text.join(", ")
}

/// `--threads`, capped at the machine's cores: more only makes the kernels wait.
fn threads(asked: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if asked > cores {
        warn!("--threads {asked} is more than the {cores} cores here; using {cores}");
        cores
    } else {
        asked
    }
}
