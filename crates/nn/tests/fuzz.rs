//! The TFLite reader under mutated models: an error or a model, never a panic. See
//! `fuzz/harness.rs` for how to run the fuzzer; a normal run replays `tests/regression/`.

#[path = "../../../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

use dancenow_nn::tch::Device;
use dancenow_nn::tflite::TfliteModel;

fn here(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read_model(bytes: &[u8]) -> Result<(), String> {
    TfliteModel::from_bytes(bytes, "fuzz", Device::Cpu)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The two smallest MediaPipe models.
fn seeds() -> Vec<Vec<u8>> {
    ["hand_recrop", "face_detection_short_range"]
        .iter()
        .map(|name| {
            let path = PathBuf::from(env!("DANCENOW_DEPS"))
                .join(format!("models/mediapipe/{name}.tflite"));
            std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .collect()
}

#[test]
fn regression_files_give_errors_not_panics() {
    let models = harness::replay(&here("tests/regression/tflite"), &read_model);
    eprintln!("replayed {models} TFLite files");
}

#[test]
#[ignore = "fuzzing: DANCENOW_FUZZ_SECONDS=N cargo test -p dancenow-nn --test fuzz -- --ignored"]
fn fuzz_tflite() {
    let report = harness::fuzz(
        "tflite",
        &seeds(),
        &here("tests/regression/tflite"),
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-findings"),
        harness::budget(),
        &read_model,
    );
    assert!(report.findings.is_empty(), "{report:#?}");
}
