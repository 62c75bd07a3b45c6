//! `pose`: video, image or image folder -> OpenPose JSON per frame (+ preview).

use std::ops::Range;
use std::path::PathBuf;

use anyhow::{Context, Result};
use dancenow_detect::Parts;
use dancenow_media::{FrameSink, FrameSource};
use dancenow_pose::openpose::{SequenceInfo, SequenceWriter};
use dancenow_pose::render::StickFigure;
use dancenow_pose::{Frame, Keypoint, Person};
use image::imageops;
use tracing::{info, warn};

use crate::progress::Progress;
use crate::track::DetectOptions;

#[derive(Debug, Clone)]
pub struct PoseOptions {
    pub input: PathBuf,
    /// The folder of OpenPose JSON to write.
    pub output: PathBuf,
    /// A video (or PNG folder) of the frames with their stick figures drawn over them.
    pub preview: Option<PathBuf>,
    pub detect: DetectOptions,
}

/// What a run found.
#[derive(Debug, Clone, Default)]
pub struct PoseSummary {
    pub frames: u64,
    pub without_person: u64,
    /// The runs of consecutive frames where the followed person was not found (before
    /// they were first found, or after they were lost), in order.
    pub gaps: Vec<Range<u64>>,
    /// How many times the person was found again after frames without them.
    pub reacquired: u64,
    pub with_several_people: u64,
    /// Frames with the person's left and right hand, when hands were looked for.
    pub with_hands: Option<[u64; 2]>,
    /// Frames with the person's face, when faces were looked for.
    pub with_face: Option<u64>,
    confidence_sum: f64,
    /// Decoding, detection and writing, from the first frame to the last.
    pub seconds: f64,
}

impl PoseSummary {
    /// An empty summary that counts the parts looked for.
    pub fn new(parts: Parts) -> Self {
        Self {
            with_hands: parts.hands.then_some([0, 0]),
            with_face: parts.face.then_some(0),
            ..Self::default()
        }
    }

    pub fn with_person(&self) -> u64 {
        self.frames - self.without_person
    }

    /// Mean confidence of the seen body points, over the frames with a person.
    pub fn mean_confidence(&self) -> f64 {
        let with_person = self.with_person();
        if with_person > 0 {
            self.confidence_sum / with_person as f64
        } else {
            0.0
        }
    }

    pub fn fps(&self) -> f64 {
        self.frames as f64 / self.seconds.max(1e-9)
    }

    /// Counts the next frame: the person found in it, if anyone, and how many people the
    /// detector saw when it ran.
    pub fn add(&mut self, person: Option<&Person>, detected_people: Option<usize>) {
        let frame = self.frames;
        self.frames += 1;
        if detected_people.is_some_and(|n| n > 1) {
            self.with_several_people += 1;
        }
        let after_gap = self.gaps.last().is_some_and(|gap| gap.end == frame);
        let Some(p) = person else {
            self.without_person += 1;
            match self.gaps.last_mut() {
                Some(gap) if after_gap => gap.end += 1,
                _ => self.gaps.push(frame..frame + 1),
            }
            return;
        };
        // A gap before the first frame with the person is not a loss.
        if after_gap && self.without_person < frame {
            self.reacquired += 1;
        }
        let seen: Vec<f32> = p
            .body
            .iter()
            .filter(|k| k.is_present())
            .map(|k| k.confidence)
            .collect();
        self.confidence_sum += seen.iter().sum::<f32>() as f64 / seen.len().max(1) as f64;
        let any = |points: &[Keypoint]| points.iter().any(Keypoint::is_present) as u64;
        if let Some([left, right]) = &mut self.with_hands {
            *left += any(&p.left_hand);
            *right += any(&p.right_hand);
        }
        if let Some(faces) = &mut self.with_face {
            *faces += any(&p.face);
        }
    }
}

pub fn run(options: &PoseOptions, progress: &dyn Progress) -> Result<PoseSummary> {
    let args = options;
    crate::require_exists(&args.input, "input")?;
    // Before the models load: a folder of someone else's files is refused at once.
    dancenow_pose::openpose::check_output_folder(&args.output)?;
    let mut source = FrameSource::open(&args.input, args.detect.fps)?;
    let info = source.info();
    let mut tracker = crate::track::tracker(&args.detect, info.fps)?;

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

    let mut summary = PoseSummary::new(args.detect.parts);
    let start = std::time::Instant::now();
    let bar = progress.phase("detecting poses", "frames", info.frame_count);
    let frames = source.by_ref().enumerate().map(|(index, image)| {
        image.with_context(|| format!("reading frame {index} of {}", args.input.display()))
    });
    tracker.run(frames, |index, mut image, result| {
        crate::progress::check(progress)?;
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
        bar.inc();
        Ok(())
    })?;
    drop(bar);
    writer.finish()?;
    summary.seconds = start.elapsed().as_secs_f64();
    if let (Some(sink), Some(path)) = (preview, &args.preview) {
        sink.finish()
            .with_context(|| format!("finishing {}", path.display()))?;
        info!("preview written to {}", path.display());
    }
    info!(
        "wrote {} frames of OpenPose JSON to {}",
        summary.frames,
        args.output.display()
    );
    if summary.without_person == summary.frames {
        warn!("no person was found in any frame");
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_left_hand() -> Person {
        let mut person = Person::default();
        person.body[0] = Keypoint::new(10.0, 10.0, 0.9);
        person.left_hand[0] = Keypoint::new(12.0, 30.0, 0.8);
        person
    }

    #[test]
    fn the_summary_says_where_the_person_was_lost_and_found_again() {
        let mut summary = PoseSummary::new(Parts {
            hands: true,
            face: false,
        });
        let person = with_left_hand();
        // Not yet found, found, lost twice (once for three frames), found again.
        let frames = [None, None, Some(&person), None, Some(&person)];
        let frames = frames.into_iter().chain([None, None, None, Some(&person)]);
        for (t, p) in frames.enumerate() {
            summary.add(p, (t == 0).then_some(2));
        }
        assert_eq!(summary.frames, 9);
        assert_eq!(summary.without_person, 6);
        assert_eq!(summary.gaps, vec![0..2, 3..4, 5..8]);
        assert_eq!(summary.reacquired, 2);
        assert_eq!(summary.with_several_people, 1);
        assert_eq!(summary.with_hands, Some([3, 0]));
        assert_eq!(summary.with_face, None);
    }
}
