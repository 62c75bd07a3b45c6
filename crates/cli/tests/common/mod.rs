//! Running the `dancenow` binary from the tests.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub fn dancenow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dancenow"))
        .args(args)
        .output()
        .expect("running dancenow")
}

pub fn succeed(args: &[&str]) -> String {
    let out = dancenow(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dancenow {args:?} failed: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

pub fn fail(args: &[&str]) -> String {
    let out = dancenow(args);
    assert!(
        !out.status.success(),
        "dancenow {args:?} should have failed"
    );
    String::from_utf8(out.stderr).unwrap()
}

pub fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}
