//! ffmpeg can exit 0 after failing to write the end of a file (a full disk at the trailer
//! does so): a video is moved into place only once it reads back with every frame sent.
//! Here an ffmpeg stand-in writes garbage and exits 0; the real ffprobe checks.
//! (Its own test binary: it changes the process's PATH.)

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use dancenow_media::{MediaError, VideoWriter};
use image::RgbImage;

/// Swallows the frames, writes a file that is no video to its last argument (after the
/// `file:` protocol dancenow names files with), succeeds.
const LYING_FFMPEG: &str = "#!/bin/sh\ncat >/dev/null\nfor last; do :; done\n\
                            printf 'not a video' >\"${last#file:}\"\nexit 0\n";

fn write_frames(path: &Path, frames: u32) -> dancenow_media::Result<u64> {
    let mut writer = VideoWriter::create(path, 32, 32, 24.0)?;
    for t in 0..frames {
        writer.write(&RgbImage::from_pixel(
            32,
            32,
            image::Rgb([t as u8 * 40, 0, 0]),
        ))?;
    }
    writer.finish()
}

#[test]
fn a_video_ffmpeg_claims_to_have_written_is_checked_before_it_replaces_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dance.mp4");
    assert_eq!(write_frames(&path, 3).unwrap(), 3);
    let old = std::fs::read(&path).unwrap();

    let tools = dir.path().join("bin");
    std::fs::create_dir(&tools).unwrap();
    let fake = tools.join("ffmpeg");
    std::fs::write(&fake, LYING_FFMPEG).unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The stand-in comes first; the real ffprobe (and cat) after it.
    let system = std::env::var_os("PATH").unwrap_or_default();
    let search =
        std::env::join_paths(std::iter::once(tools.clone()).chain(std::env::split_paths(&system)))
            .unwrap();
    // SAFETY: this binary has one test, so no other thread reads the environment.
    unsafe { std::env::set_var("PATH", search) };

    let err = write_frames(&path, 5).expect_err("a broken video was reported as written");
    assert!(matches!(err, MediaError::Unverified { .. }), "{err}");
    assert!(err.to_string().contains("dance.mp4"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), old, "the old video changed");
    assert!(!dir.path().join("dance.mp4.partial").exists());
}
