//! One way in and one way out for frames, whatever holds them.

use std::path::Path;

use image::RgbImage;

use crate::error::{MediaError, Result};
use crate::folder::{is_image, ImageFolderReader, ImageFolderWriter};
use crate::video::{VideoOptions, VideoReader, VideoWriter};

/// Frame rate assumed for image folders when the caller does not give one.
pub const DEFAULT_FOLDER_FPS: f64 = 30.0;

/// Output names that become an H.264 video (compared in lower case).
const VIDEO_EXTENSIONS: &[&str] = &["mp4", "mov", "mkv", "m4v"];

/// Size, rate and length of a frame source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub frame_count: Option<u64>,
}

/// A video file, a folder of images, or a single image, as a stream of RGB frames.
pub enum FrameSource {
    Video(VideoReader),
    Images { reader: ImageFolderReader, fps: f64 },
}

impl FrameSource {
    /// Opens `path`: a folder reads its images, an image file is one frame, anything else
    /// goes to ffmpeg. `folder_fps` is the rate given to images (they carry none).
    pub fn open(path: &Path, folder_fps: Option<f64>) -> Result<Self> {
        let fps = folder_fps.unwrap_or(DEFAULT_FOLDER_FPS);
        if path.is_dir() {
            Ok(Self::Images {
                reader: ImageFolderReader::open(path)?,
                fps,
            })
        } else if is_image(path) {
            Ok(Self::Images {
                reader: ImageFolderReader::single(path)?,
                fps,
            })
        } else {
            Ok(Self::Video(VideoReader::open(path)?))
        }
    }

    /// The container's description, for a video.
    pub fn video_info(&self) -> Option<&crate::VideoInfo> {
        match self {
            Self::Video(reader) => Some(reader.info()),
            Self::Images { .. } => None,
        }
    }

    pub fn info(&self) -> SourceInfo {
        match self {
            Self::Video(reader) => {
                let info = reader.info();
                SourceInfo {
                    width: info.width,
                    height: info.height,
                    fps: info.fps,
                    frame_count: info.frame_count,
                }
            }
            Self::Images { reader, fps } => {
                let (width, height) = reader.dimensions();
                SourceInfo {
                    width,
                    height,
                    fps: *fps,
                    frame_count: Some(reader.len() as u64),
                }
            }
        }
    }
}

impl Iterator for FrameSource {
    type Item = Result<RgbImage>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Video(reader) => reader.next(),
            Self::Images { reader, .. } => reader.next(),
        }
    }
}

/// An MP4 file, a folder of PNG images, or one image file (for one frame).
pub enum FrameSink {
    Video(VideoWriter),
    Images(ImageFolderWriter),
    Image {
        path: std::path::PathBuf,
        written: bool,
    },
}

/// Video containers an H.264 stream cannot go into here: a path ending so is a mistake,
/// not a folder name.
const UNWRITABLE_VIDEO_EXTENSIONS: &[&str] = &[
    "webm", "avi", "gif", "flv", "wmv", "mpg", "mpeg", "ogv", "ogg", "ts", "m2ts", "3gp", "asf",
];

impl FrameSink {
    /// A path ending in `.mp4`, `.mov` or `.mkv` becomes an H.264 video; anything else a folder.
    pub fn create(path: &Path, width: u32, height: u32, fps: f64) -> Result<Self> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some(video) if VIDEO_EXTENSIONS.contains(&video) => {
                Ok(Self::Video(VideoWriter::create(path, width, height, fps)?))
            }
            Some(_) if is_image(path) => Ok(Self::Image {
                path: path.to_path_buf(),
                written: false,
            }),
            Some(other) if UNWRITABLE_VIDEO_EXTENSIONS.contains(&other) => {
                Err(MediaError::Parameter(format!(
                    "{}: dancenow writes H.264 video as .mp4, .mov, .mkv or .m4v, not .{other}; \
                     choose one of those (or a folder name for PNG frames)",
                    path.display()
                )))
            }
            _ => Ok(Self::Images(ImageFolderWriter::create(path)?)),
        }
    }

    /// As [`create`](Self::create); a video also carries the sound of `audio_from` (see
    /// [`VideoOptions::audio_from`]). Image outputs have no place for sound and ignore it.
    pub fn create_with_audio(
        path: &Path,
        width: u32,
        height: u32,
        fps: f64,
        audio_from: Option<&Path>,
    ) -> Result<Self> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match (audio_from, extension) {
            (Some(audio), Some(e)) if VIDEO_EXTENSIONS.contains(&e.as_str()) => {
                let options = VideoOptions {
                    audio_from: Some(audio.to_path_buf()),
                    ..VideoOptions::default()
                };
                let writer = VideoWriter::with_options(path, width, height, fps, &options)?;
                Ok(Self::Video(writer))
            }
            _ => Self::create(path, width, height, fps),
        }
    }

    pub fn write(&mut self, frame: &RgbImage) -> Result<()> {
        match self {
            Self::Video(writer) => writer.write(frame),
            Self::Images(writer) => writer.write(frame),
            Self::Image { path, written } => {
                if *written {
                    return Err(MediaError::Parameter(format!(
                        "{}: an image file holds one frame; write a sequence to a folder or a .mp4",
                        path.display()
                    )));
                }
                crate::folder::save_atomically(frame, path)?;
                *written = true;
                Ok(())
            }
        }
    }

    /// Completes the output; returns the number of frames written.
    pub fn finish(self) -> Result<u64> {
        match self {
            Self::Video(writer) => writer.finish(),
            Self::Images(writer) => writer.finish(),
            Self::Image {
                path,
                written: false,
            } => Err(MediaError::NoFrames { path }),
            Self::Image { written: true, .. } => Ok(1),
        }
    }
}
