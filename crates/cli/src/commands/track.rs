//! A video's person track for `prepare` and `transfer`: detected here, or read from a
//! folder of OpenPose JSON the user brings.

use std::path::Path;

use anyhow::{Context, Result};
use dancenow_detect::{Parts, Tracker};
use dancenow_media::FrameSource;
use dancenow_pose::Person;

use crate::args::DetectArgs;

/// One person per frame, and which frames showed several people.
pub struct Track {
    pub fps: f64,
    pub width: u32,
    pub height: u32,
    pub people: Vec<Option<Person>>,
    pub several: Vec<bool>,
}

impl Track {
    /// The poses of `input`: from `poses` (OpenPose JSON) when given, else detected.
    pub fn of(input: &Path, poses: Option<&Path>, detect: &DetectArgs) -> Result<Self> {
        let source = FrameSource::open(input, detect.fps)
            .with_context(|| format!("opening {}", input.display()))?;
        let info = source.info();
        let track = match poses {
            Some(dir) => {
                super::require_exists(dir, "pose folder")?;
                let size = Some(crate::args::Size {
                    width: info.width,
                    height: info.height,
                });
                let sequence = super::read_poses(dir, size, Some(info.fps), "--size")?;
                Self {
                    fps: info.fps,
                    width: info.width,
                    height: info.height,
                    several: sequence.frames.iter().map(|f| f.people.len() > 1).collect(),
                    people: sequence.first_person_track(),
                }
            }
            None => Self::detect(source, detect)?,
        };
        if let Some(count) = info.frame_count {
            if track.people.len() as u64 != count {
                tracing::warn!(
                    "{} has {count} frames but {} poses",
                    input.display(),
                    track.people.len()
                );
            }
        }
        Ok(track)
    }

    fn detect(mut source: FrameSource, args: &DetectArgs) -> Result<Self> {
        let info = source.info();
        let mut tracker = tracker(args)?;
        let (mut people, mut several) = (Vec::new(), Vec::new());
        let bar = crate::progress::bar(info.frame_count, "detecting poses", "frames");
        let frames = source
            .by_ref()
            .enumerate()
            .map(|(index, image)| image.with_context(|| format!("reading frame {index}")));
        tracker.run(frames, |index, _, result| {
            let result = result.with_context(|| format!("detecting the pose in frame {index}"))?;
            several.push(result.detected_people.is_some_and(|n| n > 1));
            people.push(result.person);
            bar.inc(1);
            Ok(())
        })?;
        bar.finish_and_clear();
        Ok(Self {
            fps: info.fps,
            width: info.width,
            height: info.height,
            people,
            several,
        })
    }
}

/// The pose tracker as the detection options ask: device, threads, parts, the person to
/// follow.
pub fn tracker(args: &DetectArgs) -> Result<Tracker> {
    let device = args.device.resolve()?;
    dancenow_nn::set_cpu_threads(args.threads);
    let parts = Parts {
        hands: args.hands,
        face: args.face,
    };
    let models = crate::assets::mediapipe_models()?;
    let tracker = Tracker::load(&models, device, parts).context("loading the pose models")?;
    Ok(match args.person_at {
        Some((x, y)) => tracker.start_near(x, y),
        None => tracker,
    })
}
