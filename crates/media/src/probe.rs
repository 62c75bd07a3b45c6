//! What a video is, from `ffprobe`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{MediaError, Result};
use crate::process;

/// A video's first video stream, as it will be decoded (rotation applied), and whether
/// the file has sound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoInfo {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// From the container, or counted by demuxing when the container does not say.
    pub frame_count: Option<u64>,
    pub duration_seconds: Option<f64>,
    pub codec: String,
    /// The file holds an audio stream besides the video.
    #[serde(default)]
    pub has_audio: bool,
}

#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    streams: Vec<Stream>,
}

#[derive(Deserialize)]
struct Stream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    r_frame_rate: Option<String>,
    avg_frame_rate: Option<String>,
    nb_frames: Option<String>,
    nb_read_packets: Option<String>,
    duration: Option<String>,
    #[serde(default)]
    side_data_list: Vec<SideData>,
    #[serde(default)]
    tags: std::collections::HashMap<String, String>,
}

#[derive(Deserialize)]
struct SideData {
    rotation: Option<f64>,
}

/// Probes `path` with ffprobe.
pub fn probe(path: &Path) -> Result<VideoInfo> {
    if !path.exists() {
        return Err(MediaError::NotFound {
            path: path.to_path_buf(),
        });
    }
    let streams = probe_streams(path, false)?;
    let not_a_video = |detail: &str| MediaError::NotAVideo {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    };
    let has_audio = streams.iter().any(|s| s.is_a("audio"));
    let stream = streams
        .into_iter()
        .find(|s| s.is_a("video"))
        .ok_or_else(|| not_a_video("it has no video stream"))?;
    let (Some(mut width), Some(mut height)) = (stream.width, stream.height) else {
        return Err(not_a_video("its video stream has no frame size"));
    };
    if width == 0 || height == 0 {
        return Err(not_a_video("its video stream has an empty frame size"));
    }
    // ffmpeg applies a display rotation when decoding; a quarter turn swaps the sides.
    let rotation = stream
        .side_data_list
        .iter()
        .find_map(|s| s.rotation)
        .or_else(|| stream.tags.get("rotate").and_then(|r| r.parse().ok()))
        .unwrap_or(0.0);
    if (rotation.abs() - 90.0).abs() < 1.0 || (rotation.abs() - 270.0).abs() < 1.0 {
        std::mem::swap(&mut width, &mut height);
    }
    // The average rate is the true one for variable-rate (phone) video; r_frame_rate
    // is only a time-base guess there. They agree for constant-rate video.
    let fps = [&stream.avg_frame_rate, &stream.r_frame_rate]
        .into_iter()
        .filter_map(|r| parse_rate(r.as_deref()?))
        .next()
        .ok_or_else(|| not_a_video("its video stream has no frame rate"))?;
    let mut frame_count = stream.nb_frames.as_deref().and_then(|n| n.parse().ok());
    if frame_count.is_none() {
        frame_count = probe_streams(path, true)?
            .into_iter()
            .next()
            .and_then(|s| s.nb_read_packets)
            .and_then(|n| n.parse().ok());
    }
    Ok(VideoInfo {
        width,
        height,
        fps,
        frame_count,
        duration_seconds: stream.duration.and_then(|d| d.parse().ok()),
        codec: stream.codec_name.unwrap_or_else(|| "unknown".into()),
        has_audio,
    })
}

/// Whether `path` (a video, or a sound file) holds an audio stream.
pub fn has_audio(path: &Path) -> Result<bool> {
    if !path.exists() {
        return Err(MediaError::NotFound {
            path: path.to_path_buf(),
        });
    }
    Ok(probe_streams(path, false)?.iter().any(|s| s.is_a("audio")))
}

impl Stream {
    fn is_a(&self, codec_type: &str) -> bool {
        self.codec_type.as_deref() == Some(codec_type)
    }
}

/// Every stream of `path`; or, counting packets (which reads the whole file), only its
/// first video stream.
fn probe_streams(path: &Path, count_packets: bool) -> Result<Vec<Stream>> {
    let mut args: Vec<std::ffi::OsString> = vec!["-v".into(), "error".into()];
    if count_packets {
        args.extend([
            "-count_packets".into(),
            "-select_streams".into(),
            "v:0".into(),
        ]);
    }
    args.extend([
        "-show_entries".into(),
        "stream=codec_type,codec_name,width,height,r_frame_rate,avg_frame_rate,nb_frames,\
         nb_read_packets,duration:stream_side_data=rotation:stream_tags=rotate"
            .into(),
        "-of".into(),
        "json".into(),
    ]);
    args.push(process::file_arg(path));
    let (status, stdout, stderr) = process::output("ffprobe", &args)?;
    let not_a_video = |detail: String| MediaError::NotAVideo {
        path: path.to_path_buf(),
        detail,
    };
    if !status.success() {
        return Err(not_a_video(if stderr.is_empty() {
            status.to_string()
        } else {
            stderr
        }));
    }
    let probe: Probe = serde_json::from_slice(&stdout)
        .map_err(|e| not_a_video(format!("unreadable ffprobe output: {e}")))?;
    Ok(probe.streams)
}

/// "30000/1001" -> 29.97; "0/0" and garbage -> None.
fn parse_rate(rate: &str) -> Option<f64> {
    let (num, den) = rate.split_once('/').unwrap_or((rate, "1"));
    let value = num.trim().parse::<f64>().ok()? / den.trim().parse::<f64>().ok()?;
    (value.is_finite() && value > 0.0).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::parse_rate;

    #[test]
    fn frame_rates_parse_as_ffprobe_writes_them() {
        assert_eq!(parse_rate("60/1"), Some(60.0));
        assert!((parse_rate("30000/1001").unwrap() - 29.97).abs() < 1e-3);
        assert_eq!(parse_rate("25"), Some(25.0));
        assert_eq!(parse_rate("0/0"), None);
        assert_eq!(parse_rate("abc"), None);
    }
}
