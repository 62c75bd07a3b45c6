//! Video files through ffmpeg: decoding to raw RGB frames, encoding from them to H.264,
//! with the sound of another file if asked.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ChildStdout;
use std::sync::mpsc::{sync_channel, Receiver};

use image::RgbImage;

use crate::error::{MediaError, Result};
use crate::probe::{has_audio, probe, VideoInfo};
use crate::process::{file_arg, Process};

/// x264's constant rate factor: 18 is visually near-lossless at a modest size.
pub const DEFAULT_CRF: u8 = 18;

/// How a [`VideoWriter`] encodes.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoOptions {
    /// x264's constant rate factor (lower is better and larger).
    pub crf: u8,
    /// A video or sound file whose first audio track goes into the output as AAC, from the
    /// first frame on, cut or padded with silence to the frames' length (e.g. the dance's
    /// music, from the source video). A file without audio gives a silent video.
    pub audio_from: Option<PathBuf>,
}

impl Default for VideoOptions {
    fn default() -> Self {
        Self {
            crf: DEFAULT_CRF,
            audio_from: None,
        }
    }
}

/// Decodes a video one frame at a time. A thread of its own reads the next frame from
/// ffmpeg while the caller works on this one: besides the caller's, at most one frame
/// waits and one is being read.
/// ffmpeg starts at the first frame asked for, so opening only to probe costs nothing.
pub struct VideoReader {
    path: PathBuf,
    info: VideoInfo,
    state: Decoder,
    frames_read: u64,
}

enum Decoder {
    NotStarted,
    /// ffmpeg, and the frames its output has been cut into (a short last one at the end).
    /// The process comes first so that dropping it stops ffmpeg before the channel closes.
    Running(Process, Receiver<io::Result<Vec<u8>>>),
    Done,
}

/// Frames read ahead of the caller.
const READ_AHEAD: usize = 1;

/// Cuts ffmpeg's output into frames of `size` bytes on a thread of its own, until the end
/// of the stream (sent as a short or empty frame), an error, or the reader going away.
fn read_ahead(mut stdout: ChildStdout, size: usize) -> Receiver<io::Result<Vec<u8>>> {
    // A pipe larger than Linux's 64 KiB default passes a frame in fewer wake-ups; where
    // the call fails, the default serves.
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: F_SETPIPE_SZ on a pipe this process owns changes only its capacity.
        unsafe { libc::fcntl(stdout.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20) };
    }
    let (frames, receiver) = sync_channel(READ_AHEAD);
    std::thread::spawn(move || loop {
        // Read into spare capacity: nothing is zeroed first.
        let mut frame = Vec::with_capacity(size);
        let read = (&mut stdout).take(size as u64).read_to_end(&mut frame);
        let last = !matches!(read, Ok(n) if n == size);
        if frames.send(read.map(|_| frame)).is_err() || last {
            break;
        }
    });
    receiver
}

impl VideoReader {
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Self {
            path: path.to_path_buf(),
            info: probe(path)?,
            state: Decoder::NotStarted,
            frames_read: 0,
        })
    }

    fn start(&self) -> Result<Process> {
        let path = file_arg(&self.path);
        let path = path.as_os_str();
        let args: [&std::ffi::OsStr; 14] = [
            "-nostdin".as_ref(),
            "-v".as_ref(),
            "error".as_ref(),
            "-i".as_ref(),
            path,
            "-map".as_ref(),
            "0:v:0".as_ref(),
            // One output frame per decoded frame: no duplicates or drops for timing.
            "-fps_mode".as_ref(),
            "passthrough".as_ref(),
            "-f".as_ref(),
            "rawvideo".as_ref(),
            "-pix_fmt".as_ref(),
            "rgb24".as_ref(),
            "-".as_ref(),
        ];
        Process::spawn("ffmpeg", args, false)
    }

    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    /// Bytes in one RGB frame.
    fn frame_bytes(&self) -> usize {
        self.info.width as usize * self.info.height as usize * 3
    }

    fn read_frame(&mut self) -> Option<Result<RgbImage>> {
        if matches!(self.state, Decoder::NotStarted) {
            match self.start() {
                Ok(mut process) => {
                    let stdout = process
                        .take_stdout()
                        .expect("ffmpeg started with a stdout pipe");
                    self.state = Decoder::Running(process, read_ahead(stdout, self.frame_bytes()));
                }
                Err(e) => {
                    self.state = Decoder::Done;
                    return Some(Err(e));
                }
            }
        }
        let Decoder::Running(_, frames) = &self.state else {
            return None;
        };
        let (w, h) = (self.info.width, self.info.height);
        let size = self.frame_bytes();
        // The reader thread ends only after sending the end of the stream.
        let buf = match frames.recv().unwrap_or_else(|_| Ok(Vec::new())) {
            Ok(buf) => buf,
            Err(e) => {
                self.state = Decoder::Done;
                return Some(Err(MediaError::io(&self.path)(e)));
            }
        };
        let filled = buf.len();
        if filled == size {
            self.frames_read += 1;
            return Some(Ok(
                RgbImage::from_raw(w, h, buf).expect("buffer sized to the frame")
            ));
        }
        // End of stream: a clean end needs a successful exit and at least one frame.
        let Decoder::Running(process, _) = std::mem::replace(&mut self.state, Decoder::Done) else {
            unreachable!("checked above");
        };
        let (status, stderr) = process.finish();
        let path = self.path.clone();
        if !status.success() {
            return Some(Err(MediaError::Ffmpeg {
                path,
                action: "decoding",
                status: status.to_string(),
                stderr,
            }));
        }
        if filled > 0 {
            return Some(Err(MediaError::Truncated {
                path,
                detail: format!(
                    "frame {} ends after {filled} of {} bytes",
                    self.frames_read, size
                ),
            }));
        }
        if self.frames_read == 0 {
            return Some(Err(MediaError::NoFrames { path }));
        }
        // ffmpeg stops at damage without failing; a short count plus its complaints is one.
        let expected = self.info.frame_count.unwrap_or(0);
        if self.frames_read < expected && !stderr.is_empty() {
            return Some(Err(MediaError::Truncated {
                path,
                detail: format!(
                    "decoded {} of the {expected} frames the file declares: {stderr}",
                    self.frames_read
                ),
            }));
        }
        None
    }
}

impl Iterator for VideoReader {
    type Item = Result<RgbImage>;

    fn next(&mut self) -> Option<Self::Item> {
        self.read_frame()
    }
}

/// Encodes frames to an H.264 MP4 (yuv420p, plays everywhere). The file appears under its
/// name only when [`VideoWriter::finish`] succeeds; until then it is `NAME.partial`.
pub struct VideoWriter {
    path: PathBuf,
    /// The file ffmpeg writes; `None` once it is moved into place.
    partial: Option<PathBuf>,
    width: u32,
    height: u32,
    process: Option<Process>,
    frames_written: u64,
}

impl VideoWriter {
    pub fn create(path: &Path, width: u32, height: u32, fps: f64) -> Result<Self> {
        Self::with_crf(path, width, height, fps, DEFAULT_CRF)
    }

    pub fn with_crf(path: &Path, width: u32, height: u32, fps: f64, crf: u8) -> Result<Self> {
        let options = VideoOptions {
            crf,
            ..VideoOptions::default()
        };
        Self::with_options(path, width, height, fps, &options)
    }

    pub fn with_options(
        path: &Path,
        width: u32,
        height: u32,
        fps: f64,
        options: &VideoOptions,
    ) -> Result<Self> {
        if width == 0 || height == 0 || width % 2 == 1 || height % 2 == 1 {
            return Err(MediaError::OddSize {
                path: path.to_path_buf(),
                width,
                height,
            });
        }
        if !(fps.is_finite() && fps > 0.0) {
            return Err(MediaError::Parameter(format!(
                "frame rate must be positive, got {fps}"
            )));
        }
        // Asked before any frame is made, so a wrong sound file fails in a second.
        let audio = match &options.audio_from {
            Some(source) => has_audio(source)?.then_some(source.as_path()),
            None => None,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(MediaError::io(parent))?;
        }
        let partial = dancenow_files::partial_path(path);
        let output = file_arg(&partial);
        let audio = audio.map(file_arg);
        let size = format!("{width}x{height}");
        let (rate, crf) = (format!("{fps}"), options.crf.to_string());
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "-nostdin".as_ref(),
            "-v".as_ref(),
            "error".as_ref(),
            "-y".as_ref(),
            "-f".as_ref(),
            "rawvideo".as_ref(),
            "-pix_fmt".as_ref(),
            "rgb24".as_ref(),
            "-s".as_ref(),
            size.as_ref(),
            "-r".as_ref(),
            rate.as_ref(),
            "-i".as_ref(),
            "-".as_ref(),
        ];
        if let Some(source) = &audio {
            args.extend::<[&std::ffi::OsStr; 11]>([
                "-i".as_ref(),
                source.as_os_str(),
                "-map".as_ref(),
                "0:v:0".as_ref(),
                "-map".as_ref(),
                "1:a:0".as_ref(),
                "-c:a".as_ref(),
                "aac".as_ref(),
                // Silence after the sound ends, and the end at the last frame: the video
                // keeps every frame, the sound fits it (ffmpeg's apad documentation).
                "-af".as_ref(),
                "apad".as_ref(),
                "-shortest".as_ref(),
            ]);
        }
        args.extend::<[&std::ffi::OsStr; 11]>([
            "-c:v".as_ref(),
            "libx264".as_ref(),
            "-crf".as_ref(),
            crf.as_ref(),
            "-pix_fmt".as_ref(),
            "yuv420p".as_ref(),
            // Index at the front, so players start before the whole file arrives
            // (ignored by Matroska).
            "-movflags".as_ref(),
            "+faststart".as_ref(),
            "-f".as_ref(),
            container(path).as_ref(),
            output.as_os_str(),
        ]);
        let process = Process::spawn("ffmpeg", args, true)?;
        Ok(Self {
            path: path.to_path_buf(),
            partial: Some(partial),
            width,
            height,
            process: Some(process),
            frames_written: 0,
        })
    }

    pub fn write(&mut self, frame: &RgbImage) -> Result<()> {
        if frame.dimensions() != (self.width, self.height) {
            return Err(MediaError::SizeMismatch {
                path: self.path.clone(),
                what: "video being written",
                index: self.frames_written,
                width: self.width,
                height: self.height,
                got_width: frame.width(),
                got_height: frame.height(),
            });
        }
        let process = self.process.as_mut().expect("writer used after finish");
        let stdin = process.stdin().expect("ffmpeg started with a stdin pipe");
        if let Err(e) = stdin.write_all(frame.as_raw()) {
            // ffmpeg quit early; its stderr says why.
            let (status, stderr) = self.process.take().expect("checked above").finish();
            return Err(MediaError::Ffmpeg {
                path: self.path.clone(),
                action: "encoding",
                status: status.to_string(),
                stderr: if stderr.is_empty() {
                    e.to_string()
                } else {
                    stderr
                },
            });
        }
        self.frames_written += 1;
        Ok(())
    }

    /// Closes the stream, waits for ffmpeg, checks the file it wrote (its exit status is
    /// not enough: ffmpeg can exit 0 after failing to write the end of a file), and only
    /// then moves it into place. On any failure the partial file is removed.
    pub fn finish(mut self) -> Result<u64> {
        let mut process = self.process.take().expect("finish called once");
        drop(process.take_stdin());
        let (status, stderr) = process.finish();
        if self.frames_written == 0 {
            return Err(MediaError::NoFrames {
                path: self.path.clone(),
            });
        }
        if !status.success() {
            return Err(MediaError::Ffmpeg {
                path: self.path.clone(),
                action: "encoding",
                status: status.to_string(),
                stderr,
            });
        }
        let partial = self.partial.clone().expect("moved into place only here");
        self.verify(&partial, &stderr)?;
        std::fs::rename(&partial, &self.path).map_err(MediaError::io(&self.path))?;
        self.partial = None;
        Ok(self.frames_written)
    }

    /// The written file must be readable and hold every frame that was sent.
    fn verify(&self, partial: &Path, stderr: &str) -> Result<()> {
        let unverified = |detail: String| MediaError::Unverified {
            path: self.path.clone(),
            detail: if stderr.is_empty() {
                detail
            } else {
                format!("{detail}; ffmpeg said: {stderr}")
            },
        };
        let info =
            probe(partial).map_err(|e| unverified(format!("it cannot be read back: {e}")))?;
        match info.frame_count {
            Some(count) if count == self.frames_written => Ok(()),
            Some(count) => Err(unverified(format!(
                "it holds {count} frames, {} were sent",
                self.frames_written
            ))),
            None => Err(unverified("its frames cannot be counted".into())),
        }
    }
}

/// ffmpeg's muxer for the file name's extension (the `.partial` name hides it from ffmpeg).
fn container(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("mkv") => "matroska",
        Some("mov") => "mov",
        _ => "mp4",
    }
}

impl Drop for VideoWriter {
    /// An unfinished or failed video (an error, Ctrl-C) leaves no half-written file behind.
    fn drop(&mut self) {
        // ffmpeg goes first, so nothing writes the file after it is removed.
        drop(self.process.take());
        if let Some(partial) = self.partial.take() {
            let _ = std::fs::remove_file(partial);
        }
    }
}
