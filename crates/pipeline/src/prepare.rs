//! `prepare`: a target person's video -> a training dataset folder.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use dancenow_gan::dataset::{DatasetInfo, FrameEntry, Split};
use dancenow_gan::plate::{PlateBuilder, SEEN};
use dancenow_gan::DatasetWriter;
use dancenow_media::FrameSource;
use dancenow_pose::crop::DEFAULT_MARGIN;
use dancenow_pose::mask::{person_mask, DEFAULT_MASK_MARGIN};
use dancenow_pose::normalize::VideoStats;
use dancenow_pose::openpose::SequenceInfo;
use dancenow_pose::render::StickFigure;
use dancenow_pose::{CropWindow, FaceBox, Frame, Person};
use image::GrayImage;
use tracing::info;

use crate::progress::Progress;
use crate::track::{DetectOptions, Track};

#[derive(Debug, Clone)]
pub struct PrepareOptions {
    /// The target person's video (or image folder).
    pub input: PathBuf,
    /// The dataset folder to write.
    pub output: PathBuf,
    /// The target's poses as OpenPose JSON, instead of detecting them.
    pub poses: Option<PathBuf>,
    /// The size of the dataset's images (width, height).
    pub size: (u32, u32),
    /// The fraction of frames, at the end of the video, held out for evaluation.
    pub val_fraction: f64,
    pub detect: DetectOptions,
}

/// What `prepare` wrote.
#[derive(Debug, Clone)]
pub struct PrepareSummary {
    pub frames_in_video: usize,
    pub training_frames: usize,
    pub held_out_frames: usize,
    pub skipped_without_person: usize,
    pub skipped_several_people: usize,
    pub frames_with_face: usize,
    pub crop: CropWindow,
    pub size: (u32, u32),
}

pub fn run(options: &PrepareOptions, progress: &dyn Progress) -> Result<PrepareSummary> {
    let args = options;
    crate::require_exists(&args.input, "input")?;
    if !(0.0..1.0).contains(&args.val_fraction) {
        bail!(
            "--val-fraction must be in [0, 1), got {}",
            args.val_fraction
        );
    }
    // Before any work: a folder of the user's is refused, not emptied after an hour.
    dancenow_gan::dataset::check_output(&args.output)?;
    let track = Track::of(&args.input, args.poses.as_deref(), &args.detect, progress)?;
    let (width, height) = args.size;

    // Training frames show exactly one person.
    let kept: Vec<Option<Person>> = track
        .people
        .iter()
        .zip(&track.several)
        .map(|(p, several)| if *several { None } else { p.clone() })
        .collect();
    let crop = CropWindow::around(
        &kept,
        track.width,
        track.height,
        width,
        height,
        DEFAULT_MARGIN,
    )
    .with_context(|| format!("framing the person in {}", args.input.display()))?;
    let mapped: Vec<Option<Person>> = kept
        .iter()
        .map(|p| {
            p.clone().map(|mut p| {
                crop.map(&mut p);
                p
            })
        })
        .collect();
    let stats = VideoStats::measure(&mapped, width, height).with_context(|| {
        format!(
            "measuring the target's normalization statistics in {} (the ankles must be seen in some frames)",
            args.input.display()
        )
    })?;

    let indices: Vec<usize> = (0..mapped.len()).filter(|&i| mapped[i].is_some()).collect();
    let n_val = if indices.len() < 2 {
        0
    } else {
        ((indices.len() as f64 * args.val_fraction).ceil() as usize).min(indices.len() - 1)
    };
    let first_val = indices.len() - n_val;

    let writer = DatasetWriter::create(
        &args.output,
        SequenceInfo {
            fps: track.fps,
            width,
            height,
        },
    )?;
    let mut frames = Vec::with_capacity(indices.len());
    let mut source = FrameSource::open(&args.input, args.detect.fps)?;
    let bar = progress.phase("writing the dataset", "frames", Some(mapped.len() as u64));
    let mut plate = PlateBuilder::new(track.width, track.height);
    for (index, image) in source.by_ref().enumerate() {
        crate::progress::check(progress)?;
        let image = image.with_context(|| format!("reading frame {index}"))?;
        bar.inc();
        offer_to_plate(&mut plate, index, &image, &track)?;
        let Some(Some(person)) = mapped.get(index) else {
            continue;
        };
        let cropped = crop.crop(&image);
        let drawn = StickFigure::render(
            &Frame {
                people: vec![person.clone()],
            },
            width,
            height,
        );
        writer.write_frame(index, &cropped, &drawn, person)?;
        let split = if frames.len() >= first_val {
            Split::Val
        } else {
            Split::Train
        };
        frames.push(FrameEntry {
            index,
            split,
            face: FaceBox::of(person, width, height),
        });
    }
    drop(bar);
    let plate = plate
        .finish()
        .with_context(|| format!("estimating the background of {}", args.input.display()))?;
    let seen = plate.seen.pixels().filter(|p| p.0[0] == SEEN).count() as f64
        / (plate.seen.width() as f64 * plate.seen.height() as f64);
    info!(
        "background plate: median of {} frames; {:.0}% of it seen behind the person",
        plate.samples,
        seen * 100.0
    );
    writer.write_plate(&plate)?;
    if frames.len() != indices.len() {
        bail!(
            "{} ended after {} frames, but its poses cover {}",
            args.input.display(),
            frames.len(),
            indices.len()
        );
    }

    let skipped_without_person: Vec<usize> = (0..track.people.len())
        .filter(|&i| track.people[i].is_none() && !track.several[i])
        .collect();
    let skipped_several_people: Vec<usize> = (0..track.people.len())
        .filter(|&i| track.several[i])
        .collect();
    let with_face = frames.iter().filter(|f| f.face.is_some()).count();
    let dataset = writer.finish(DatasetInfo {
        format: String::new(),
        source: args.input.display().to_string(),
        fps: track.fps,
        video_width: track.width,
        video_height: track.height,
        width,
        height,
        crop,
        stats,
        frames,
        skipped_without_person,
        skipped_several_people,
    })?;
    info!("dataset written to {}", args.output.display());
    Ok(PrepareSummary {
        frames_in_video: track.people.len(),
        training_frames: dataset.split(Split::Train).len(),
        held_out_frames: dataset.split(Split::Val).len(),
        skipped_without_person: dataset.info.skipped_without_person.len(),
        skipped_several_people: dataset.info.skipped_several_people.len(),
        frames_with_face: with_face,
        crop,
        size: (width, height),
    })
}

/// Offers a frame to the background estimate, with where its person may be. Frames with
/// several people are left out: the others are not masked and would stay in the plate.
fn offer_to_plate(
    plate: &mut PlateBuilder,
    index: usize,
    image: &image::RgbImage,
    track: &Track,
) -> Result<()> {
    if track.several.get(index).copied().unwrap_or(true) || !plate.wants(index as u64) {
        return Ok(());
    }
    let mask = match track.people.get(index).and_then(Option::as_ref) {
        Some(person) => person_mask(person, track.width, track.height, DEFAULT_MASK_MARGIN),
        None => GrayImage::new(track.width, track.height),
    };
    plate.add(index as u64, image, &mask)?;
    Ok(())
}
