//! `dancenow transfer`: a source dancer's video + a trained model -> the target person
//! dancing. Frames stream from the source to the output: memory does not grow with the
//! video's length (only its poses are held, a few kilobytes a frame).

use anyhow::{Context, Result};
use dancenow_gan::{ModelDir, Renderer};
use dancenow_media::{FrameSink, FrameSource};
use dancenow_pose::normalize::{Normalization, VideoStats};
use dancenow_pose::render::StickFigure;
use dancenow_pose::{FaceBox, Frame};
use image::{imageops, RgbImage};
use tracing::{info, warn};

use super::track::Track;
use crate::args::TransferArgs;

pub fn run(args: TransferArgs) -> Result<()> {
    super::require_exists(&args.source, "source")?;
    super::require_exists(&args.model, "model")?;
    let model = ModelDir::new(&args.model);
    let device = args.detect.device.resolve()?;
    let mut renderer = Renderer::load(&model, device)
        .with_context(|| format!("loading the model in {}", args.model.display()))?;
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

    let track = Track::of(&args.source, args.poses.as_deref(), &args.detect)?;
    let mut people = track.people.clone();
    if let Some(smoothing) = args.smooth.0 {
        people = smoothing.apply(&people);
    }
    let source_stats = VideoStats::measure(&people, track.width, track.height)
        .with_context(|| format!("measuring the source dancer in {}", args.source.display()))?;
    let mut normalization = Normalization::new(source_stats, target.stats.clone());
    if !args.keep_source_x {
        if target.stats.median_x.is_none() {
            warn!(
                "{} was trained on data prepared before dancenow measured where the target \
                 stands; the dancer is placed about the frame centre",
                args.model.display()
            );
        }
        normalization = normalization.aligned_horizontally();
    }
    let normalized = normalization.apply(&people);
    let n = &normalized.normalization;
    info!(
        "normalization: scale {:.3} (far) to {:.3} (close)",
        n.scale_far, n.scale_close
    );
    if !normalized.frames_without_ankles.is_empty() {
        warn!(
            "{} source frames show no ankle; they took the nearest frame's transform",
            normalized.frames_without_ankles.len()
        );
    }

    // The source panel of a side-by-side: the source frame at the model's height.
    let source_width =
        ((track.width as f64 * height as f64 / track.height as f64).round() as u32 + 1) & !1;
    let out_width = if args.side_by_side {
        source_width + 2 * width
    } else {
        width
    };
    let mut sink = FrameSink::create(&args.output, out_width, height, track.fps)
        .with_context(|| format!("creating {}", args.output.display()))?;
    let mut frames = args
        .side_by_side
        .then(|| FrameSource::open(&args.source, args.detect.fps))
        .transpose()?;

    let bar = crate::progress::bar(Some(normalized.track.len() as u64), "generating", "frames");
    for (index, person) in normalized.track.iter().enumerate() {
        let figure = StickFigure::render(
            &Frame {
                people: person.iter().cloned().collect(),
            },
            width,
            height,
        );
        let face = person.as_ref().and_then(|p| FaceBox::of(p, width, height));
        let generated = renderer.render(&figure, face);
        let frame = match frames.as_mut() {
            None => generated,
            Some(source) => {
                let original = source
                    .next()
                    .with_context(|| format!("{} ended before its poses", args.source.display()))?
                    .with_context(|| {
                        format!("reading frame {index} of {}", args.source.display())
                    })?;
                let panel = imageops::resize(
                    &original,
                    source_width,
                    height,
                    imageops::FilterType::Triangle,
                );
                let mut out = RgbImage::new(out_width, height);
                imageops::replace(&mut out, &panel, 0, 0);
                imageops::replace(&mut out, &figure, source_width as i64, 0);
                imageops::replace(&mut out, &generated, (source_width + width) as i64, 0);
                out
            }
        };
        sink.write(&frame)
            .with_context(|| format!("writing frame {index} of {}", args.output.display()))?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let written = sink
        .finish()
        .with_context(|| format!("finishing {}", args.output.display()))?;
    info!(
        "wrote {written} frames ({out_width}x{height}, {:.2} fps) to {}",
        track.fps,
        args.output.display()
    );
    Ok(())
}
