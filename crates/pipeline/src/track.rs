//! A video's person track: detected with the pose models, or read from a folder of
//! OpenPose JSON the user brings.

use std::path::Path;

use anyhow::{bail, Context, Result};
use dancenow_detect::{Parts, Tracker};
use dancenow_media::FrameSource;
use dancenow_nn::DeviceChoice;
use dancenow_pose::openpose::{self, SequenceInfo};
use dancenow_pose::{Person, PoseError, PoseSequence};

use crate::pose::PoseSummary;
use crate::progress::Progress;

/// How poses are detected.
#[derive(Debug, Clone)]
pub struct DetectOptions {
    /// Frame rate of an image folder (videos carry their own).
    pub fps: Option<f64>,
    pub parts: Parts,
    /// Follow the person nearest to this point (pixels) instead of the largest.
    pub person_at: Option<(f32, f32)>,
    /// CPU threads; 0 for one per core.
    pub threads: usize,
    pub device: DeviceChoice,
}

impl Default for DetectOptions {
    fn default() -> Self {
        Self {
            fps: None,
            parts: Parts::default(),
            person_at: None,
            threads: 0,
            device: DeviceChoice::Auto,
        }
    }
}

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
    pub fn of(
        input: &Path,
        poses: Option<&Path>,
        detect: &DetectOptions,
        progress: &dyn Progress,
    ) -> Result<Self> {
        let source = FrameSource::open(input, detect.fps)
            .with_context(|| format!("opening {}", input.display()))?;
        let info = source.info();
        let track = match poses {
            Some(dir) => {
                crate::require_exists(dir, "pose folder")?;
                let size = Some((info.width, info.height));
                let sequence = read_poses(dir, size, Some(info.fps), "--size", progress)?;
                // Poses of another video, of the same length or not, would be placed
                // wrongly in every frame.
                if (sequence.width, sequence.height) != (info.width, info.height) {
                    bail!(
                        "the poses in {} are of {}x{} frames (sequence.json), but {} is {}x{}; \
                         give the poses of this video",
                        dir.display(),
                        sequence.width,
                        sequence.height,
                        input.display(),
                        info.width,
                        info.height
                    );
                }
                Self {
                    fps: info.fps,
                    width: info.width,
                    height: info.height,
                    several: sequence.frames.iter().map(|f| f.people.len() > 1).collect(),
                    people: sequence.first_person_track(),
                }
            }
            None => Self::detect(source, detect, progress)?,
        };
        if let Some(count) = info.frame_count.filter(|&n| n != track.people.len() as u64) {
            // Read poses of another cut of the video would be misplaced in time; a
            // container's frame count that decoding does not reach (an AVI header
            // counting one frame more) is no news to the user.
            if poses.is_some() {
                tracing::warn!(
                    "{} has {count} frames but {} poses",
                    input.display(),
                    track.people.len()
                );
            } else {
                tracing::debug!(
                    "{}: the container says {count} frames, {} decoded",
                    input.display(),
                    track.people.len()
                );
            }
        }
        Ok(track)
    }

    fn detect(
        mut source: FrameSource,
        options: &DetectOptions,
        progress: &dyn Progress,
    ) -> Result<Self> {
        let info = source.info();
        let mut tracker = tracker(options, info.fps)?;
        let (mut people, mut several) = (Vec::new(), Vec::new());
        let bar = progress.phase("detecting poses", "frames", info.frame_count);
        let frames = source
            .by_ref()
            .enumerate()
            .map(|(index, image)| image.with_context(|| format!("reading frame {index}")));
        let mut summary = PoseSummary::new(options.parts);
        tracker.run(frames, |index, _, result| {
            crate::progress::check(progress)?;
            let result = result.with_context(|| format!("detecting the pose in frame {index}"))?;
            summary.add(result.person.as_ref(), result.detected_people);
            several.push(result.detected_people.is_some_and(|n| n > 1));
            people.push(result.person);
            bar.inc();
            Ok(())
        })?;
        drop(bar);
        if summary.without_person > 0 {
            tracing::info!(
                "the followed person was not found in {} of {} frames ({} runs), and found \
                 again {} times after a loss",
                summary.without_person,
                summary.frames,
                summary.gaps.len(),
                summary.reacquired
            );
        }
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
/// follow; for a video of `fps` frames a second.
pub fn tracker(options: &DetectOptions, fps: f64) -> Result<Tracker> {
    let device = options.device.resolve()?;
    dancenow_nn::set_cpu_threads(options.threads);
    let models = crate::assets::mediapipe_models()?;
    let tracker = Tracker::load(&models, device, options.parts)
        .context("loading the pose models")?
        .with_frame_rate(fps);
    Ok(match options.person_at {
        Some((x, y)) => tracker.start_near(x, y),
        None => tracker,
    })
}

/// Reads a folder of OpenPose JSON; `size`/`fps` stand in for a missing sequence.json,
/// and `size_flag` names the option that gives the size.
pub fn read_poses(
    dir: &Path,
    size: Option<(u32, u32)>,
    fps: Option<f64>,
    size_flag: &str,
    progress: &dyn Progress,
) -> Result<PoseSequence> {
    let fallback = size.map(|(width, height)| SequenceInfo {
        fps: fps.unwrap_or(dancenow_media::DEFAULT_FOLDER_FPS),
        width,
        height,
    });
    // The length is known once the folder is listed; the first report sets it.
    let bar = progress.phase("reading poses", "files", None);
    let read = openpose::read_sequence_reporting(dir, fallback, |done, total| {
        bar.set_total(total as u64);
        bar.set_position(done as u64);
    });
    match read {
        Err(PoseError::NoSequenceInfo { .. }) => bail!(
            "{} has no sequence.json (OpenPose does not record the video's size); \
             give the frame size with {size_flag} WxH (and --fps)",
            dir.display()
        ),
        read => Ok(read?),
    }
}
