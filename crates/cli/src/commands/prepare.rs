//! `dancenow prepare`: a target person's video -> a training dataset folder.

use anyhow::{bail, Context, Result};
use dancenow_gan::dataset::{DatasetInfo, FrameEntry, Split};
use dancenow_gan::DatasetWriter;
use dancenow_media::FrameSource;
use dancenow_pose::crop::DEFAULT_MARGIN;
use dancenow_pose::normalize::VideoStats;
use dancenow_pose::openpose::SequenceInfo;
use dancenow_pose::render::StickFigure;
use dancenow_pose::{CropWindow, FaceBox, Frame, Person};
use tracing::info;

use super::track::Track;
use crate::args::PrepareArgs;

pub fn run(args: PrepareArgs) -> Result<()> {
    super::require_exists(&args.input, "input")?;
    if !(0.0..1.0).contains(&args.val_fraction) {
        bail!(
            "--val-fraction must be in [0, 1), got {}",
            args.val_fraction
        );
    }
    let track = Track::of(&args.input, args.poses.as_deref(), &args.detect)?;
    let (width, height) = (args.size.width, args.size.height);

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
    let bar = crate::progress::bar(Some(mapped.len() as u64), "writing the dataset", "frames");
    for (index, image) in source.by_ref().enumerate() {
        let image = image.with_context(|| format!("reading frame {index}"))?;
        bar.inc(1);
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
    bar.finish_and_clear();
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
    let info = &dataset.info;
    info!("dataset written to {}", args.output.display());
    println!("frames in the video:     {}", track.people.len());
    println!(
        "training frames:         {}",
        dataset.split(Split::Train).len()
    );
    println!(
        "validation frames:       {} (the last ones)",
        dataset.split(Split::Val).len()
    );
    println!(
        "skipped, nobody:         {}",
        info.skipped_without_person.len()
    );
    println!(
        "skipped, several people: {}",
        info.skipped_several_people.len()
    );
    println!("frames with a face box:  {with_face}");
    println!(
        "crop:                    {:.0}x{:.0} at ({:.0}, {:.0}) -> {width}x{height}",
        crop.width, crop.height, crop.x, crop.y
    );
    Ok(())
}
