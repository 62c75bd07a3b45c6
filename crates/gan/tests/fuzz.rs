//! The `dataset.json` and `config.toml` readers under mutated input: an error or a
//! result, never a panic. See `fuzz/harness.rs` for how to run the fuzzer; a normal run
//! replays `tests/regression/`.

mod common;
#[path = "../../../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

use dancenow_gan::dataset::DATASET_FILE;
use dancenow_gan::{Dataset, ModelDir, Preset};

fn here(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn findings() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-findings")
}

fn read_dataset(bytes: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(DATASET_FILE), bytes).unwrap();
    Dataset::open(dir.path())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn read_config(bytes: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let model = ModelDir::new(dir.path());
    std::fs::write(model.config_path(), bytes).unwrap();
    model.read_config().map(|_| ()).map_err(|e| e.to_string())
}

fn dataset_seeds() -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    common::write_dataset(&dir.path().join("data"), 4, 1, 32);
    vec![std::fs::read(dir.path().join("data").join(DATASET_FILE)).unwrap()]
}

fn config_seeds() -> Vec<Vec<u8>> {
    [Preset::Tiny, Preset::Small, Preset::Paper, Preset::Quick]
        .into_iter()
        .map(|preset| {
            let dir = tempfile::tempdir().unwrap();
            let model = ModelDir::new(dir.path());
            model.write_config(&preset.config(256, 256)).unwrap();
            std::fs::read(model.config_path()).unwrap()
        })
        .collect()
}

#[test]
fn regression_files_give_errors_not_panics() {
    let datasets = harness::replay(&here("tests/regression/dataset_json"), &read_dataset);
    let configs = harness::replay(&here("tests/regression/config_toml"), &read_config);
    eprintln!("replayed {datasets} dataset.json and {configs} config.toml files");
}

#[test]
#[ignore = "fuzzing: DANCENOW_FUZZ_SECONDS=N cargo test -p dancenow-gan --test fuzz -- --ignored"]
fn fuzz_dataset_json() {
    let report = harness::fuzz(
        "dataset_json",
        &dataset_seeds(),
        &here("tests/regression/dataset_json"),
        &findings(),
        harness::budget(),
        &read_dataset,
    );
    assert!(report.findings.is_empty(), "{report:#?}");
}

#[test]
#[ignore = "fuzzing: DANCENOW_FUZZ_SECONDS=N cargo test -p dancenow-gan --test fuzz -- --ignored"]
fn fuzz_config_toml() {
    let report = harness::fuzz(
        "config_toml",
        &config_seeds(),
        &here("tests/regression/config_toml"),
        &findings(),
        harness::budget(),
        &read_config,
    );
    assert!(report.findings.is_empty(), "{report:#?}");
}
