//! The OpenPose JSON and `sequence.json` readers under mutated input: an error or a
//! result, never a panic. See `fuzz/harness.rs` for how to run the fuzzer; a normal run
//! replays `tests/regression/`.

#[path = "../../../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

use dancenow_pose::openpose;

fn here(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn findings() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-findings")
}

/// One OpenPose frame file, parsed (and checked against a 1920x1080 frame, as a folder
/// read does).
fn read_frame(bytes: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(bytes);
    let path = Path::new("fuzz_000000000000_keypoints.json");
    let frame = openpose::parse_frame(&text, path).map_err(|e| e.to_string())?;
    openpose::check_inside(&frame, 1920, 1080, path).map_err(|e| e.to_string())
}

/// A `sequence.json` beside one frame file, read as a folder.
fn read_sequence(bytes: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sequence.json"), bytes).unwrap();
    std::fs::copy(
        here("tests/data/body25_000000000000_keypoints.json"),
        dir.path().join("v_000000000000_keypoints.json"),
    )
    .unwrap();
    openpose::read_sequence(dir.path(), None)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn frame_seeds() -> Vec<Vec<u8>> {
    harness::files_in(&here("tests/data"))
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "json"))
        .map(|(_, b)| b)
        .collect()
}

fn sequence_seeds() -> Vec<Vec<u8>> {
    vec![br#"{"fps": 29.97, "width": 1920, "height": 1080}"#.to_vec()]
}

#[test]
fn regression_files_give_errors_not_panics() {
    let frames = harness::replay(&here("tests/regression/openpose_frame"), &read_frame);
    let sequences = harness::replay(&here("tests/regression/sequence_json"), &read_sequence);
    eprintln!("replayed {frames} frame and {sequences} sequence.json files");
}

#[test]
#[ignore = "fuzzing: DANCENOW_FUZZ_SECONDS=N cargo test -p dancenow-pose --test fuzz -- --ignored"]
fn fuzz_openpose_frame() {
    let report = harness::fuzz(
        "openpose_frame",
        &frame_seeds(),
        &here("tests/regression/openpose_frame"),
        &findings(),
        harness::budget(),
        &read_frame,
    );
    assert!(report.findings.is_empty(), "{report:#?}");
}

#[test]
#[ignore = "fuzzing: DANCENOW_FUZZ_SECONDS=N cargo test -p dancenow-pose --test fuzz -- --ignored"]
fn fuzz_sequence_json() {
    let report = harness::fuzz(
        "sequence_json",
        &sequence_seeds(),
        &here("tests/regression/sequence_json"),
        &findings(),
        harness::budget(),
        &read_sequence,
    );
    assert!(report.findings.is_empty(), "{report:#?}");
}

/// The harness itself: a reader with a planted panic (on inputs cut below 8 bytes) is
/// caught within half a second, and the input is saved.
#[test]
fn the_fuzzer_finds_a_planted_panic() {
    let findings = tempfile::tempdir().unwrap();
    let planted = |bytes: &[u8]| -> Result<(), String> {
        assert!(bytes.len() >= 8, "planted");
        Ok(())
    };
    let report = harness::fuzz(
        "planted",
        &[b"{\"people\": []}".to_vec()],
        &here("tests/regression/none"),
        findings.path(),
        std::time::Duration::from_millis(500),
        &planted,
    );
    assert!(!report.findings.is_empty(), "{report:#?}");
    assert!(report
        .findings
        .iter()
        .all(|p| std::fs::read(p).unwrap().len() < 8));
}
