//! `dancenow pose`: video, image or image folder -> OpenPose JSON per frame (+ preview).

use anyhow::{Context, Result};
use dancenow_media::{FrameSink, FrameSource};
use dancenow_pose::openpose::{SequenceInfo, SequenceWriter};
use dancenow_pose::render::StickFigure;
use dancenow_pose::{Frame, Person};
use image::imageops;
use tracing::{info, warn};

use crate::args::PoseArgs;

/// What a run found, for the closing summary.
#[derive(Default)]
struct Summary {
    frames: u64,
    without_person: u64,
    with_several_people: u64,
    confidence_sum: f64,
    /// Decoding, detection and writing, from the first frame to the last.
    seconds: f64,
}

impl Summary {
    fn add(&mut self, person: Option<&Person>, detected_people: Option<usize>) {
        self.frames += 1;
        if detected_people.is_some_and(|n| n > 1) {
            self.with_several_people += 1;
        }
        match person {
            None => self.without_person += 1,
            Some(p) => {
                let seen: Vec<f32> = p
                    .body
                    .iter()
                    .filter(|k| k.is_present())
                    .map(|k| k.confidence)
                    .collect();
                self.confidence_sum += seen.iter().sum::<f32>() as f64 / seen.len().max(1) as f64;
            }
        }
    }
}

pub fn run(args: PoseArgs) -> Result<()> {
    super::require_exists(&args.input, "input")?;
    let mut source = FrameSource::open(&args.input, args.detect.fps)?;
    let info = source.info();
    let mut tracker = super::track::tracker(&args.detect)?;

    let name = args
        .input
        .file_stem()
        .and_then(|n| n.to_str())
        .unwrap_or("frame")
        .to_string();
    let mut writer = SequenceWriter::create(
        &args.output,
        &name,
        SequenceInfo {
            fps: info.fps,
            width: info.width,
            height: info.height,
        },
    )?;
    // H.264 needs even sides; the preview drops a last odd row or column.
    let (preview_w, preview_h) = (info.width & !1, info.height & !1);
    let mut preview = args
        .preview
        .as_deref()
        .map(|path| {
            FrameSink::create(path, preview_w, preview_h, info.fps)
                .with_context(|| format!("creating {}", path.display()))
        })
        .transpose()?;
    let figure = StickFigure::for_height(info.height);

    let mut summary = Summary::default();
    let start = std::time::Instant::now();
    let bar = crate::progress::bar(info.frame_count, "detecting poses", "frames");
    let frames = source.by_ref().enumerate().map(|(index, image)| {
        image.with_context(|| format!("reading frame {index} of {}", args.input.display()))
    });
    tracker.run(frames, |index, mut image, result| {
        let result = result.with_context(|| format!("detecting the pose in frame {index}"))?;
        summary.add(result.person.as_ref(), result.detected_people);
        writer.write(&Frame {
            people: result.person.iter().cloned().collect(),
        })?;
        if let Some(sink) = preview.as_mut() {
            if let Some(person) = &result.person {
                figure.draw(&mut image, person);
            }
            let image = imageops::crop_imm(&image, 0, 0, preview_w, preview_h).to_image();
            sink.write(&image)
                .with_context(|| format!("writing frame {index} of the preview"))?;
        }
        bar.inc(1);
        Ok(())
    })?;
    bar.finish_and_clear();
    summary.seconds = start.elapsed().as_secs_f64();
    if let (Some(sink), Some(path)) = (preview, &args.preview) {
        sink.finish()
            .with_context(|| format!("finishing {}", path.display()))?;
        info!("preview written to {}", path.display());
    }
    report(&summary, &args.output);
    Ok(())
}

fn report(s: &Summary, output: &std::path::Path) {
    let with_person = s.frames - s.without_person;
    let mean_confidence = if with_person > 0 {
        s.confidence_sum / with_person as f64
    } else {
        0.0
    };
    info!(
        "wrote {} frames of OpenPose JSON to {}",
        s.frames,
        output.display()
    );
    println!("frames:               {}", s.frames);
    println!("frames with a person: {with_person}");
    println!("frames with nobody:   {}", s.without_person);
    println!("mean body confidence: {mean_confidence:.3}");
    println!(
        "time:                 {:.2} s ({:.1} fps)",
        s.seconds,
        s.frames as f64 / s.seconds.max(1e-9)
    );
    if s.with_several_people > 0 {
        println!(
            "frames with several people: {} (one person is followed: the largest at the start)",
            s.with_several_people
        );
    }
    if s.without_person == s.frames {
        warn!("no person was found in any frame");
    }
}
