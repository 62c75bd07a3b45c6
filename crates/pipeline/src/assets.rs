//! Where the files that `cargo xtask setup` installs are found at run time.

use std::path::PathBuf;

use anyhow::{bail, Result};

/// `$DANCENOW_DEPS` when set, else the `.deps/` folder of the checkout this was built from.
pub fn deps_dir() -> PathBuf {
    std::env::var_os("DANCENOW_DEPS")
        .map(PathBuf::from)
        .or_else(|| option_env!("DANCENOW_DEPS").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(".deps"))
}

/// MediaPipe's model folder, checked to exist.
pub fn mediapipe_models() -> Result<PathBuf> {
    let dir = deps_dir().join("models/mediapipe");
    if !dir.is_dir() {
        bail!(
            "the pose models are not at {}; run `cargo xtask setup`, or point DANCENOW_DEPS at \
             the folder setup filled",
            dir.display()
        );
    }
    Ok(dir)
}
