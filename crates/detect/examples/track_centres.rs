//! Prints, per frame of a video, where the tracker's person is and how it got there, to
//! measure identity switches:
//! `cargo run -p dancenow-detect --example track_centres -- VIDEO [--all] [--from N] [--to N] [--at X,Y]`.
//!
//! Columns: frame, the tracked centre (mean of the confident BODY_25 points; `-` when
//! nobody was found), the people the detector found when it ran (`-` when the landmark
//! model kept the person without it), the next region's size, and the jump of the centre
//! from the last frame with a person, as a fraction of the frame's diagonal. `--all` also
//! runs the detector on every frame and lists its people (centre and region size), to see
//! where everyone is.

use std::path::PathBuf;

use dancenow_detect::{BlazePose, Frame, Tracker};
use dancenow_nn::tch::Device;
use dancenow_pose::keypoints::MIN_CONFIDENCE;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut video = None;
    let (mut all, mut from, mut to, mut at) = (false, 0usize, usize::MAX, None);
    while let Some(arg) = args.next() {
        let mut value = || args.next().expect("a value after the flag");
        match arg.as_str() {
            "--all" => all = true,
            "--from" => from = value().parse().expect("a frame number"),
            "--to" => to = value().parse().expect("a frame number"),
            "--at" => {
                let v = value();
                let (x, y) = v.split_once(',').expect("X,Y");
                at = Some((x.parse::<f32>().unwrap(), y.parse::<f32>().unwrap()));
            }
            _ => video = Some(PathBuf::from(arg)),
        }
    }
    let video = video.expect("a video");
    let models = PathBuf::from(env!("DANCENOW_DEPS")).join("models/mediapipe");
    let mut tracker = Tracker::new(BlazePose::load(&models, Device::Cpu).unwrap());
    if let Some((x, y)) = at {
        tracker = tracker.start_near(x, y);
    }
    let detector = BlazePose::load(&models, Device::Cpu).unwrap();
    let source = dancenow_media::FrameSource::open(&video, None).unwrap();
    let (mut last, mut worst, mut lost) = (None::<(f32, f32)>, (0.0f32, 0), 0);
    for (index, image) in source.enumerate().take(to.saturating_add(1)).skip(from) {
        let image = image.unwrap();
        let diagonal = (image.width() as f32).hypot(image.height() as f32);
        let result = tracker.next(&image).unwrap();
        let centre = result.person.as_ref().and_then(|p| {
            let seen: Vec<_> = p
                .body
                .iter()
                .filter(|k| k.is_confident(MIN_CONFIDENCE))
                .collect();
            (!seen.is_empty()).then(|| {
                let n = seen.len() as f32;
                (
                    seen.iter().map(|k| k.x).sum::<f32>() / n,
                    seen.iter().map(|k| k.y).sum::<f32>() / n,
                )
            })
        });
        let mut line = format!("{index:4}");
        match centre {
            Some((x, y)) => line += &format!(" {x:7.1} {y:7.1}"),
            None => {
                line += "       -       -";
                lost += 1;
            }
        }
        line += &match result.detected_people {
            Some(n) => format!(" det {n}"),
            None => " det -".into(),
        };
        line += &match &result.landmarks {
            Some(l) => format!(
                " roi {:4.0},{:4.0} s{:4.0}",
                l.next_roi.cx, l.next_roi.cy, l.next_roi.size
            ),
            None => " roi    -,   - s   -".into(),
        };
        if let (Some(c), Some(l)) = (centre, last) {
            let jump = (c.0 - l.0).hypot(c.1 - l.1) / diagonal;
            line += &format!(" jump {jump:.3}");
            if jump > worst.0 {
                worst = (jump, index);
            }
        }
        if centre.is_some() {
            last = centre;
        }
        if all {
            let frame = Frame::new(&image, Device::Cpu);
            for d in detector.detect(&frame, 0.5).unwrap() {
                line += &format!(
                    " | {:.0},{:.0} s{:.0} p{:.2}",
                    d.roi.cx, d.roi.cy, d.roi.size, d.score
                );
            }
        }
        println!("{line}");
    }
    println!(
        "worst jump {:.3} of the diagonal at frame {}; {lost} frames without the person",
        worst.0, worst.1
    );
}
