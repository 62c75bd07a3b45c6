//! Paths are paths (issue 18): a file named `-dash.mp4`, `a:b.mp4` or `file:x.mp4` is read
//! and written as that file, not taken by ffmpeg for an option or a protocol.
//! (Its own test binary: it changes the working directory, so the names stay relative.)

use std::path::Path;

use dancenow_media::{probe, FrameSink, FrameSource, VideoOptions, VideoWriter};
use image::{Rgb, RgbImage};

fn write(path: &Path, frames: u8, audio_from: Option<&Path>) {
    let options = VideoOptions {
        audio_from: audio_from.map(Path::to_path_buf),
        ..VideoOptions::default()
    };
    let mut writer = VideoWriter::with_options(path, 32, 32, 10.0, &options)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for t in 0..frames {
        writer
            .write(&RgbImage::from_pixel(32, 32, Rgb([t * 30, 0, 0])))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    assert_eq!(
        writer.finish().unwrap(),
        frames as u64,
        "{}",
        path.display()
    );
}

fn frames_read(path: &Path) -> usize {
    let frames: Vec<RgbImage> = FrameSource::open(path, None)
        .and_then(|source| source.collect())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    frames.len()
}

#[test]
fn names_with_a_leading_dash_or_a_colon_are_files() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    // A decoy: `file:x.mp4` given as it is would read this one.
    write(Path::new("x.mp4"), 2, None);
    for (name, frames) in [("-dash.mp4", 3), ("a:b.mp4", 4), ("file:x.mp4", 5)] {
        let path = Path::new(name);
        write(path, frames, None);
        assert!(path.is_file(), "{name} was not written under its name");
        assert_eq!(
            probe(path).unwrap().frame_count,
            Some(frames as u64),
            "{name}"
        );
        assert_eq!(frames_read(path), frames as usize, "{name}");
    }
    // A sound source and a sink with such names too.
    write(Path::new("-out:sound.mkv"), 3, Some(Path::new("-dash.mp4")));
    let mut sink = FrameSink::create(Path::new("-frames:x"), 32, 32, 10.0).unwrap();
    sink.write(&RgbImage::new(32, 32)).unwrap();
    sink.finish().unwrap();
    assert_eq!(frames_read(Path::new("-frames:x")), 1);
    assert_eq!(probe(Path::new("x.mp4")).unwrap().frame_count, Some(2));
}
