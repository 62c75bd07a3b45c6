//! prepare -> train -> transfer as a user runs them, on a short real clip.

mod common;

use std::path::{Path, PathBuf};

use common::{fail, s, short_clip, succeed};
use dancenow_media::{probe, FrameSource, VideoWriter};
use image::{imageops, Rgb, RgbImage};

/// `dancenow transfer SOURCE --model MODEL -o OUTPUT` on the CPU, with `extra` options.
fn transfer(source: &Path, model: &Path, output: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "transfer",
        s(source),
        "--model",
        s(model),
        "-o",
        s(output),
        "--device",
        "cpu",
    ];
    args.extend(extra);
    succeed(&args)
}

#[test]
fn prepare_train_and_transfer_a_real_clip() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name);
    let (clip, data, model) = (p("clip.mp4"), p("me.data"), p("me.model"));
    short_clip(&clip, 16);

    let out = succeed(&common::prepare_64(&clip, &data, &[]));
    assert!(out.contains("crop:"), "{out}");
    let dataset = dancenow_gan::Dataset::open(&data).unwrap();
    use dancenow_gan::dataset::Split;
    assert_eq!(
        (
            dataset.split(Split::Train).len(),
            dataset.split(Split::Val).len()
        ),
        (14, 2)
    );
    assert_eq!((dataset.info.width, dataset.info.height), (64, 64));
    assert!(dataset.layout.image_path(15).is_file() && dataset.layout.figure_path(0).is_file());

    let train = common::tiny_training(&data, &model, "4", &[]);
    let out = succeed(&train);
    assert!(out.contains("loss plot"), "{out}");
    assert!(model.join("config.toml").is_file() && model.join("losses.png").is_file());
    let err = fail(&train);
    assert!(
        err.contains("already holds a model") && err.contains("--resume"),
        "{err}"
    );
    succeed(&[
        "train",
        s(&data),
        "-o",
        s(&model),
        "--resume",
        "--device",
        "cpu",
    ]);

    let video = p("out.mp4");
    transfer(&clip, &model, &video, &[]);
    // The person is pasted into the target's own full-size frame (270x480 here).
    let info = probe(&video).unwrap();
    assert_eq!(
        (info.width, info.height, info.frame_count),
        (270, 480, Some(16))
    );
    assert!(model.join("plate.png").is_file());

    // The source's sound is kept.
    let with_sound = p("clip-with-sound.mp4");
    let ffmpeg = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i", s(&clip), "-f", "lavfi", "-i"])
        .arg("sine=frequency=440:duration=2")
        .args(["-c:v", "copy", "-c:a", "aac", "-shortest", s(&with_sound)])
        .status()
        .unwrap();
    assert!(ffmpeg.success());
    let video = p("out-with-sound.mp4");
    transfer(&with_sound, &model, &video, &[]);
    let info = probe(&video).unwrap();
    assert_eq!((info.width, info.height), (270, 480));
    assert!(info.has_audio, "the output lost the source's sound");

    let side = p("side.mp4");
    transfer(&clip, &model, &side, &["--side-by-side"]);
    let info = probe(&side).unwrap();
    // The 270x480 source, the 64x64 figure scaled to 480 high, the 270x480 output.
    assert_eq!(
        (info.width, info.height, info.frame_count),
        (270 + 480 + 270, 480, Some(16))
    );

    // eval measures the held-out frames, beside a second model when asked.
    let report = p("report");
    let out = succeed(&[
        "eval",
        s(&data),
        "--model",
        s(&model),
        "-o",
        s(&report),
        "--compare",
        s(&model),
        "--device",
        "cpu",
    ]);
    assert!(out.contains("report.html"), "{out}");
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    for section in [
        "## Image quality",
        "body SSIM",
        "face LPIPS",
        "## Pose distance",
        "missed points",
        "## Temporal jitter",
        "## Samples",
        "samples.png",
        "ssim.png",
        "lpips.png",
    ] {
        assert!(md.contains(section), "no {section:?} in\n{md}");
    }
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert_eq!(
        html.matches("data:image/png;base64,").count(),
        3,
        "pictures inlined"
    );
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["frames"], serde_json::json!([14, 15]));
    let models = metrics["models"].as_array().unwrap();
    assert_eq!(models.len(), 2);
    assert_eq!(
        models[0]["body_ssim"], models[1]["body_ssim"],
        "one model twice"
    );
    // The pictures are the frames measured: SSIM recomputed from the samples' generated
    // and real panels (figure | model | model | real, one row per held-out frame) is
    // the reported mean.
    let samples = image::open(report.join("samples.png")).unwrap().to_rgb8();
    assert_eq!((samples.width(), samples.height()), (4 * 64, 2 * 64));
    let panel = |column: u32, row: u32| {
        imageops::crop_imm(&samples, column * 64, row * 64, 64, 64).to_image()
    };
    let recomputed = (0..2)
        .map(|row| dancenow_metrics::ssim_images(&panel(1, row), &panel(3, row)).unwrap())
        .sum::<f64>()
        / 2.0;
    let reported = models[0]["body_ssim"].as_f64().unwrap();
    assert!(
        (recomputed - reported).abs() < 1e-6,
        "reported {reported}, recomputed {recomputed}"
    );

    // A checkpoint cut short is named, not a panic.
    let ckpt = model.join("checkpoints/global.safetensors");
    let bytes = std::fs::read(&ckpt).unwrap();
    std::fs::write(&ckpt, &bytes[..bytes.len() - 100]).unwrap();
    let err = fail(&[
        "transfer",
        s(&clip),
        "--model",
        s(&model),
        "-o",
        s(&p("x.mp4")),
        "--device",
        "cpu",
    ]);
    assert!(
        err.contains("global.safetensors") && err.contains("not a readable checkpoint"),
        "{err}"
    );
}

#[test]
fn prepare_of_a_video_without_anybody_fails_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let video = tmp.path().join("empty.mp4");
    let mut writer = VideoWriter::create(&video, 96, 64, 10.0).unwrap();
    for i in 0..4u8 {
        writer
            .write(&RgbImage::from_pixel(96, 64, Rgb([i * 20, 90, 90])))
            .unwrap();
    }
    writer.finish().unwrap();
    let err = fail(&[
        "prepare",
        s(&video),
        "-o",
        s(&tmp.path().join("d")),
        "--device",
        "cpu",
    ]);
    assert!(err.contains("no confident body point"), "{err}");
    let err = fail(&[
        "train",
        s(&tmp.path().join("d")),
        "-o",
        s(&tmp.path().join("m")),
    ]);
    assert!(
        err.contains("does not exist") || err.contains("dataset.json"),
        "{err}"
    );
}

#[test]
fn demo_runs_the_whole_pipeline_on_the_sample_videos() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo");
    // The demo's own target, cut to its first 40 frames to keep the test short.
    let dancer = PathBuf::from(env!("DANCENOW_DEPS")).join("samples/musicalgestures/dancer.avi");
    let target = tmp.path().join("dancer.mp4");
    let mut writer = VideoWriter::create(&target, 518, 496, 25.0).unwrap();
    for frame in FrameSource::open(&dancer, None).unwrap().take(40) {
        writer.write(&frame.unwrap()).unwrap();
    }
    writer.finish().unwrap();
    let demo = [
        "demo",
        "-o",
        s(&out),
        "--target",
        s(&target),
        "--size",
        "64x64",
        "--preset",
        "quick-tiny",
        "--steps",
        "global=3,face=2",
        "--device",
        "cpu",
    ];
    let printed = succeed(&demo);
    assert!(printed.contains("demo finished"), "{printed}");
    // The sports2d sample: 230 frames; source | figure | output, at least 256 high.
    let info = probe(&out.join("transfer.mp4")).unwrap();
    assert_eq!(info.frame_count, Some(230));
    assert!(
        (256..=720).contains(&info.height),
        "panels {} high",
        info.height
    );
    assert!(info.width > 128);
    let strip = image::open(out.join("strip.png")).unwrap();
    assert_eq!(
        (strip.width(), strip.height()),
        (info.width, 4 * info.height)
    );
    for file in ["report/report.html", "report/report.md", "model/losses.png"] {
        assert!(out.join(file).is_file(), "{file}");
    }
    // A second run keeps what is done: the dataset and the trained model.
    let again = succeed(&demo);
    assert!(again.contains("demo finished"), "{again}");
}
