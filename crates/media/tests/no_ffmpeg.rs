//! Without ffmpeg on the PATH, opening a video says what to install.
//! (Its own test binary: it changes the process's PATH.)

use dancenow_media::{FrameSource, MediaError};

#[test]
fn a_missing_ffmpeg_says_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("clip.mp4");
    std::fs::write(&video, b"not really").unwrap();
    // SAFETY: this binary has one test, so no other thread reads the environment.
    unsafe { std::env::set_var("PATH", dir.path()) };
    let err = FrameSource::open(&video, None).err().unwrap();
    assert!(
        matches!(
            err,
            MediaError::ToolMissing {
                program: "ffprobe",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("install ffmpeg"), "{err}");
}
