//! `transfer`: a source dancer's video + a trained model -> the target person dancing.
//! Frames stream from the source to the output: memory does not grow with the video's
//! length (only its poses are held, a few kilobytes a frame).

use std::path::PathBuf;

use anyhow::{Context, Result};
use dancenow_gan::{ModelDir, Renderer};
use dancenow_media::{FrameSink, FrameSource};
use dancenow_pose::render::StickFigure;
use dancenow_pose::{FaceBox, Frame, Person};
use image::{imageops, RgbImage};
use tracing::info;

use crate::progress::Progress;
use crate::source_poses::{self, SourcePoseOptions};
use crate::track::{DetectOptions, Track};

#[derive(Debug, Clone)]
pub struct TransferOptions {
    /// The source dancer's video (or image folder).
    pub source: PathBuf,
    /// The trained model's folder.
    pub model: PathBuf,
    /// The output video (or image folder).
    pub output: PathBuf,
    /// The source's poses as OpenPose JSON, instead of detecting them.
    pub poses: Option<PathBuf>,
    /// source | stick figure | output, side by side.
    pub side_by_side: bool,
    pub source_poses: SourcePoseOptions,
    pub detect: DetectOptions,
}

/// What a transfer wrote.
#[derive(Debug, Clone)]
pub struct TransferSummary {
    pub frames: u64,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
}

pub fn run(options: &TransferOptions, progress: &dyn Progress) -> Result<TransferSummary> {
    crate::require_exists(&options.source, "source")?;
    crate::require_exists(&options.model, "model")?;
    let model = ModelDir::new(&options.model);
    let device = options.detect.device.resolve()?;
    let mut renderer = Renderer::load(&model, device)
        .with_context(|| format!("loading the model in {}", options.model.display()))?;
    let target = model.read_target()?;
    let (width, height) = (renderer.config.width, renderer.config.height);
    info!(
        "model: {}x{}, {} stage at step {}{}",
        width,
        height,
        renderer.stage(),
        renderer.step,
        if renderer.has_face() {
            ", with the face GAN"
        } else {
            ""
        }
    );

    let track = Track::of(
        &options.source,
        options.poses.as_deref(),
        &options.detect,
        progress,
    )?;
    let poses = figure_poses(&track, &target.stats, &options.source_poses)
        .with_context(|| format!("normalizing the dancer in {}", options.source.display()))?;

    // The source panel of a side-by-side: the source frame at the model's height.
    let source_width =
        ((track.width as f64 * height as f64 / track.height as f64).round() as u32 + 1) & !1;
    let out_width = if options.side_by_side {
        source_width + 2 * width
    } else {
        width
    };
    let mut sink = FrameSink::create(&options.output, out_width, height, track.fps)
        .with_context(|| format!("creating {}", options.output.display()))?;
    let mut frames = options
        .side_by_side
        .then(|| FrameSource::open(&options.source, options.detect.fps))
        .transpose()?;

    let bar = progress.phase("generating", "frames", Some(poses.len() as u64));
    for (index, person) in poses.iter().enumerate() {
        let figure = stick_figure(person.as_ref(), width, height);
        let face = person.as_ref().and_then(|p| FaceBox::of(p, width, height));
        let generated = renderer
            .render(&figure, face)
            .with_context(|| format!("generating frame {index}"))?;
        let frame = match frames.as_mut() {
            None => generated,
            Some(source) => {
                let original = source
                    .next()
                    .with_context(|| {
                        format!("{} ended before its poses", options.source.display())
                    })?
                    .with_context(|| {
                        format!("reading frame {index} of {}", options.source.display())
                    })?;
                side_by_side(&original, &figure, &generated, source_width)
            }
        };
        sink.write(&frame)
            .with_context(|| format!("writing frame {index} of {}", options.output.display()))?;
        bar.inc();
    }
    drop(bar);
    let frames = sink
        .finish()
        .with_context(|| format!("finishing {}", options.output.display()))?;
    info!(
        "wrote {frames} frames ({out_width}x{height}, {:.2} fps) to {}",
        track.fps,
        options.output.display()
    );
    Ok(TransferSummary {
        frames,
        width: out_width,
        height,
        fps: track.fps,
    })
}

/// The poses whose stick figures the generator is given, one per source frame, in the
/// model's pixels.
pub fn figure_poses(
    track: &Track,
    target: &dancenow_pose::normalize::VideoStats,
    options: &SourcePoseOptions,
) -> Result<Vec<Option<Person>>> {
    let normalized =
        source_poses::normalize(&track.people, (track.width, track.height), target, options)?;
    Ok(normalized.track)
}

/// The stick figure of one frame (white where nobody is).
pub fn stick_figure(person: Option<&Person>, width: u32, height: u32) -> RgbImage {
    StickFigure::render(
        &Frame {
            people: person.into_iter().cloned().collect(),
        },
        width,
        height,
    )
}

fn side_by_side(
    original: &RgbImage,
    figure: &RgbImage,
    generated: &RgbImage,
    source_width: u32,
) -> RgbImage {
    let (width, height) = generated.dimensions();
    let panel = imageops::resize(
        original,
        source_width,
        height,
        imageops::FilterType::Triangle,
    );
    let mut out = RgbImage::new(source_width + 2 * width, height);
    imageops::replace(&mut out, &panel, 0, 0);
    imageops::replace(&mut out, figure, source_width as i64, 0);
    imageops::replace(&mut out, generated, (source_width + width) as i64, 0);
    out
}
