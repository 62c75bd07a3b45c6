//! The `dancenow` binary as a user runs it, each test in its own temporary folder.

mod common;

use std::path::PathBuf;

use common::{fail, s, succeed};
use dancenow_media::{probe, FrameSource, VideoWriter};
use dancenow_pose::normalize::VideoStats;
use dancenow_pose::openpose;
use dancenow_pose::{body, Frame, Keypoint, Person, PoseSequence};
use image::{Rgb, RgbImage};

struct TempDir(tempfile::TempDir);

impl TempDir {
    fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

/// A person `tall` pixels high with ankles centred at (x, ankle_y), arms out.
fn person(x: f32, ankle_y: f32, tall: f32) -> Person {
    let mut p = Person::default();
    for (i, dx, up) in [
        (body::NOSE, 0.0, 1.0),
        (body::NECK, 0.0, 0.87),
        (body::R_SHOULDER, -0.12, 0.85),
        (body::L_SHOULDER, 0.12, 0.85),
        (body::R_WRIST, -0.35, 0.85),
        (body::L_WRIST, 0.35, 0.85),
        (body::MID_HIP, 0.0, 0.5),
        (body::R_ANKLE, -0.06, 0.0),
        (body::L_ANKLE, 0.06, 0.0),
    ] {
        p.body[i] = Keypoint::new(x + dx * tall, ankle_y - up * tall, 0.9);
    }
    p
}

/// Someone stepping towards the camera over `frames` frames, in a `width` x `height` video.
fn walking(frames: usize, width: u32, height: u32, ground: f32, tall: f32) -> PoseSequence {
    let frames = (0..frames)
        .map(|t| {
            let f = t as f32 / (frames - 1).max(1) as f32;
            Frame {
                people: vec![person(
                    width as f32 / 2.0,
                    ground + 20.0 * f,
                    tall * (1.0 + 0.2 * f),
                )],
            }
        })
        .collect();
    PoseSequence {
        fps: 10.0,
        width,
        height,
        frames,
    }
}

#[test]
fn probe_describes_a_video_in_text_and_json() {
    let dir = TempDir::new();
    let video = dir.path("clip.mp4");
    let mut writer = VideoWriter::create(&video, 64, 48, 12.0).unwrap();
    for t in 0..5 {
        writer
            .write(&RgbImage::from_pixel(64, 48, Rgb([t * 40, 0, 0])))
            .unwrap();
    }
    writer.finish().unwrap();
    let text = succeed(&["probe", s(&video)]);
    assert!(text.contains("64x48") && text.contains("h264"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&succeed(&["probe", "--json", s(&video)])).unwrap();
    assert_eq!(
        (json["width"].as_u64(), json["height"].as_u64()),
        (Some(64), Some(48))
    );
    assert_eq!(json["frames"], 5);
    assert_eq!(json["fps"], 12.0);
    assert_eq!(json["codec"], "h264");
}

#[test]
fn probe_of_a_file_that_is_not_a_video_fails_clearly() {
    let dir = TempDir::new();
    let bogus = dir.path("notes.mp4");
    std::fs::write(&bogus, "just text").unwrap();
    let stderr = fail(&["probe", s(&bogus)]);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        stderr.contains("notes.mp4: not a video ffmpeg can read"),
        "{stderr}"
    );
    let stderr = fail(&["probe", s(&dir.path("missing.mp4"))]);
    assert!(
        stderr.contains("input") && stderr.contains("does not exist"),
        "{stderr}"
    );
}

#[test]
fn render_writes_one_stick_figure_frame_per_pose_frame() {
    let dir = TempDir::new();
    let poses = dir.path("walk.poses");
    openpose::write_sequence(&poses, "walk", &walking(8, 320, 240, 200.0, 150.0)).unwrap();

    let video = dir.path("walk.mp4");
    succeed(&["render", s(&poses), "-o", s(&video)]);
    let info = probe(&video).unwrap();
    assert_eq!(
        (info.width, info.height, info.frame_count, info.fps),
        (320, 240, Some(8), 10.0)
    );

    let images = dir.path("walk_frames");
    succeed(&["render", s(&poses), "-o", s(&images), "--height", "120"]);
    let frames: Vec<RgbImage> = FrameSource::open(&images, None)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(frames.len(), 8);
    assert_eq!(frames[0].dimensions(), (160, 120));
    // The neck joint (scaled by one half) is drawn in its colour; the corner stays white.
    let neck = frames[0]
        .get_pixel(80, ((200.0 - 0.87 * 150.0) / 2.0) as u32)
        .0;
    assert_ne!(neck, [255, 255, 255]);
    assert_eq!(frames[0].get_pixel(2, 2).0, [255, 255, 255]);
}

#[test]
fn render_over_a_video_keeps_its_frames_around_the_figure() {
    let dir = TempDir::new();
    let background = dir.path("background");
    std::fs::create_dir(&background).unwrap();
    for t in 0..4 {
        RgbImage::from_pixel(320, 240, Rgb([20, 40, 60]))
            .save(background.join(format!("{t}.png")))
            .unwrap();
    }
    // Poses from OpenPose itself: no sequence.json, so the size comes from the video.
    let poses = dir.path("poses");
    std::fs::create_dir(&poses).unwrap();
    for (t, frame) in walking(4, 320, 240, 200.0, 150.0).frames.iter().enumerate() {
        openpose::write_frame(&poses.join(openpose::frame_file_name("x", t)), frame).unwrap();
    }
    let out = dir.path("over");
    succeed(&["render", s(&poses), "-o", s(&out), "--over", s(&background)]);
    let frames: Vec<RgbImage> = FrameSource::open(&out, None)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(frames.len(), 4);
    assert_eq!(frames[3].get_pixel(2, 2).0, [20, 40, 60]);
    assert_ne!(frames[3].get_pixel(160, 130).0, [20, 40, 60]); // the mid-hip joint

    let stderr = fail(&["render", s(&poses), "-o", s(&dir.path("x.mp4"))]);
    assert!(
        stderr.contains("has no sequence.json") && stderr.contains("--size"),
        "{stderr}"
    );
}

#[test]
fn normalize_brings_a_larger_higher_source_to_the_targets_size_and_ground() {
    let dir = TempDir::new();
    let target = walking(20, 640, 480, 400.0, 200.0);
    let source = walking(20, 640, 480, 250.0, 100.0);
    let (target_dir, source_dir, out) = (
        dir.path("target"),
        dir.path("source"),
        dir.path("normalized"),
    );
    openpose::write_sequence(&target_dir, "target", &target).unwrap();
    openpose::write_sequence(&source_dir, "source", &source).unwrap();

    succeed(&[
        "normalize",
        s(&source_dir),
        "--target",
        s(&target_dir),
        "-o",
        s(&out),
        "--smooth",
        "median:3",
    ]);
    let normalized = openpose::read_sequence(&out, None).unwrap();
    assert_eq!(normalized.frames.len(), 20);
    let stats = |seq: &PoseSequence| {
        VideoStats::measure(&seq.first_person_track(), seq.width, seq.height).unwrap()
    };
    let (got, want) = (stats(&normalized), stats(&target));
    assert!(
        (got.close_y - want.close_y).abs() < 0.5,
        "{} vs {}",
        got.close_y,
        want.close_y
    );
    assert!((got.close_height - want.close_height).abs() < 0.5);
    assert!((got.far_height - want.far_height).abs() < 0.5);

    let parameters: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("normalization.json")).unwrap())
            .unwrap();
    // Twice the size, give or take the median's averaging of the two end frames.
    assert!((parameters["normalization"]["scale_close"].as_f64().unwrap() - 2.0).abs() < 0.02);
    assert_eq!(parameters["transforms"].as_array().unwrap().len(), 20);
}

#[test]
fn normalize_without_any_ankle_says_so() {
    let dir = TempDir::new();
    let mut source = walking(5, 640, 480, 250.0, 100.0);
    for frame in &mut source.frames {
        frame.people[0].body[body::L_ANKLE] = Keypoint::MISSING;
        frame.people[0].body[body::R_ANKLE] = Keypoint::MISSING;
    }
    openpose::write_sequence(&dir.path("source"), "s", &source).unwrap();
    openpose::write_sequence(
        &dir.path("target"),
        "t",
        &walking(5, 640, 480, 400.0, 200.0),
    )
    .unwrap();
    let stderr = fail(&[
        "normalize",
        s(&dir.path("source")),
        "--target",
        s(&dir.path("target")),
        "-o",
        s(&dir.path("out")),
    ]);
    assert!(stderr.contains("measuring the source"), "{stderr}");
    assert!(stderr.contains("shows an ankle"), "{stderr}");
    assert!(!dir.path("out").exists(), "nothing written on failure");
}

#[test]
fn device_check_runs_on_the_cpu() {
    let out = succeed(&["device", "--device", "cpu"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("device:") && l.contains("Cpu")),
        "{out}"
    );
    assert!(out.contains("matmul correct"), "{out}");
    let stderr = fail(&["device", "--device", "tpu"]);
    assert!(stderr.contains("unknown device"), "{stderr}");
}

fn deps() -> PathBuf {
    PathBuf::from(env!("DANCENOW_DEPS"))
}

#[test]
fn pose_writes_openpose_json_and_a_preview_for_a_real_photo() {
    let dir = TempDir::new();
    let photo = deps().join("samples/stills/messi5.jpg");
    let (out, preview) = (dir.path("messi.poses"), dir.path("preview.mp4"));
    let stdout = succeed(&[
        "pose",
        s(&photo),
        "-o",
        s(&out),
        "--preview",
        s(&preview),
        "--device",
        "cpu",
    ]);
    assert!(stdout.contains("frames with a person: 1"), "{stdout}");
    let poses = openpose::read_sequence(&out, None).unwrap();
    assert_eq!(
        (poses.width, poses.height, poses.frames.len()),
        (548, 342, 1)
    );
    let person = &poses.frames[0].people[0];
    // The kicking player's nose, hips and ankles are all found, inside the photo.
    for i in [
        body::NOSE,
        body::NECK,
        body::MID_HIP,
        body::L_ANKLE,
        body::R_ANKLE,
    ] {
        let p = person.body[i];
        assert!(
            p.confidence > 0.5 && (0.0..548.0).contains(&p.x) && (0.0..342.0).contains(&p.y),
            "point {i}: {p:?}"
        );
    }
    assert!(person.body[body::NOSE].y < person.body[body::MID_HIP].y);
    assert_eq!(probe(&preview).unwrap().frame_count, Some(1));
}

#[test]
fn pose_of_an_image_without_a_person_writes_an_empty_people_list() {
    let dir = TempDir::new();
    let blank = dir.path("blank.png");
    RgbImage::from_pixel(320, 240, Rgb([128, 128, 128]))
        .save(&blank)
        .unwrap();
    let out = dir.path("blank.poses");
    let stdout = succeed(&["pose", s(&blank), "-o", s(&out), "--device", "cpu"]);
    assert!(stdout.contains("frames with nobody"), "{stdout}");
    let poses = openpose::read_sequence(&out, None).unwrap();
    assert!(poses.frames[0].people.is_empty());
}

#[test]
fn pose_refuses_bad_inputs_clearly() {
    let dir = TempDir::new();
    let empty = dir.path("empty");
    std::fs::create_dir(&empty).unwrap();
    let stderr = fail(&["pose", s(&empty), "-o", s(&dir.path("out"))]);
    assert!(stderr.contains("no .png or .jpg images"), "{stderr}");
    let broken = dir.path("broken.png");
    std::fs::write(&broken, b"\x89PNG not really").unwrap();
    let stderr = fail(&["pose", s(&broken), "-o", s(&dir.path("out"))]);
    assert!(stderr.contains("broken.png"), "{stderr}");
}

#[test]
fn pose_follows_the_person_the_user_points_at() {
    let dir = TempDir::new();
    // Two footballers: the photo, and below it the photo mirrored.
    let messi = image::open(deps().join("samples/stills/messi5.jpg"))
        .unwrap()
        .to_rgb8();
    let mut both = RgbImage::new(548, 2 * 342);
    image::imageops::replace(&mut both, &messi, 0, 0);
    image::imageops::replace(&mut both, &image::imageops::flip_horizontal(&messi), 0, 342);
    let photo = dir.path("two.png");
    both.save(&photo).unwrap();
    let nose_y = |extra: &[&str]| {
        let out = dir.path("two.poses");
        let stdout = succeed(
            &[
                &["pose", s(&photo), "-o", s(&out), "--device", "cpu"],
                extra,
            ]
            .concat(),
        );
        assert!(stdout.contains("frames with several people: 1"), "{stdout}");
        openpose::read_sequence(&out, None).unwrap().frames[0].people[0].body[body::NOSE].y
    };
    assert!(nose_y(&["--person-at", "270,170"]) < 342.0);
    assert!(nose_y(&["--person-at", "270,520"]) > 342.0);
    let stderr = fail(&[
        "pose",
        s(&photo),
        "-o",
        s(&dir.path("x")),
        "--person-at",
        "middle",
    ]);
    assert!(stderr.contains("expected X,Y"), "{stderr}");
}

/// Numbers a user types are checked before any work, with the valid range in the message.
#[test]
fn absurd_numbers_are_refused_at_once_with_exit_status_1() {
    let dir = TempDir::new();
    let data = dir.path("none.data");
    let model = dir.path("m");
    for (flag, value, says) in [
        ("--minutes", "inf", "above 0"),
        ("--minutes", "1e300", "above 0"),
        ("--minutes=-1", "", "above 0"),
        ("--threads", "100000", "1024"),
        ("--steps", "0", "from 1"),
    ] {
        let started = std::time::Instant::now();
        let mut args = vec!["train", s(&data), "-o", s(&model), flag];
        if !value.is_empty() {
            args.push(value);
        }
        let out = common::dancenow(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{flag} {value}: {stderr}");
        assert!(stderr.contains(says), "{flag} {value}: {stderr}");
        assert!(
            started.elapsed().as_secs_f64() < 5.0,
            "{flag} {value} took long"
        );
        assert!(!model.exists(), "{flag} {value} made a folder");
    }
}

/// A video of `walking(frames, 320, 240, ..)`'s size, plain grey frames.
fn grey_video(path: &std::path::Path, frames: u8) {
    let mut writer = VideoWriter::create(path, 320, 240, 10.0).unwrap();
    for t in 0..frames {
        writer
            .write(&RgbImage::from_pixel(320, 240, Rgb([100 + t, 100, 100])))
            .unwrap();
    }
    writer.finish().unwrap();
}

/// `prepare -o` into a folder of the user's refuses at once and deletes nothing (it used
/// to empty `images/`, `figures/` and `poses/`); into its own dataset it rewrites it.
#[test]
fn prepare_deletes_only_what_dancenow_made() {
    let dir = TempDir::new();
    let poses = dir.path("walk.poses");
    openpose::write_sequence(&poses, "walk", &walking(8, 320, 240, 200.0, 150.0)).unwrap();
    let video = dir.path("walk.mp4");
    grey_video(&video, 8);

    let theirs = dir.path("photos");
    std::fs::create_dir_all(theirs.join("images")).unwrap();
    std::fs::write(theirs.join("images/holiday.jpg"), b"a photo").unwrap();
    let prepare = |out: &std::path::Path| {
        common::dancenow(&common::prepare_64(&video, out, &["--poses", s(&poses)]))
    };
    let out = prepare(&theirs);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("photos") && stderr.contains("not a dataset"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(theirs.join("images/holiday.jpg")).unwrap(),
        b"a photo"
    );

    let data = dir.path("walk.data");
    for _ in 0..2 {
        let out = prepare(&data);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(data.join("dataset.json").is_file());
    assert!(!dir.path("walk.data.partial").exists() && !dir.path("walk.data.old").exists());

    // A run that fails part way (the video ends before its poses do) leaves the old
    // dataset as it was.
    let dataset_json = std::fs::read(data.join("dataset.json")).unwrap();
    let images = std::fs::read_dir(data.join("images")).unwrap().count();
    openpose::write_sequence(&poses, "walk", &walking(12, 320, 240, 200.0, 150.0)).unwrap();
    let out = prepare(&data);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("ended after 8 frames"), "{stderr}");
    assert_eq!(
        std::fs::read(data.join("dataset.json")).unwrap(),
        dataset_json
    );
    assert_eq!(
        std::fs::read_dir(data.join("images")).unwrap().count(),
        images
    );
    assert!(!dir.path("walk.data.partial").exists());
}

/// `prepare --poses` with the poses of another video: of another size (sequence.json), or
/// without sequence.json but with points far outside this video's frame (issue 18: it
/// cropped at negative coordinates, or framed a 2-gigapixel crop, and exited 0).
#[test]
fn prepare_refuses_the_poses_of_another_video() {
    let dir = TempDir::new();
    let video = dir.path("walk.mp4");
    grey_video(&video, 8);
    let data = dir.path("walk.data");
    let prepare = |poses: &std::path::Path| {
        common::dancenow(&[
            "prepare",
            s(&video),
            "--poses",
            s(poses),
            "--size",
            "64x64",
            "-o",
            s(&data),
        ])
    };

    let other_size = dir.path("hd.poses");
    openpose::write_sequence(&other_size, "hd", &walking(8, 640, 480, 400.0, 300.0)).unwrap();
    let out = prepare(&other_size);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("640x480") && stderr.contains("320x240"),
        "{stderr}"
    );

    // OpenPose's own output has no sequence.json: the video's size stands in.
    let scaled = dir.path("scaled.poses");
    openpose::write_sequence(&scaled, "hd", &walking(8, 1280, 960, 900.0, 700.0)).unwrap();
    std::fs::remove_file(scaled.join("sequence.json")).unwrap();
    let out = prepare(&scaled);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("far outside the 320x240 frame") && stderr.contains("_keypoints.json"),
        "{stderr}"
    );
    assert!(!data.exists());
}

/// A dataset prepared from synthetic poses over a grey video, in a second.
fn quick_dataset(dir: &TempDir) -> PathBuf {
    let poses = dir.path("walk.poses");
    openpose::write_sequence(&poses, "walk", &walking(8, 320, 240, 200.0, 150.0)).unwrap();
    let video = dir.path("walk.mp4");
    grey_video(&video, 8);
    let data = dir.path("walk.data");
    succeed(&common::prepare_64(&video, &data, &["--poses", s(&poses)]));
    data
}

/// A first `train` that fails leaves no folder that makes the next fresh run refuse it
/// as "already holds a model"; a stage the preset lacks fails before any folder is made.
#[test]
fn a_failed_first_training_leaves_nothing_in_the_way() {
    let dir = TempDir::new();
    let data = quick_dataset(&dir);
    let model = dir.path("m");
    let train =
        |extra: &[&str]| common::dancenow(&common::tiny_training(&data, &model, "2", extra));
    let out = train(&["--stage", "local"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no local stage"), "{stderr}");
    assert!(!model.exists());

    // The frames vanish after prepare: training fails at its first step.
    let images = data.join("images");
    let kept = dir.path("images.kept");
    std::fs::rename(&images, &kept).unwrap();
    for _ in 0..2 {
        let out = train(&[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("images") && !stderr.contains("already holds a model"),
            "{stderr}"
        );
        assert!(!model.exists(), "the failed run left {}", model.display());
    }
    std::fs::rename(&kept, &images).unwrap();
    let out = train(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
