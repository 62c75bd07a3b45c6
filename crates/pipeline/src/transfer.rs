//! `transfer`: a source dancer's video + a trained model -> the target person dancing.
//! Frames stream from the source to the output: memory does not grow with the video's
//! length (only its poses are held, a few kilobytes a frame).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use dancenow_gan::{ModelDir, Renderer, Target};
use dancenow_media::{FrameSink, FrameSource};
use dancenow_pose::crop::DEFAULT_FEATHER;
use dancenow_pose::render::StickFigure;
use dancenow_pose::{CropWindow, FaceBox, Frame, Person};
use image::{imageops, RgbImage};
use tracing::{info, warn};

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

    let stage = Stage::of(&model, &target, (width, height))?;
    let (frame_width, frame_height) = stage.size();
    // Side by side: source | stick figure | output, at the output's height within limits.
    let panel_height = even(frame_height.clamp(MIN_PANEL_HEIGHT, MAX_PANEL_HEIGHT));
    let scaled_width =
        |w: u32, h: u32| even((w as f64 * panel_height as f64 / h as f64).round() as u32);
    let panels = [
        scaled_width(track.width, track.height),
        scaled_width(width, height),
        scaled_width(frame_width, frame_height),
    ];
    let (out_width, out_height) = if options.side_by_side {
        (panels.iter().sum(), panel_height)
    } else {
        (frame_width, frame_height)
    };
    let mut sink = FrameSink::create_with_audio(
        &options.output,
        out_width,
        out_height,
        track.fps,
        Some(&options.source),
    )
    .with_context(|| format!("creating {}", options.output.display()))?;
    let mut frames = options
        .side_by_side
        .then(|| FrameSource::open(&options.source, options.detect.fps))
        .transpose()?;

    let bar = progress.phase("generating", "frames", Some(poses.len() as u64));
    for (index, person) in poses.iter().enumerate() {
        crate::progress::check(progress)?;
        let figure = stick_figure(person.as_ref(), width, height);
        let generated = match person {
            Some(person) => Some(
                renderer
                    .render(&figure, FaceBox::of(person, width, height))
                    .with_context(|| format!("generating frame {index}"))?,
            ),
            // Nobody to show: the next person starts a new shot.
            None => {
                renderer.reset();
                None
            }
        };
        let frame = stage.frame(generated.as_ref(), &figure);
        let frame = match frames.as_mut() {
            None => frame,
            Some(source) => {
                let original = source
                    .next()
                    .with_context(|| {
                        format!("{} ended before its poses", options.source.display())
                    })?
                    .with_context(|| {
                        format!("reading frame {index} of {}", options.source.display())
                    })?;
                side_by_side([&original, &figure, &frame], panels, panel_height)
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
        "wrote {frames} frames ({out_width}x{out_height}, {:.2} fps) to {}",
        track.fps,
        options.output.display()
    );
    Ok(TransferSummary {
        frames,
        width: out_width,
        height: out_height,
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

/// The smallest height of a side-by-side panel, so that a small model's output is seen.
const MIN_PANEL_HEIGHT: u32 = 256;
/// The largest: three 1080p panels side by side would make a video few players show.
const MAX_PANEL_HEIGHT: u32 = 720;

/// H.264 needs even sides.
fn even(n: u32) -> u32 {
    (n & !1).max(2)
}

/// Where generated frames are shown: the target's own full-size frame, or (for models
/// made before dancenow kept the background) the model's frame alone.
enum Stage {
    /// The background plate at the target video's size, and where the model's frames lie
    /// in it.
    Full {
        plate: RgbImage,
        crop: CropWindow,
    },
    Model {
        width: u32,
        height: u32,
    },
}

impl Stage {
    fn of(model: &ModelDir, target: &Target, (width, height): (u32, u32)) -> Result<Self> {
        let path = model.plate_path();
        match (target.crop, path.is_file()) {
            (Some(crop), true) => {
                let plate = image::open(&path)
                    .with_context(|| format!("reading the background plate {}", path.display()))?
                    .to_rgb8();
                if target
                    .video_size
                    .is_some_and(|size| size != plate.dimensions())
                {
                    bail!(
                        "{}: the plate is {}x{}, but the target video was {:?}",
                        path.display(),
                        plate.width(),
                        plate.height(),
                        target.video_size
                    );
                }
                Ok(Self::Full { plate, crop })
            }
            _ => {
                warn!(
                    "{} holds no background plate (made before dancenow kept one); the output \
                     is the model's {width}x{height} frame",
                    model.root().display()
                );
                Ok(Self::Model { width, height })
            }
        }
    }

    fn size(&self) -> (u32, u32) {
        match self {
            Self::Full { plate, .. } => (even(plate.width()), even(plate.height())),
            Self::Model { width, height } => (even(*width), even(*height)),
        }
    }

    /// The output frame: the generated person pasted into the plate (the plate alone when
    /// nobody is there).
    fn frame(&self, generated: Option<&RgbImage>, figure: &RgbImage) -> RgbImage {
        let (width, height) = self.size();
        let frame = match (self, generated) {
            (Self::Full { plate, crop }, generated) => {
                let mut frame = plate.clone();
                if let Some(generated) = generated {
                    crop.paste(generated, &mut frame, DEFAULT_FEATHER);
                }
                frame
            }
            (Self::Model { .. }, Some(generated)) => generated.clone(),
            (Self::Model { .. }, None) => {
                RgbImage::from_pixel(figure.width(), figure.height(), image::Rgb([0, 0, 0]))
            }
        };
        if frame.dimensions() == (width, height) {
            frame
        } else {
            imageops::crop_imm(&frame, 0, 0, width, height).to_image()
        }
    }
}

/// The panels scaled to `height` and `widths`, left to right.
fn side_by_side(images: [&RgbImage; 3], widths: [u32; 3], height: u32) -> RgbImage {
    let mut out = RgbImage::new(widths.iter().sum(), height);
    let mut x = 0;
    for (image, width) in images.into_iter().zip(widths) {
        let panel = if image.dimensions() == (width, height) {
            image.clone()
        } else {
            imageops::resize(image, width, height, imageops::FilterType::Triangle)
        };
        imageops::replace(&mut out, &panel, x as i64, 0);
        x += width;
    }
    out
}
