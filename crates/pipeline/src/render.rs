//! `render`: poses -> stick-figure video or images, optionally over the original frames.

use std::path::PathBuf;

use anyhow::{Context, Result};
use dancenow_media::{FrameSink, FrameSource};
use dancenow_pose::render::{StickFigure, WHITE};
use image::imageops::{self, FilterType};
use image::RgbImage;
use tracing::{info, warn};

use crate::progress::Progress;
use crate::track::read_poses;

#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// The folder of OpenPose JSON.
    pub poses: PathBuf,
    /// The video (or PNG folder) to write.
    pub output: PathBuf,
    /// Draw over this video's frames instead of on white.
    pub over: Option<PathBuf>,
    /// Scale the output to this height.
    pub height: Option<u32>,
    /// The poses' frame size, when the folder has no sequence.json and nothing to draw over.
    pub size: Option<(u32, u32)>,
    pub fps: Option<f64>,
}

/// Draws the poses; returns the frames written.
pub fn run(options: &RenderOptions, progress: &dyn Progress) -> Result<u64> {
    let args = options;
    // Plan: inputs exist and sizes are known before any frame is drawn.
    crate::require_exists(&args.poses, "pose folder")?;
    if let Some(over) = &args.over {
        crate::require_exists(over, "video to draw over")?;
    }
    let mut background = args
        .over
        .as_deref()
        .map(|p| FrameSource::open(p, args.fps))
        .transpose()?;
    let background_info = background.as_ref().map(FrameSource::info);
    let size = args
        .size
        .or(background_info.as_ref().map(|i| (i.width, i.height)));
    let fps = args.fps.or(background_info.as_ref().map(|i| i.fps));
    let poses = read_poses(&args.poses, size, fps, "--size", progress)?;
    let (width, height) = output_size(poses.width, poses.height, args.height);
    let (sx, sy) = (
        width as f32 / poses.width as f32,
        height as f32 / poses.height as f32,
    );

    let mut sink = FrameSink::create(&args.output, width, height, poses.fps)
        .with_context(|| format!("creating {}", args.output.display()))?;
    let figure = StickFigure::for_height(height);
    let bar = progress.phase("rendering", "frames", Some(poses.frames.len() as u64));
    for (index, frame) in poses.frames.iter().enumerate() {
        crate::progress::check(progress)?;
        let mut canvas = match background.as_mut().map(Iterator::next) {
            None => RgbImage::from_pixel(width, height, WHITE),
            Some(Some(image)) => fit(
                image.with_context(|| format!("reading frame {index} to draw over"))?,
                width,
                height,
            ),
            Some(None) => {
                warn!("the video to draw over ended after {index} frames; stopping there");
                break;
            }
        };
        for person in &frame.people {
            let mut person = person.clone();
            person.map_positions(|x, y| (x * sx, y * sy));
            figure.draw(&mut canvas, &person);
        }
        sink.write(&canvas)
            .with_context(|| format!("writing frame {index} to {}", args.output.display()))?;
        bar.inc();
    }
    drop(bar);
    let written = sink
        .finish()
        .with_context(|| format!("finishing {}", args.output.display()))?;
    info!(
        "wrote {written} frames ({width}x{height}) to {}",
        args.output.display()
    );
    Ok(written)
}

/// The output size: the poses' frame size, or scaled to `height`. Rounded to even sides,
/// which H.264 needs and images do not mind.
fn output_size(width: u32, height: u32, wanted_height: Option<u32>) -> (u32, u32) {
    let (w, h) = match wanted_height {
        Some(h) => ((width as f64 * h as f64 / height as f64).round() as u32, h),
        None => (width, height),
    };
    (even(w), even(h))
}

fn even(n: u32) -> u32 {
    (n & !1).max(2)
}

fn fit(image: RgbImage, width: u32, height: u32) -> RgbImage {
    if image.dimensions() == (width, height) {
        image
    } else {
        imageops::resize(&image, width, height, FilterType::Triangle)
    }
}
