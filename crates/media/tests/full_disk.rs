//! A full disk never replaces a good output with a broken one (issue 18): the old video
//! stays byte-identical, image writes fail loudly, and the caller gets an error.
//!
//! The disk is a 200 KiB tmpfs, which only root can mount; elsewhere the tests say so and
//! pass without checking anything.

use std::path::{Path, PathBuf};
use std::process::Command;

use dancenow_media::{FrameSink, FrameSource, VideoWriter};
use image::{Rgb, RgbImage};

/// Small enough that a few hundred kilobytes of frames fill it.
const DISK_SIZE: &str = "size=200k";

/// A tmpfs mounted on a temporary folder, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", DISK_SIZE, "tmpfs"])
            .arg(dir.path())
            .output()
            .is_ok_and(|out| out.status.success());
        if !mounted {
            eprintln!("skipped: cannot mount a small tmpfs (needs root)");
            return None;
        }
        Some(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazily: a file still open there (a child ending) must not keep it mounted.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Noise: frames no codec can shrink, so the disk fills after a few.
fn noise_frame(t: u32, width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let h = (x ^ (y << 10) ^ (t << 20)).wrapping_mul(2_654_435_761);
        Rgb([(h >> 8) as u8, (h >> 16) as u8, (h >> 24) as u8])
    })
}

fn write_video(path: &Path, frames: u32, width: u32, height: u32) -> dancenow_media::Result<u64> {
    let mut writer = VideoWriter::create(path, width, height, 24.0)?;
    for t in 0..frames {
        writer.write(&noise_frame(t, width, height))?;
    }
    writer.finish()
}

fn leftovers(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".partial"))
        .collect()
}

#[test]
fn a_full_disk_leaves_the_old_video_as_it_was() {
    let Some(disk) = SmallDisk::mount() else {
        return;
    };
    let path = disk.path().join("dance.mp4");
    assert_eq!(write_video(&path, 2, 32, 32).unwrap(), 2);
    let old = std::fs::read(&path).unwrap();

    let err = write_video(&path, 40, 320, 240)
        .expect_err("a video that did not fit on the disk was reported as written");
    assert!(err.to_string().contains("dance.mp4"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), old, "the old video changed");
    assert_eq!(leftovers(disk.path()), Vec::<PathBuf>::new());
}

/// The frames of an image folder, in order.
fn read_frames(dir: &Path) -> Vec<RgbImage> {
    FrameSource::open(dir, None)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_full_disk_leaves_the_old_image_folder_as_it_was() {
    let Some(disk) = SmallDisk::mount() else {
        return;
    };
    let out = disk.path().join("frames");
    let mut first = FrameSink::create(&out, 16, 16, 24.0).unwrap();
    for t in 0..2 {
        first.write(&noise_frame(t, 16, 16)).unwrap();
    }
    assert_eq!(first.finish().unwrap(), 2);

    let mut sink = FrameSink::create(&out, 96, 64, 24.0).unwrap();
    let mut written = 0;
    let err = loop {
        assert!(written < 100, "100 noise frames fitted in {DISK_SIZE}");
        match sink.write(&noise_frame(written, 96, 64)) {
            Ok(()) => written += 1,
            Err(e) => break e,
        }
    };
    assert!(err.to_string().contains("frames"), "{err}");
    assert!(written > 0, "the first frame should have fitted");
    drop(sink);
    // The new frames were built beside the old folder, which never saw them.
    assert_eq!(leftovers(disk.path()), Vec::<PathBuf>::new());
    assert_eq!(leftovers(&out), Vec::<PathBuf>::new());
    let frames = read_frames(&out);
    assert_eq!(frames.len(), 2, "the old folder changed");
    for (t, frame) in frames.iter().enumerate() {
        assert_eq!(frame, &noise_frame(t as u32, 16, 16), "frame {t}");
    }
}
