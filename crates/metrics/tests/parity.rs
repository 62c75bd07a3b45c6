//! SSIM and LPIPS against the float64 numpy reference on real image pairs
//! (`fixtures/make_metric_fixtures.py`, same weights as setup installs).

use std::path::{Path, PathBuf};

use dancenow_metrics::{ssim_images, Backbone, Lpips};
use dancenow_nn::tch::Device;

/// float32 on libtorch against float64 numpy.
const SSIM_TOLERANCE: f64 = 1e-7;
// Measured below 1e-6 here; the margin is for other CPUs' summation orders.
const LPIPS_TOLERANCE: f64 = 1e-5;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn models() -> PathBuf {
    PathBuf::from(env!("DANCENOW_DEPS")).join("models")
}

struct Row {
    pair: String,
    a: image::RgbImage,
    b: image::RgbImage,
    reference: serde_json::Value,
}

fn rows() -> Vec<Row> {
    let doc: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("metrics.json")).unwrap())
            .unwrap();
    assert_eq!(doc.len(), 4);
    doc.into_iter()
        .map(|reference| {
            let pair = reference["pair"].as_str().unwrap().to_string();
            let load = |s: &str| {
                image::open(fixtures().join(format!("{pair}_{s}.png")))
                    .unwrap()
                    .to_rgb8()
            };
            Row {
                a: load("a"),
                b: load("b"),
                pair,
                reference,
            }
        })
        .collect()
}

#[test]
fn ssim_matches_the_reference() {
    for row in rows() {
        let ours = ssim_images(&row.a, &row.b).unwrap();
        let theirs = row.reference["ssim"].as_f64().unwrap();
        assert!(
            (ours - theirs).abs() < SSIM_TOLERANCE,
            "{}: {ours} vs {theirs}",
            row.pair
        );
    }
}

#[test]
fn lpips_matches_the_reference_for_both_backbones() {
    for backbone in [Backbone::Vgg, Backbone::Alex] {
        let lpips = Lpips::load_from(&models(), backbone, Device::Cpu).unwrap();
        for row in rows() {
            let ours = lpips.distance_images(&row.a, &row.b).unwrap();
            let theirs = row.reference[format!("lpips_{}", backbone.name())]
                .as_f64()
                .unwrap();
            assert!(
                (ours - theirs).abs() < LPIPS_TOLERANCE,
                "{} {}: {ours} vs {theirs}",
                backbone.name(),
                row.pair
            );
        }
    }
}

#[test]
fn lpips_of_an_image_with_itself_is_zero() {
    let lpips = Lpips::load_from(&models(), Backbone::Alex, Device::Cpu).unwrap();
    let row = &rows()[0];
    assert!(lpips.distance_images(&row.a, &row.a).unwrap().abs() < 1e-9);
}

#[test]
fn lpips_rejects_wrong_weights_and_sizes() {
    // VGG weights under the AlexNet architecture: shapes differ, a clear error.
    let wrong = models().join("lpips/vgg16.safetensors");
    let err = Lpips::load(&wrong, Backbone::Alex, Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("vgg16.safetensors") && err.contains("alex"),
        "{err}"
    );
    let lpips = Lpips::load_from(&models(), Backbone::Alex, Device::Cpu).unwrap();
    let small = image::RgbImage::new(20, 20);
    let err = lpips
        .distance_images(&small, &small)
        .unwrap_err()
        .to_string();
    assert!(err.contains("at least 31x31"), "{err}");
}
