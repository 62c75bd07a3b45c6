//! Each MediaPipe model, read by our TFLite reader and run on libtorch, against Google's
//! reference interpreter on a real frame. Fixtures and the script that made them are in
//! tests/fixtures/ (ai-edge-litert 2.3.0).

use std::path::{Path, PathBuf};

use dancenow_nn::tch::{Device, Kind, Tensor};
use dancenow_nn::tflite::{TfliteError, TfliteModel};
use serde_json::Value;

/// Largest difference allowed, as a fraction of the output's largest magnitude (seen:
/// 7e-5 for pose_landmark_full's segmentation logits, which reach 1644; 4e-6 for its
/// landmarks; 2e-7 for face_detection_short_range). Both
/// sides compute in float32 from the same fp16 weights; only the order of additions differs.
const RELATIVE_TOLERANCE: f64 = 1e-4;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tflite")
}

fn model_path(name: &str) -> PathBuf {
    PathBuf::from(env!("DANCENOW_DEPS")).join(format!("models/mediapipe/{name}.tflite"))
}

fn check(name: &str) {
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join(format!("{name}.json"))).unwrap(),
    )
    .unwrap();
    let model = TfliteModel::load(&model_path(name), Device::Cpu).unwrap();
    let size = &fixture["input"]["size"];
    let (h, w) = (size[0].as_i64().unwrap(), size[1].as_i64().unwrap());
    let (scale, offset) = (
        fixture["input"]["scale"].as_f64().unwrap(),
        fixture["input"]["offset"].as_f64().unwrap(),
    );
    let frame = image::open(fixtures().join("frame256.png"))
        .unwrap()
        .to_rgb8();
    let pixels = Tensor::from_slice(frame.as_raw())
        .view([1, 256, 256, 3])
        .to_kind(Kind::Float);
    let input = (pixels.narrow(1, 0, h).narrow(2, 0, w) * scale + offset).contiguous();
    assert_eq!(model.input_shapes(), [vec![1, h, w, 3]]);

    let outputs = model.forward(&[input]).unwrap();
    let expected = fixture["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), expected.len());
    for (got, want) in outputs.iter().zip(expected) {
        let shape: Vec<i64> = want["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert_eq!(got.size(), shape, "{name} {}", want["name"]);
        let stride = want["stride"].as_i64().unwrap();
        let got: Vec<f32> = Vec::try_from(got.flatten(0, -1).slice(0, 0, None, stride)).unwrap();
        let want_values: Vec<f64> = want["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(got.len(), want_values.len());
        let max_abs = want["max_abs"].as_f64().unwrap().max(1.0);
        let worst = got
            .iter()
            .zip(&want_values)
            .map(|(&g, &w)| (g as f64 - w).abs())
            .fold(0.0, f64::max);
        assert!(
            worst <= RELATIVE_TOLERANCE * max_abs,
            "{name} {}: max abs error {worst:.3e} > {RELATIVE_TOLERANCE:e} x {max_abs:.3}",
            want["name"]
        );
    }
}

#[test]
fn pose_detection_matches_the_reference_interpreter() {
    check("pose_detection");
}

#[test]
fn pose_landmark_full_matches_the_reference_interpreter() {
    check("pose_landmark_full");
}

#[test]
fn hand_landmark_full_matches_the_reference_interpreter() {
    check("hand_landmark_full");
}

#[test]
fn palm_detection_full_matches_the_reference_interpreter() {
    check("palm_detection_full");
}

#[test]
fn face_landmark_matches_the_reference_interpreter() {
    check("face_landmark");
}

#[test]
fn face_detection_short_range_matches_the_reference_interpreter() {
    check("face_detection_short_range");
}

#[test]
fn truncated_and_foreign_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(model_path("hand_landmark_full")).unwrap();
    for cut in [0, 3, 8, 100, 5000, bytes.len() / 2] {
        let path = dir.path().join(format!("cut{cut}.tflite"));
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let err = TfliteModel::load(&path, Device::Cpu)
            .err()
            .expect("a truncated model must not load");
        assert!(
            err.to_string().starts_with(&path.display().to_string()),
            "{err}"
        );
    }
    let png = fixtures().join("frame256.png");
    let err = TfliteModel::load(&png, Device::Cpu).err().unwrap();
    assert!(
        matches!(&err, TfliteError::File { source, .. } if matches!(**source, TfliteError::NotTflite(_))),
        "{err}"
    );
}

#[test]
fn a_wrong_input_shape_is_an_error() {
    let model = TfliteModel::load(&model_path("hand_landmark_full"), Device::Cpu).unwrap();
    let err = model
        .forward(&[Tensor::zeros([1, 100, 100, 3], (Kind::Float, Device::Cpu))])
        .unwrap_err();
    assert!(
        err.to_string().contains("must have shape [1, 224, 224, 3]"),
        "{err}"
    );
}

#[test]
fn keeping_some_outputs_gives_the_same_values_for_them() {
    let path = model_path("pose_landmark_full");
    let full = TfliteModel::load(&path, Device::Cpu).unwrap();
    let pruned = TfliteModel::load(&path, Device::Cpu)
        .unwrap()
        .keep_outputs(&[3, 0])
        .unwrap();
    assert_eq!(pruned.output_names(), ["Identity_3", "Identity"]);
    let input = Tensor::rand([1, 256, 256, 3], (Kind::Float, Device::Cpu));
    let all = full.forward(&[input.shallow_clone()]).unwrap();
    let some = pruned.forward(&[input]).unwrap();
    assert!(all[3].equal(&some[0]) && all[0].equal(&some[1]));
    let err = TfliteModel::load(&path, Device::Cpu)
        .unwrap()
        .keep_outputs(&[7])
        .err()
        .unwrap();
    assert!(err.to_string().contains("has 5 outputs"), "{err}");
}

/// Every PAD in the pose models is a symmetric zero pad before a VALID convolution, and
/// every one is folded; the parity tests above check the outputs did not change.
#[test]
fn zero_pads_before_valid_convolutions_are_folded_into_them() {
    for (name, pads) in [("pose_detection", 8), ("pose_landmark_full", 5)] {
        let model = TfliteModel::load(&model_path(name), Device::Cpu).unwrap();
        assert_eq!(model.folded_pads(), pads, "{name}");
    }
}

#[test]
fn hand_recrop_matches_the_reference_interpreter() {
    check("hand_recrop");
}
