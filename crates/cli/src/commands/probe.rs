//! `dancenow probe`: what a video, image or image folder is.

use anyhow::{Context, Result};
use dancenow_media::FrameSource;

use crate::args::ProbeArgs;

pub fn run(args: ProbeArgs) -> Result<()> {
    if !args.input.exists() {
        anyhow::bail!("input {} does not exist", args.input.display());
    }
    let source = FrameSource::open(&args.input, None)?;
    let info = source.info();
    let video = source.video_info().cloned();
    if args.json {
        let json = serde_json::json!({
            "path": args.input,
            "kind": if video.is_some() { "video" } else { "images" },
            "width": info.width,
            "height": info.height,
            "fps": info.fps,
            "frames": info.frame_count,
            "duration_seconds": video.as_ref().and_then(|v| v.duration_seconds),
            "codec": video.as_ref().map(|v| v.codec.clone()),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&json).context("writing JSON")?
        );
        return Ok(());
    }
    println!("{}", args.input.display());
    match &video {
        Some(v) => println!("  kind:     video ({})", v.codec),
        None => println!("  kind:     images (frame rate assumed)"),
    }
    println!("  size:     {}x{}", info.width, info.height);
    println!("  fps:      {:.3}", info.fps);
    match info.frame_count {
        Some(n) => println!("  frames:   {n}"),
        None => println!("  frames:   unknown"),
    }
    if let Some(seconds) = video.and_then(|v| v.duration_seconds) {
        println!("  duration: {seconds:.2} s");
    }
    Ok(())
}
