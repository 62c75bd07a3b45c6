//! The compositing U-Net (docs/architecture.md section 5b): it trains with its alpha
//! terms over the dataset's plate, renders over the model's plate, gives the plate
//! exactly where its alpha is 0, and says what is missing when there is no plate.

mod common;

use std::sync::atomic::AtomicBool;

use dancenow_gan::generator::Generator;
use dancenow_gan::images::to_tensor;
use dancenow_gan::{
    train, Dataset, ModelConfig, ModelDir, Outcome, Preset, Renderer, Stage, Target, TrainError,
};
use dancenow_nn::tch::{self, Device, Tensor};
use dancenow_pose::CropWindow;
use image::{Rgb, RgbImage};

const SIZE: u32 = 32;

/// The quick-tiny body stage, compositing, `steps` long, single frames.
fn compositing(steps: u64) -> ModelConfig {
    let mut config = Preset::QuickTiny.config(SIZE, SIZE);
    assert!(config.generator.composite);
    config.training.stages.truncate(1);
    config.training.stages[0] = config.training.stages[0].with_steps(steps);
    config.validate().unwrap();
    config
}

/// A background unlike the synthetic frames' flat one: a colour ramp.
fn plate_image() -> RgbImage {
    RgbImage::from_fn(SIZE, SIZE, |x, y| Rgb([(x * 8) as u8, (y * 8) as u8, 90]))
}

fn new_model(dir: &std::path::Path, config: &ModelConfig, dataset: &Dataset) -> ModelDir {
    let model = ModelDir::new(dir);
    let target = Target {
        dataset: "synthetic".into(),
        fps: 30.0,
        stats: dataset.info.stats.clone(),
        crop: Some(dataset.info.crop),
        video_size: Some((SIZE, SIZE)),
    };
    model.initialize(config, &target).unwrap();
    model
}

#[test]
fn a_compositing_model_trains_its_alpha_and_gives_the_plate_where_alpha_is_0() {
    let tmp = tempfile::tempdir().unwrap();
    let dataset = common::write_dataset(&tmp.path().join("data"), 8, 2, SIZE);
    plate_image().save(dataset.layout.plate_path()).unwrap();
    // The alpha unbounded, to see it reach 1 everywhere (the reach has its own test).
    let mut config = compositing(3);
    config.generator.alpha_reach = 0.0;
    let model = new_model(&tmp.path().join("model"), &config, &dataset);
    let stop = AtomicBool::new(false);
    let outcome = train(
        &model,
        &dataset,
        &common::cpu_options(&stop, None),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(outcome, Outcome::Finished);
    let losses = model.read_losses().unwrap();
    assert!(losses.iter().all(|r| r.g_mask > 0.0), "{losses:?}");

    // Rendering needs the model's own plate (`dancenow train` copies it there).
    std::fs::copy(dataset.layout.plate_path(), model.plate_path()).unwrap();
    let figure = dataset.load_image(&dataset.layout.figure_path(0)).unwrap();
    let rendered = Renderer::load(&model, Device::Cpu)
        .unwrap()
        .render(&figure, None)
        .unwrap();
    assert_eq!(rendered.dimensions(), (SIZE, SIZE));

    // The alpha channel's bias pushed to -100 (alpha about 1e-44): the plate, exactly.
    let (mut generator, _) = Generator::load(
        &model.checkpoint_path(Stage::Global),
        &config,
        Stage::Global,
        Device::Cpu,
    )
    .unwrap();
    assert!(generator.composites());
    let plate = to_tensor(&plate_image(), Device::Cpu);
    generator.set_plate(plate.shallow_clone());
    let x = to_tensor(&figure, Device::Cpu);
    let bias = generator.vs.variables()["unet.out.bias"].shallow_clone();
    for (value, close_to) in [(-100.0, Some(&plate)), (100.0, None)] {
        tch::no_grad(|| {
            let _ = bias.get(3).fill_(value);
        });
        let parts = generator.frame_parts(&x, None);
        let alpha = parts.alpha.unwrap();
        match close_to {
            Some(plate) => {
                assert!(alpha.max().double_value(&[]) < 1e-30);
                let off = (&parts.frame - plate).abs().max().double_value(&[]);
                assert!(off < 1e-6, "the frame is {off} off the plate");
            }
            // Alpha 1: the painted person alone, nothing of the plate.
            None => {
                assert!(alpha.min().double_value(&[]) > 1.0 - 1e-6);
                let off: f64 = (&parts.frame - &plate)
                    .abs()
                    .mean(tch::Kind::Float)
                    .double_value(&[]);
                assert!(off > 0.05, "the frame is the plate ({off})");
            }
        }
    }
}

#[test]
fn a_compositing_model_without_a_plate_says_which_file_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let dataset = common::write_dataset(&tmp.path().join("data"), 8, 2, SIZE);
    let config = compositing(2);
    let model = new_model(&tmp.path().join("model"), &config, &dataset);
    let stop = AtomicBool::new(false);
    let err = train(
        &model,
        &dataset,
        &common::cpu_options(&stop, None),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, TrainError::Plate(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("plate.png") && message.contains("prepare the target again"),
        "{message}"
    );
}

/// A `config.toml` written before compositing existed (no `composite` field) still loads,
/// as a painting model; and the pix2pixHD generator cannot be asked to composite.
#[test]
fn models_from_before_compositing_load_as_painters() {
    let tmp = tempfile::tempdir().unwrap();
    let model = ModelDir::new(tmp.path());
    let mut config = Preset::QuickTiny.config(SIZE, SIZE);
    assert!(config.generator.composite, "the quick presets composite");
    config.generator.composite = false;
    model.write_config(&config).unwrap();
    let path = model.config_path();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("composite = false"), "{text}");
    let old: String = text
        .lines()
        .filter(|l| !l.starts_with("composite"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, old).unwrap();
    let read = model.read_config().unwrap();
    assert!(!read.generator.composite);
    assert_eq!(read, config);

    let mut pix2pixhd = Preset::Tiny.config(SIZE, SIZE);
    pix2pixhd.generator.composite = true;
    let err = pix2pixhd.validate().unwrap_err().to_string();
    assert!(err.contains("generator.composite"), "{err}");
}

/// The generator's plate is the dataset's window of the full-size plate image, scaled to
/// the model's size.
#[test]
fn the_plate_is_cut_and_scaled_as_the_frames_are() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("plate.png");
    let full = RgbImage::from_fn(64, 32, |x, _| Rgb([if x < 32 { 0 } else { 255 }, 0, 0]));
    full.save(&path).unwrap();
    // The right half, scaled to 16x16: all red.
    let crop = CropWindow {
        x: 32.0,
        y: 0.0,
        width: 32.0,
        height: 32.0,
        out_width: 16,
        out_height: 16,
    };
    let plate = dancenow_gan::composite::read_plate(&path, &crop, 16, 16, Device::Cpu).unwrap();
    assert_eq!(plate.size(), [1, 3, 16, 16]);
    let red: Tensor = plate.get(0).get(0);
    assert!(red.min().double_value(&[]) > 0.99, "{red}");
}

/// The person shows only near the stick figure (`generator.alpha_reach`): with the alpha
/// pushed to 1, the frame is the person on the figure and the plate, exactly, beyond the
/// reach, whatever the network paints there.
#[test]
fn the_person_shows_only_within_reach_of_the_stick_figure() {
    let tmp = tempfile::tempdir().unwrap();
    let dataset = common::write_dataset(&tmp.path().join("data"), 8, 2, SIZE);
    plate_image().save(dataset.layout.plate_path()).unwrap();
    let config = compositing(1);
    assert!(config.generator.alpha_reach > 0.0);
    let mut generator = Generator::new(&config, Stage::Global, Device::Cpu);
    let plate = to_tensor(&plate_image(), Device::Cpu);
    generator.set_plate(plate.shallow_clone());
    let bias = generator.vs.variables()["unet.out.bias"].shallow_clone();
    tch::no_grad(|| {
        let _ = bias.get(3).fill_(100.0);
    });
    let figure = dataset.load_image(&dataset.layout.figure_path(0)).unwrap();
    let x = to_tensor(&figure, Device::Cpu);
    let parts = generator.frame_parts(&x, None);
    let alpha = parts.alpha.unwrap();
    let radius = (config.generator.alpha_reach * SIZE as f64).round() as i64;
    let drawn = |px: u32, py: u32| figure.get_pixel(px, py).0.iter().any(|&c| c < 255);
    let (mut on, mut beyond) = (0, 0);
    for y in 0..SIZE {
        for x in 0..SIZE {
            let a = alpha.double_value(&[0, 0, y as i64, x as i64]);
            let near = (0..SIZE).any(|fy| {
                (0..SIZE).any(|fx| {
                    drawn(fx, fy)
                        && (fx as i64 - x as i64).abs() <= radius + 1
                        && (fy as i64 - y as i64).abs() <= radius + 1
                })
            });
            if drawn(x, y) {
                assert!(a > 1.0 - 1e-6, "alpha {a} on the figure at ({x}, {y})");
                on += 1;
            } else if !near {
                assert_eq!(a, 0.0, "alpha beyond the reach at ({x}, {y})");
                for c in 0..3 {
                    let at = [0, c, y as i64, x as i64];
                    let got = parts.frame.double_value(&at);
                    assert!((got - plate.double_value(&at)).abs() < 1e-6);
                }
                beyond += 1;
            }
        }
    }
    assert!(
        on > 0 && beyond > 0,
        "{on} pixels on the figure, {beyond} beyond"
    );
}

/// The reach grows round, not as a box: a dot's reach holds points along the axes at
/// nine tenths of the radius and none at the corners of the square around it.
#[test]
fn the_reach_of_a_dot_is_round() {
    let size = 64;
    let mut figure = RgbImage::from_pixel(size, size, Rgb([255, 255, 255]));
    figure.put_pixel(32, 32, Rgb([255, 0, 0]));
    let reach = dancenow_gan::composite::figure_reach(&to_tensor(&figure, Device::Cpu), 20);
    let at = |x: i64, y: i64| reach.double_value(&[0, 0, y, x]);
    assert_eq!(at(32, 32), 1.0);
    for (x, y) in [(32 + 12, 32), (32, 32 - 12), (32 + 9, 32 + 9)] {
        assert_eq!(at(x, y), 1.0, "({x}, {y}) is well within the reach");
    }
    assert!(at(32 + 18, 32) > 0.0, "the reach fades only at its edge");
    for (x, y) in [
        (32 + 17, 32 + 17),
        (32 - 17, 32 - 17),
        (32 + 25, 32),
        (0, 0),
    ] {
        assert_eq!(at(x, y), 0.0, "({x}, {y}) is beyond the reach");
    }
}
