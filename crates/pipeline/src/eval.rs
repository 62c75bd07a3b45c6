//! `eval`: the paper's measures (section 5) on the held-out frames of the dataset a
//! model was trained on, written as a report.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use dancenow_detect::{Parts, Tracker};
use dancenow_gan::dataset::{FrameEntry, Split};
use dancenow_gan::{Dataset, ModelDir, Renderer};
use dancenow_metrics::{ssim_images, Accelerations, Backbone, Lpips, Part, PoseDistance};
use dancenow_nn::tch::Device;
use dancenow_nn::DeviceChoice;
use dancenow_pose::{openpose, FaceBox, Person};
use image::{imageops, RgbImage};
use tracing::info;

use crate::progress::Progress;
use crate::report::{self, FrameScores, ModelReport, Report};
use crate::train::{StageProgress, TrainingTime};

/// Face crops are compared at the face GAN's working size (docs/architecture.md section 5), so
/// that small models' faces still fit LPIPS's AlexNet.
const FACE_SIDE: u32 = 128;

#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub model: PathBuf,
    pub data: PathBuf,
    /// The report's folder.
    pub output: PathBuf,
    /// Models to measure beside the first (say, the `--no-temporal` baseline).
    pub compare: Vec<PathBuf>,
    /// Held-out frames shown as pictures in the report.
    pub samples: usize,
    pub threads: usize,
    pub device: DeviceChoice,
}

/// Measures the models and writes the report; returns it and the path of its HTML page.
pub fn run(options: &EvalOptions, progress: &dyn Progress) -> Result<(Report, PathBuf)> {
    let args = options;
    crate::require_exists(&args.model, "model")?;
    crate::require_exists(&args.data, "dataset")?;
    for other in &args.compare {
        crate::require_exists(other, "model to compare")?;
    }
    report::check_output(&args.output)?;
    let dataset = Dataset::open(&args.data)?;
    let held_out: Vec<FrameEntry> = dataset.split(Split::Val).into_iter().cloned().collect();
    if held_out.is_empty() {
        bail!(
            "{} has no held-out frames to measure; prepare it with --val-fraction above 0",
            args.data.display()
        );
    }
    let device = args.device.resolve()?;
    dancenow_nn::set_cpu_threads(args.threads);
    let models_dir = crate::assets::deps_dir().join("models");
    let lpips = Lpips::load_from(&models_dir, Backbone::Alex, device)?;
    let mut tracker = Tracker::load(&crate::assets::mediapipe_models()?, device, Parts::ALL)
        .context("loading the pose models")?
        .with_frame_rate(dataset.info.fps);

    let expected: Vec<Person> = held_out
        .iter()
        .map(|entry| {
            let path = dataset.layout.pose_path(entry.index);
            let frame = openpose::read_frame(&path)?;
            frame
                .single_person()
                .cloned()
                .with_context(|| format!("{}: expected one person", path.display()))
        })
        .collect::<Result<_>>()?;

    let held_out = HeldOut {
        runs: runs(&held_out),
        frames: held_out,
        expected,
    };

    let mut models = vec![args.model.as_path()];
    models.extend(args.compare.iter().map(PathBuf::as_path));
    let mut reports = Vec::new();
    for model in models {
        let measured = measure(
            model,
            &dataset,
            &held_out,
            &mut Judges {
                lpips: &lpips,
                tracker: &mut tracker,
            },
            device,
            args.samples,
            progress,
        )
        .with_context(|| format!("evaluating {}", model.display()))?;
        reports.push(measured);
    }
    let real_track: Vec<Option<Person>> = held_out.expected.iter().cloned().map(Some).collect();
    let real_jitter = Part::ALL.map(|part| jitter_of_runs(&held_out.runs, &real_track, part));
    let report = Report {
        dataset: args.data.display().to_string(),
        frames: held_out.frames.iter().map(|f| f.index).collect(),
        size: (dataset.info.width, dataset.info.height),
        real_jitter,
        models: reports,
    };
    let written = report::write(&report, &args.output)?;
    for r in &report.models {
        let body = r.pose.part(Part::Body).mean();
        info!(
            "{}: body SSIM {:.3}, LPIPS {:.4}; person found in {} of {} frames; body pose \
             distance {} px ({}% of the frame height)",
            r.name,
            r.body_ssim(),
            r.body_lpips(),
            r.pose.frames - r.pose.missed_frames,
            r.pose.frames,
            report::number(body, 2),
            report::number(
                body.map(|px| 100.0 * px / f64::from(report.size.1.max(1))),
                2
            ),
        );
    }
    Ok((report, written))
}

/// The frames a model is measured on, with the poses they were drawn from.
struct HeldOut {
    frames: Vec<FrameEntry>,
    /// The pose of each frame, in the same order.
    expected: Vec<Person>,
    /// `frames` in runs of consecutive video frames (see [`runs`]).
    runs: Vec<std::ops::Range<usize>>,
}

/// The held-out frames split into runs of consecutive video frames: temporal models and
/// the tracker start afresh at each gap.
fn runs(frames: &[FrameEntry]) -> Vec<std::ops::Range<usize>> {
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        match out.last_mut() {
            Some(run) if frames[run.end - 1].index + 1 == f.index => run.end = i + 1,
            _ => out.push(i..i + 1),
        }
    }
    out
}

/// Jitter over several runs: the mean over every acceleration measured in any run (a
/// run where detection failed in most frames counts only what was measured in it).
pub fn jitter_of_runs(
    runs: &[std::ops::Range<usize>],
    track: &[Option<Person>],
    part: Part,
) -> Option<f64> {
    let mut total = Accelerations::default();
    for run in runs {
        total.add(&track[run.clone()], part);
    }
    total.mean()
}

/// What measures the generated frames: LPIPS, and the pose detector.
struct Judges<'a> {
    lpips: &'a Lpips,
    tracker: &'a mut Tracker,
}

fn measure(
    model: &Path,
    dataset: &Dataset,
    held_out: &HeldOut,
    judges: &mut Judges,
    device: Device,
    samples: usize,
    progress: &dyn Progress,
) -> Result<ModelReport> {
    let mut renderer = Renderer::load(&ModelDir::new(model), device)?;
    let (w, h) = (renderer.config.width, renderer.config.height);
    if (w, h) != (dataset.info.width, dataset.info.height) {
        bail!(
            "the model makes {w}x{h} frames, the dataset {} holds {}x{} images; evaluate a model on the data it was trained on",
            dataset.layout.root().display(),
            dataset.info.width,
            dataset.info.height
        );
    }
    let (frames, expected) = (&held_out.frames, &held_out.expected);
    let name = model.file_name().map_or_else(
        || model.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let picks: Vec<usize> = (0..samples.min(frames.len()))
        .map(|k| k * frames.len() / samples.min(frames.len()))
        .collect();
    let mut scores = Vec::with_capacity(frames.len());
    let mut detected = vec![None; frames.len()];
    let mut pose = PoseDistance::default();
    let mut strips = Vec::new();
    let bar = progress.phase(
        &format!("evaluating {name}"),
        "frames",
        Some(frames.len() as u64),
    );
    for run in held_out.runs.iter().cloned() {
        renderer.reset();
        judges.tracker.reset();
        for i in run {
            crate::progress::check(progress)?;
            let entry = &frames[i];
            let figure = dataset.load_image(&dataset.layout.figure_path(entry.index))?;
            let real = dataset.load_image(&dataset.layout.image_path(entry.index))?;
            let rendered = renderer
                .render_parts(&figure, entry.face)
                .with_context(|| format!("generating held-out frame {}", entry.index))?;
            let generated = rendered.frame;
            let body_ssim = ssim_images(&generated, &real)?;
            let body_lpips = judges.lpips.distance_images(&generated, &real)?;
            let (face_ssim, face_lpips) = match entry.face {
                Some(face) => {
                    let (g, r) = (face_crop(&generated, face), face_crop(&real, face));
                    (
                        Some(ssim_images(&g, &r)?),
                        Some(judges.lpips.distance_images(&g, &r)?),
                    )
                }
                None => (None, None),
            };
            let face_before_gan = match (entry.face, &rendered.before_face_gan) {
                (Some(face), Some(before)) => {
                    let (g, r) = (face_crop(before, face), face_crop(&real, face));
                    Some((ssim_images(&g, &r)?, judges.lpips.distance_images(&g, &r)?))
                }
                _ => None,
            };
            let found = judges
                .tracker
                .next(&generated)
                .with_context(|| format!("detecting the pose on generated frame {}", entry.index))?
                .person;
            pose.add(&expected[i], found.as_ref());
            detected[i] = found;
            if picks.contains(&i) {
                strips.push([figure, generated, real]);
            }
            scores.push(FrameScores {
                index: entry.index,
                body_ssim,
                body_lpips,
                face_ssim,
                face_lpips,
                face_before_gan,
            });
            bar.inc();
        }
    }
    drop(bar);
    Ok(ModelReport {
        name,
        path: model.display().to_string(),
        stage: if renderer.has_face() {
            format!("{} + face", renderer.stage())
        } else {
            renderer.stage().to_string()
        },
        step: renderer.step,
        scores,
        pose,
        jitter: Part::ALL.map(|part| jitter_of_runs(&held_out.runs, &detected, part)),
        strips,
        training_minutes: TrainingTime::read(model)?.map(|t| t.minutes),
        stages: StageProgress::of(&ModelDir::new(model))?,
    })
}

/// The face box's pixels, scaled to [`FACE_SIDE`] square.
fn face_crop(image: &RgbImage, face: FaceBox) -> RgbImage {
    let crop = imageops::crop_imm(image, face.x, face.y, face.size, face.size).to_image();
    imageops::resize(&crop, FACE_SIDE, FACE_SIDE, imageops::FilterType::Triangle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dancenow_pose::{body, Keypoint};

    fn nose_at(x: f32) -> Option<Person> {
        let mut person = Person::default();
        person.body[body::NOSE] = Keypoint::new(x, 50.0, 0.9);
        Some(person)
    }

    /// A long run where the detector found the person in 3 frames (one acceleration,
    /// 10 px) and a short run seen throughout (two accelerations of 0): the mean is over
    /// the three accelerations measured, 10/3, not weighted by the runs' lengths (8).
    #[test]
    fn jitter_weighs_each_measured_acceleration_alike() {
        let mut track = vec![nose_at(0.0), nose_at(0.0), nose_at(10.0)];
        track.extend(std::iter::repeat_n(None, 7));
        track.extend((0..4).map(|_| nose_at(0.0)));
        let runs = [0..10, 10..14];
        let jitter = jitter_of_runs(&runs, &track, Part::Body).unwrap();
        assert!((jitter - 10.0 / 3.0).abs() < 1e-9, "{jitter}");
        assert_eq!(jitter_of_runs(&runs[..0], &track, Part::Body), None);
    }
}
