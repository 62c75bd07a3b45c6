//! Videos and image folders through the real ffmpeg.

use std::path::{Path, PathBuf};

use dancenow_media::{probe, FrameSink, FrameSource, MediaError, VideoReader, VideoWriter};
use image::{Rgb, RgbImage};

/// A smooth gradient with a square that moves: what a video codec is built for.
fn synthetic_frame(t: u32, width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let inside = (x + 1000 - 3 * t) % 100 < 16 && (20..36).contains(&y);
        if inside {
            Rgb([250, 240, 20])
        } else {
            Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 128])
        }
    })
}

fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
    let mse = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&p, &q)| (p as f64 - q as f64).powi(2))
        .sum::<f64>()
        / a.as_raw().len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-10)).log10()
}

fn write_video(path: &Path, frames: u32) -> Vec<RgbImage> {
    let mut writer = VideoWriter::create(path, 96, 64, 24.0).unwrap();
    let frames: Vec<RgbImage> = (0..frames).map(|t| synthetic_frame(t, 96, 64)).collect();
    for frame in &frames {
        writer.write(frame).unwrap();
    }
    assert_eq!(writer.finish().unwrap(), frames.len() as u64);
    frames
}

#[test]
fn video_round_trip_keeps_count_size_and_quality() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.mp4");
    let written = write_video(&path, 15);
    assert!(!dir.path().join("clip.mp4.partial").exists());

    let info = probe(&path).unwrap();
    assert_eq!(
        (info.width, info.height, info.frame_count),
        (96, 64, Some(15))
    );
    assert_eq!(info.fps, 24.0);
    assert_eq!(info.codec, "h264");

    let read: Vec<RgbImage> = VideoReader::open(&path)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(read.len(), written.len());
    for (t, (a, b)) in written.iter().zip(&read).enumerate() {
        assert_eq!(a.dimensions(), b.dimensions());
        let db = psnr(a, b);
        assert!(db > 30.0, "frame {t}: PSNR {db:.1} dB");
    }
}

#[test]
fn image_folder_round_trip_is_lossless_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("frames");
    let mut sink = FrameSink::create(&out, 96, 64, 24.0).unwrap();
    let frames: Vec<RgbImage> = (0..12).map(|t| synthetic_frame(t, 96, 64)).collect();
    for frame in &frames {
        sink.write(frame).unwrap();
    }
    assert_eq!(sink.finish().unwrap(), 12);
    let source = FrameSource::open(&out, Some(12.5)).unwrap();
    let info = source.info();
    assert_eq!(
        (info.width, info.height, info.fps, info.frame_count),
        (96, 64, 12.5, Some(12))
    );
    let read: Vec<RgbImage> = source.collect::<Result<_, _>>().unwrap();
    assert_eq!(read, frames);
}

#[test]
fn a_real_sample_video_decodes_every_frame() {
    let deps = PathBuf::from(env!("DANCENOW_DEPS"));
    let path = deps.join("samples/pose2sim/cam01.mp4");
    let source = FrameSource::open(&path, None).unwrap();
    let info = source.info();
    assert_eq!(
        (info.width, info.height, info.fps, info.frame_count),
        (1080, 1920, 60.0, Some(100))
    );
    let mut count = 0;
    for frame in source {
        assert_eq!(frame.unwrap().dimensions(), (1080, 1920));
        count += 1;
    }
    assert_eq!(count, 100);
}

#[test]
fn a_corrupt_file_is_not_a_video() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.mp4");
    let noise: Vec<u8> = (0..50_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, noise).unwrap();
    let err = FrameSource::open(&path, None)
        .err()
        .expect("corrupt file must fail");
    assert!(matches!(err, MediaError::NotAVideo { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("corrupt.mp4: not a video ffmpeg can read"),
        "{err}"
    );
}

#[test]
fn a_truncated_video_is_an_error_not_a_short_video() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.mp4");
    write_video(&path, 60);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let result: Result<Vec<RgbImage>, MediaError> =
        FrameSource::open(&path, None).and_then(|s| s.collect());
    let err = result.expect_err("a truncated file must not read as a shorter video");
    assert!(
        matches!(
            err,
            MediaError::Truncated { .. } | MediaError::NotAVideo { .. } | MediaError::Ffmpeg { .. }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("cut.mp4"), "{err}");
}

#[test]
fn missing_files_and_empty_folders_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.mp4");
    let err = FrameSource::open(&missing, None).err().unwrap();
    assert!(matches!(err, MediaError::NotFound { .. }), "{err}");
    let err = FrameSource::open(dir.path(), None).err().unwrap();
    assert!(matches!(err, MediaError::EmptyFolder { .. }), "{err}");
}

#[test]
fn odd_sizes_and_mismatched_frames_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = VideoWriter::create(&dir.path().join("odd.mp4"), 95, 64, 24.0)
        .err()
        .unwrap();
    assert!(
        matches!(
            err,
            MediaError::OddSize {
                width: 95,
                height: 64,
                ..
            }
        ),
        "{err}"
    );

    let path = dir.path().join("clip.mp4");
    let mut writer = VideoWriter::create(&path, 96, 64, 24.0).unwrap();
    let err = writer.write(&RgbImage::new(64, 64)).unwrap_err();
    assert!(
        err.to_string()
            .contains("clip.mp4: frame 0 is 64x64, but the video being written is 96x64"),
        "{err}"
    );
    drop(writer);
    assert!(
        !path.exists() && !dir.path().join("clip.mp4.partial").exists(),
        "no half-written file"
    );
}

#[test]
fn a_video_with_no_frames_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.mp4");
    let writer = VideoWriter::create(&path, 96, 64, 24.0).unwrap();
    assert!(matches!(writer.finish(), Err(MediaError::NoFrames { .. })));
    assert!(!path.exists());
}

#[test]
fn folder_images_of_another_size_are_named() {
    let dir = tempfile::tempdir().unwrap();
    RgbImage::new(8, 8).save(dir.path().join("a1.png")).unwrap();
    RgbImage::new(8, 6).save(dir.path().join("a2.png")).unwrap();
    let frames: Result<Vec<_>, _> = FrameSource::open(dir.path(), None).unwrap().collect();
    let err = frames.unwrap_err().to_string();
    assert!(
        err.contains("a2.png: frame 1 is 8x6, but the folder's first image is 8x8"),
        "{err}"
    );
}

#[test]
fn matroska_and_quicktime_outputs_hold_what_their_names_say() {
    let dir = tempfile::tempdir().unwrap();
    for (name, format) in [("clip.mkv", "matroska"), ("clip.mov", "mov")] {
        let path = dir.path().join(name);
        let mut sink = FrameSink::create(&path, 96, 64, 24.0).unwrap();
        for t in 0..3 {
            sink.write(&synthetic_frame(t, 96, 64)).unwrap();
        }
        assert_eq!(sink.finish().unwrap(), 3);
        let out = std::process::Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "format=format_name",
                "-of",
                "csv=p=0",
            ])
            .arg(&path)
            .output()
            .unwrap();
        let found = String::from_utf8_lossy(&out.stdout);
        assert!(found.contains(format), "{name}: {found}");
    }
}

#[test]
fn a_rewritten_image_folder_holds_only_the_new_frames() {
    let dir = tempfile::tempdir().unwrap();
    for frames in [5, 2] {
        let mut sink = FrameSink::create(dir.path(), 96, 64, 24.0).unwrap();
        for t in 0..frames {
            sink.write(&synthetic_frame(t, 96, 64)).unwrap();
        }
        sink.finish().unwrap();
    }
    let source = FrameSource::open(dir.path(), None).unwrap();
    assert_eq!(source.info().frame_count, Some(2));
}

/// dancenow deletes only what it made (issue 18): a folder of someone else's files is
/// refused, and a user's file beside earlier frames survives their replacement.
#[test]
fn an_image_folder_output_keeps_what_dancenow_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    std::fs::write(photos.join("holiday.jpg"), "mine").unwrap();
    let err = FrameSink::create(&photos, 96, 64, 24.0).err().unwrap();
    assert!(
        err.to_string().contains("choose a new or empty folder"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&photos).unwrap().count(), 1);

    let frames = dir.path().join("frames");
    for (run, count) in [(0, 3), (1, 1)] {
        let mut sink = FrameSink::create(&frames, 96, 64, 24.0).unwrap();
        for t in 0..count {
            sink.write(&synthetic_frame(t, 96, 64)).unwrap();
        }
        sink.finish().unwrap();
        if run == 0 {
            std::fs::write(frames.join("notes.txt"), "mine").unwrap();
        }
    }
    assert_eq!(
        std::fs::read_to_string(frames.join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(frames.join("frame_000000.png").is_file());
    assert!(!frames.join("frame_000001.png").exists());
}

#[test]
fn an_image_file_output_takes_exactly_one_frame() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("still.png");
    let mut sink = FrameSink::create(&path, 96, 64, 24.0).unwrap();
    sink.write(&synthetic_frame(0, 96, 64)).unwrap();
    let err = sink.write(&synthetic_frame(1, 96, 64)).unwrap_err();
    assert!(err.to_string().contains("holds one frame"), "{err}");
    assert_eq!(sink.finish().unwrap(), 1);
    assert_eq!(
        image::open(&path).unwrap().to_rgb8(),
        synthetic_frame(0, 96, 64)
    );
}

#[test]
fn an_output_named_as_a_video_dancenow_cannot_write_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["out.webm", "out.AVI", "clip.gif"] {
        let path = dir.path().join(name);
        let err = dancenow_media::FrameSink::create(&path, 64, 64, 10.0)
            .err()
            .unwrap_or_else(|| panic!("{name} was accepted"))
            .to_string();
        assert!(
            err.contains(".mp4")
                && err.contains(
                    name.split('.')
                        .next_back()
                        .unwrap()
                        .to_ascii_lowercase()
                        .as_str()
                ),
            "{err}"
        );
        assert!(!path.exists(), "{name} was made");
    }
}

/// A clip made by ffmpeg's own sources: a test pattern and, for `sound_seconds`, a sine.
fn clip_with_sound(path: &Path, video_seconds: f64, sound_seconds: f64) {
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!(
            "testsrc=size=96x64:rate=24:duration={video_seconds}"
        ))
        .args(["-f", "lavfi", "-i"])
        .arg(format!("sine=frequency=440:duration={sound_seconds}"))
        .args(["-c:v", "libx264", "-c:a", "aac"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Each stream's type and duration in seconds, as ffprobe reports them.
fn stream_durations(path: &Path) -> Vec<(String, f64)> {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type,duration",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let (kind, seconds) = line.split_once(',')?;
            Some((kind.to_string(), seconds.trim().parse().ok()?))
        })
        .collect()
}

/// Writes `frames` synthetic frames at 24 fps with the sound of `audio_from`.
fn write_with_sound(path: &Path, frames: u32, audio_from: &Path) {
    let mut sink = FrameSink::create_with_audio(path, 96, 64, 24.0, Some(audio_from)).unwrap();
    for t in 0..frames {
        sink.write(&synthetic_frame(t, 96, 64)).unwrap();
    }
    assert_eq!(sink.finish().unwrap(), frames as u64);
}

/// One AAC frame at 44.1 kHz (1024 samples): how far the sound may run past the last frame.
const AAC_FRAME_SECONDS: f64 = 1024.0 / 44_100.0;

#[test]
fn the_sound_of_another_file_is_cut_or_padded_to_the_frames() {
    let dir = tempfile::tempdir().unwrap();
    // Sound longer than the frames written, then shorter.
    for (sound_seconds, frames) in [(1.0, 15), (0.25, 24)] {
        let source = dir.path().join("source.mp4");
        clip_with_sound(&source, 1.0, sound_seconds);
        assert!(probe(&source).unwrap().has_audio);

        let out = dir.path().join("out.mp4");
        write_with_sound(&out, frames, &source);
        assert!(!dir.path().join("out.mp4.partial").exists());
        let info = probe(&out).unwrap();
        assert_eq!(info.frame_count, Some(frames as u64));
        assert!(info.has_audio);
        let seconds = frames as f64 / 24.0;
        let durations = stream_durations(&out);
        let audio = durations
            .iter()
            .find(|(kind, _)| kind == "audio")
            .unwrap()
            .1;
        assert!(
            audio >= seconds - AAC_FRAME_SECONDS && audio <= seconds + AAC_FRAME_SECONDS,
            "{frames} frames ({seconds} s) with {sound_seconds} s of sound: {durations:?}"
        );
    }
}

#[test]
fn a_source_without_sound_gives_a_silent_video() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("silent.mp4");
    write_video(&source, 5);
    assert!(!probe(&source).unwrap().has_audio);
    let out = dir.path().join("out.mkv");
    write_with_sound(&out, 7, &source);
    let info = probe(&out).unwrap();
    assert_eq!((info.frame_count, info.has_audio), (Some(7), false));
}

#[test]
fn a_missing_sound_file_fails_before_any_frame() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.mp4");
    let err = FrameSink::create_with_audio(&out, 96, 64, 24.0, Some(&dir.path().join("nope.wav")))
        .err()
        .unwrap();
    assert!(matches!(err, MediaError::NotFound { .. }), "{err}");
    assert!(!out.exists() && !dir.path().join("out.mp4.partial").exists());
}

#[test]
fn image_outputs_ignore_the_sound() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.mp4");
    clip_with_sound(&source, 0.5, 0.5);
    let frames = dir.path().join("frames");
    write_with_sound(&frames, 3, &source);
    assert_eq!(
        FrameSource::open(&frames, None).unwrap().info().frame_count,
        Some(3)
    );
}
