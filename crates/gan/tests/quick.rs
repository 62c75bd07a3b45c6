//! The `quick` preset on a small real clip (the musicalgestures dancer that setup
//! installs): it learns the person faster than pix2pixHD given the same steps, and it
//! resumes exactly, through its reconstruction-only and its adversarial steps.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use dancenow_detect::{Parts, Tracker};
use dancenow_gan::dataset::{DatasetInfo, FrameEntry, Split};
use dancenow_gan::plate::PlateBuilder;
use dancenow_gan::{
    train, Dataset, DatasetWriter, ModelConfig, ModelDir, Outcome, Preset, Renderer, Stage, Target,
};
use dancenow_metrics::{Backbone, Lpips};
use dancenow_nn::tch::{Device, Tensor};
use dancenow_pose::mask::{person_mask, DEFAULT_MASK_MARGIN};
use dancenow_pose::normalize::VideoStats;
use dancenow_pose::openpose::SequenceInfo;
use dancenow_pose::render::StickFigure;
use dancenow_pose::{CropWindow, FaceBox, Frame, Person};

/// The clip: frames 200.. of the dancer (she is dancing by then), 48 pixels square (the
/// quick-tiny U-Net's three levels divide it; AlexNet's LPIPS takes 31 and more).
const FIRST_FRAME: usize = 200;
const SIZE: u32 = 48;
/// Room around the person's extent when framing, as `dancenow prepare` leaves.
const MARGIN: f32 = 0.1;

fn deps() -> PathBuf {
    PathBuf::from(env!("DANCENOW_DEPS"))
}

/// `frames` consecutive frames of the dancer from [`FIRST_FRAME`] as a dataset, as
/// `dancenow prepare` makes one (poses found by the tracker, one crop around the person,
/// stick figures), the last `val` held out.
fn real_clip(dir: &Path, frames: usize, val: usize) -> Dataset {
    let video = deps().join("samples/musicalgestures/dancer.avi");
    let reader = dancenow_media::VideoReader::open(&video)
        .unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask setup`", video.display()));
    let (width, height) = (reader.info().width, reader.info().height);
    let images: Vec<image::RgbImage> = reader
        .skip(FIRST_FRAME)
        .take(frames)
        .map(Result::unwrap)
        .collect();
    let mut tracker =
        Tracker::load(&deps().join("models/mediapipe"), Device::Cpu, Parts::BODY).unwrap();
    let people: Vec<Option<Person>> = images
        .iter()
        .map(|image| tracker.next(image).unwrap().person)
        .collect();
    assert!(
        people.iter().all(Option::is_some),
        "the dancer in every frame"
    );
    let crop = CropWindow::around(&people, width, height, SIZE, SIZE, MARGIN).unwrap();
    // The background plate, as `dancenow prepare` estimates it: the median of the frames
    // where the dancer is not.
    let mut plate = PlateBuilder::new(width, height);
    for (t, (image, person)) in images.iter().zip(&people).enumerate() {
        let person = person.as_ref().unwrap();
        let mask = person_mask(person, width, height, DEFAULT_MASK_MARGIN);
        if plate.wants(t as u64) {
            plate.add(t as u64, image, &mask).unwrap();
        }
    }
    let plate = plate.finish().unwrap();
    let mapped: Vec<Option<Person>> = people
        .into_iter()
        .map(|p| {
            p.map(|mut p| {
                crop.map(&mut p);
                p
            })
        })
        .collect();
    let writer = DatasetWriter::create(
        dir,
        SequenceInfo {
            fps: 25.0,
            width: SIZE,
            height: SIZE,
        },
    )
    .unwrap();
    let mut entries = Vec::new();
    for (t, (image, person)) in images.iter().zip(&mapped).enumerate() {
        let person = person.as_ref().unwrap();
        let figure = StickFigure::render(
            &Frame {
                people: vec![person.clone()],
            },
            SIZE,
            SIZE,
        );
        writer
            .write_frame(t, &crop.crop(image), &figure, person)
            .unwrap();
        entries.push(FrameEntry {
            index: t,
            split: if t + val >= frames {
                Split::Val
            } else {
                Split::Train
            },
            face: FaceBox::of(person, SIZE, SIZE),
        });
    }
    writer.write_plate(&plate).unwrap();
    writer
        .finish(DatasetInfo {
            format: String::new(),
            source: video.display().to_string(),
            fps: 25.0,
            video_width: width,
            video_height: height,
            width: SIZE,
            height: SIZE,
            crop,
            stats: VideoStats::measure(&mapped, SIZE, SIZE).unwrap(),
            frames: entries,
            skipped_without_person: vec![],
            skipped_several_people: vec![],
        })
        .unwrap()
}

/// `preset`'s body stage alone, `steps` long, its schedule in proportion.
fn body_only(preset: Preset, steps: u64) -> ModelConfig {
    let mut config = preset.config(SIZE, SIZE);
    config.training.stages.truncate(1);
    config.training.stages[0] = config.training.stages[0].with_steps(steps);
    config
}

fn new_model(dir: &Path, config: &ModelConfig, dataset: &Dataset) -> ModelDir {
    let model = ModelDir::new(dir);
    let target = Target {
        dataset: "dancer".into(),
        fps: 25.0,
        stats: dataset.info.stats.clone(),
        crop: Some(dataset.info.crop),
        video_size: Some((dataset.info.video_width, dataset.info.video_height)),
    };
    model.initialize(config, &target).unwrap();
    // As `dancenow train` does: the model keeps the target's plate for rendering.
    if dataset.layout.plate_path().is_file() {
        std::fs::copy(dataset.layout.plate_path(), model.plate_path()).unwrap();
    }
    model
}

/// The mean LPIPS (AlexNet) of the model's frames for the held-out clip, rendered in
/// order.
fn held_out_lpips(model: &ModelDir, dataset: &Dataset, lpips: &Lpips) -> f64 {
    let mut renderer = Renderer::load(model, Device::Cpu).unwrap();
    let held_out = dataset.split(Split::Val);
    let total: f64 = held_out
        .iter()
        .map(|e| {
            let load = |p: PathBuf| dataset.load_image(&p).unwrap();
            let generated = renderer
                .render(&load(dataset.layout.figure_path(e.index)), None)
                .unwrap();
            lpips
                .distance_images(&generated, &load(dataset.layout.image_path(e.index)))
                .unwrap()
        })
        .sum();
    total / held_out.len() as f64
}

#[test]
fn the_quick_preset_learns_the_dancer_better_than_pix2pixhd_in_the_same_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let dataset = real_clip(&tmp.path().join("data"), 72, 12);
    const STEPS: u64 = 200;
    let stop = AtomicBool::new(false);
    let lpips = Lpips::load_from(&deps().join("models"), Backbone::Alex, Device::Cpu).unwrap();
    let mut scores = Vec::new();
    for (name, preset) in [("quick", Preset::QuickTiny), ("pix2pixhd", Preset::Tiny)] {
        // Each preset's own schedule: in these steps the quick one is still reconstructing,
        // pix2pixHD is adversarial from the start.
        let config = body_only(preset, STEPS);
        let model = new_model(&tmp.path().join(name), &config, &dataset);
        let start = std::time::Instant::now();
        let outcome = train(
            &model,
            &dataset,
            &common::cpu_options(&stop, None),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(outcome, Outcome::Finished);
        scores.push(held_out_lpips(&model, &dataset, &lpips));
        eprintln!("{name}: {:.1} s", start.elapsed().as_secs_f64());
    }
    let (quick, pix2pixhd) = (scores[0], scores[1]);
    eprintln!("held-out LPIPS after {STEPS} steps: quick {quick:.3}, pix2pixHD {pix2pixhd:.3}");
    // Measured: quick 0.013 (0.019 painting whole frames), pix2pixHD 0.035 (an untrained
    // generator's grey: about 0.5).
    assert!(quick < 0.024, "quick preset: held-out LPIPS {quick:.3}");
    assert!(
        pix2pixhd > 0.029,
        "pix2pixHD: held-out LPIPS {pix2pixhd:.3}"
    );
}

fn checkpoint_tensors(model: &ModelDir, stage: Stage) -> Vec<(String, Tensor)> {
    let mut t = Tensor::read_safetensors(model.checkpoint_path(stage)).unwrap();
    t.sort_by(|a, b| a.0.cmp(&b.0));
    t
}

#[test]
fn stopping_and_resuming_the_quick_preset_gives_the_weights_of_training_straight_through() {
    let tmp = tempfile::tempdir().unwrap();
    let dataset = common::write_dataset(&tmp.path().join("data"), 12, 2, SIZE);
    // The synthetic frames' background, for the compositing U-Net.
    image::RgbImage::from_pixel(SIZE, SIZE, image::Rgb([200, 200, 190]))
        .save(dataset.layout.plate_path())
        .unwrap();
    // The body stage reconstructs single frames for 2 steps, pairs for 2, then adds the
    // adversarial terms; the face stage follows. Stopped at 3 and 6 (either side of the
    // switch) and 2 face steps in.
    let mut config = Preset::QuickTiny.config(SIZE, SIZE);
    config.training.stages[0].steps = 8;
    config.training.stages[0].temporal_from = 2;
    config.training.stages[0].adversarial_from = 4;
    config.training.stages[1].steps = 4;
    config.training.batch_size = 3;
    config.training.checkpoint_every = 100;
    assert!(config.temporal);
    let stop = AtomicBool::new(false);

    let straight = new_model(&tmp.path().join("straight"), &config, &dataset);
    train(
        &straight,
        &dataset,
        &common::cpu_options(&stop, None),
        &mut |_| {},
    )
    .unwrap();

    let resumed = new_model(&tmp.path().join("resumed"), &config, &dataset);
    for (max, stage, step) in [
        (3, Stage::Global, 3),
        (3, Stage::Global, 6),
        (4, Stage::Face, 2),
    ] {
        let outcome = train(
            &resumed,
            &dataset,
            &common::cpu_options(&stop, Some(max)),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(outcome, Outcome::Stopped { stage, step });
    }
    let last = train(
        &resumed,
        &dataset,
        &common::cpu_options(&stop, None),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(last, Outcome::Finished);

    for stage in [Stage::Global, Stage::Face] {
        let (a, b) = (
            checkpoint_tensors(&straight, stage),
            checkpoint_tensors(&resumed, stage),
        );
        assert_eq!(a.len(), b.len());
        for ((name, x), (_, y)) in a.iter().zip(&b) {
            assert!(x.equal(y), "{stage}: {name} differs after resuming");
        }
    }
    let losses = straight.read_losses().unwrap();
    assert_eq!(losses, resumed.read_losses().unwrap());
    // The first body steps were reconstruction alone, the next adversarial too.
    let body: Vec<_> = losses.iter().filter(|r| r.stage == Stage::Global).collect();
    assert!(body[..4]
        .iter()
        .all(|r| r.g_gan == 0.0 && r.d_real == 0.0 && r.g_l1 > 0.0));
    assert!(body[4..].iter().all(|r| r.g_gan > 0.0 && r.d_real > 0.0));

    // The U-Net's frames, refined by the face GAN, follow each other.
    let mut renderer = Renderer::load(&resumed, Device::Cpu).unwrap();
    assert!(renderer.has_face());
    let entry = dataset.split(Split::Val)[0];
    let figure = dataset
        .load_image(&dataset.layout.figure_path(entry.index))
        .unwrap();
    let first = renderer.render(&figure, entry.face).unwrap();
    let second = renderer.render(&figure, entry.face).unwrap();
    assert_eq!(first.dimensions(), (SIZE, SIZE));
    assert_ne!(first, second, "the second frame follows the first");
}

/// A temporal model stopped before its pairs of frames never learned to follow a frame:
/// it renders each frame on its own (the same figure twice gives the same frame); once it
/// has trained on pairs, each frame follows the last.
#[test]
fn a_model_stopped_before_its_pairs_renders_each_frame_on_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let dataset = common::write_dataset(&tmp.path().join("data"), 12, 2, SIZE);
    image::RgbImage::from_pixel(SIZE, SIZE, image::Rgb([200, 200, 190]))
        .save(dataset.layout.plate_path())
        .unwrap();
    let mut config = body_only(Preset::QuickTiny, 4);
    config.training.stages[0].temporal_from = 3;
    let model = new_model(&tmp.path().join("model"), &config, &dataset);
    let figure = dataset.load_image(&dataset.layout.figure_path(0)).unwrap();
    let twice = |model: &ModelDir| {
        let mut renderer = Renderer::load(model, Device::Cpu).unwrap();
        let first = renderer.render(&figure, None).unwrap();
        (first, renderer.render(&figure, None).unwrap())
    };
    let stop = AtomicBool::new(false);
    let outcome = train(
        &model,
        &dataset,
        &common::cpu_options(&stop, Some(2)),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(
        outcome,
        Outcome::Stopped {
            stage: Stage::Global,
            step: 2
        }
    );
    let (first, second) = twice(&model);
    assert_eq!(first, second, "before its pairs: each frame on its own");
    train(
        &model,
        &dataset,
        &common::cpu_options(&stop, None),
        &mut |_| {},
    )
    .unwrap();
    let (first, second) = twice(&model);
    assert_ne!(
        first, second,
        "after its pairs: the second frame follows the first"
    );
}
