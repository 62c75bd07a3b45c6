//! The BlazePose pipeline on real photos, against Google's MediaPipe 0.10.14 on the same
//! images (fixtures and the script that made them in tests/fixtures/), and on a real video.

use std::path::{Path, PathBuf};

use dancenow_detect::{BlazePose, Parts, Tracker};
use dancenow_nn::tch::Device;
use dancenow_pose::{body, Keypoint};
use serde_json::Value;

/// Distances, in pixels, between our landmarks and MediaPipe's. Landmarks MediaPipe is
/// sure of (visibility >= 0.9) must agree closely; less certain ones (0.5 to 0.9, e.g. an
/// elbow at the frame's edge) are sensitive to sub-pixel differences in resampling and
/// JPEG decoding, and get a looser bound. Seen: mean 1.1 / 2.0 px, worst confident
/// 1.8 / 1.4 px, worst uncertain 8.3 / 16.4 px (messi5 / astronaut).
const MAX_CONFIDENT_ERROR: f32 = 2.5;
const MAX_UNCERTAIN_ERROR: f32 = 20.0;
const MAX_MEAN_ERROR: f32 = 2.5;

fn deps() -> PathBuf {
    PathBuf::from(env!("DANCENOW_DEPS"))
}

fn tracker() -> Tracker {
    Tracker::new(BlazePose::load(&deps().join("models/mediapipe"), Device::Cpu).unwrap())
}

fn compare(image_name: &str, fixture: &str) {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(fixture),
        )
        .unwrap(),
    )
    .unwrap();
    let image = image::open(deps().join("samples/stills").join(image_name))
        .unwrap()
        .to_rgb8();
    let result = tracker().next(&image).unwrap();
    let landmarks = result.landmarks.expect("a person is found");
    assert_eq!(result.detected_people, Some(1));
    let (mut confident, mut uncertain, mut total, mut count) = (0.0f32, 0.0f32, 0.0f32, 0);
    for (i, (ours, theirs)) in landmarks
        .points
        .iter()
        .zip(expected["landmarks"].as_array().unwrap())
        .enumerate()
    {
        let (x, y, vis) = (
            theirs[0].as_f64().unwrap() as f32,
            theirs[1].as_f64().unwrap() as f32,
            theirs[2].as_f64().unwrap() as f32,
        );
        if vis < 0.5 {
            continue;
        }
        let d = ((ours.x - x).powi(2) + (ours.y - y).powi(2)).sqrt();
        eprintln!(
            "{image_name} landmark {i}: {d:.2} px (visibility {vis:.2} vs {:.2})",
            ours.visibility
        );
        if vis >= 0.9 {
            confident = confident.max(d);
        } else {
            uncertain = uncertain.max(d);
        }
        total += d;
        count += 1;
    }
    let mean = total / count as f32;
    eprintln!("{image_name}: mean {mean:.2} px, worst confident {confident:.2} px, worst uncertain {uncertain:.2} px");
    assert!(count >= 10, "{image_name}: only {count} visible landmarks");
    assert!(
        confident <= MAX_CONFIDENT_ERROR,
        "{image_name}: a confident landmark is {confident:.2} px off"
    );
    assert!(
        uncertain <= MAX_UNCERTAIN_ERROR,
        "{image_name}: an uncertain landmark is {uncertain:.2} px off"
    );
    assert!(
        mean <= MAX_MEAN_ERROR,
        "{image_name}: mean error {mean:.2} px"
    );
}

#[test]
fn full_body_photo_matches_mediapipe() {
    compare("messi5.jpg", "messi5_pose.json");
}

#[test]
fn waist_up_photo_matches_mediapipe() {
    compare("astronaut.png", "astronaut_pose.json");
}

#[test]
fn tracking_keeps_one_person_through_a_real_video_without_swaps() {
    let source =
        dancenow_media::FrameSource::open(&deps().join("samples/pose2sim/cam01.mp4"), None)
            .unwrap();
    let mut tracker = tracker();
    let mut previous: Option<(f32, f32)> = None;
    let mut frames = 0;
    for frame in source {
        let person = tracker
            .next(&frame.unwrap())
            .unwrap()
            .person
            .expect("the man is in every frame");
        let hip = person.body[body::MID_HIP];
        if let Some((x, y)) = previous {
            // At 60 fps the hips move a few pixels a frame; a swap to the woman in the
            // background would jump hundreds.
            let jump = ((hip.x - x).powi(2) + (hip.y - y).powi(2)).sqrt();
            assert!(jump < 60.0, "frame {frames}: hips jumped {jump:.0} px");
        }
        previous = Some((hip.x, hip.y));
        frames += 1;
    }
    assert_eq!(frames, 100);
}

fn full_person(image_name: &str) -> dancenow_pose::Person {
    let mut tracker =
        Tracker::load(&deps().join("models/mediapipe"), Device::Cpu, Parts::ALL).unwrap();
    let image = image::open(deps().join("samples/stills").join(image_name))
        .unwrap()
        .to_rgb8();
    tracker
        .next(&image)
        .unwrap()
        .person
        .expect("a person is found")
}

fn distance(a: Keypoint, b: Keypoint) -> f32 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

#[test]
fn both_hands_and_the_face_are_found_on_the_full_body_photo() {
    let person = full_person("messi5.jpg");
    for (hand, wrist) in [
        (&person.left_hand, body::L_WRIST),
        (&person.right_hand, body::R_WRIST),
    ] {
        assert!(
            hand.iter().all(|p| p.confidence > 0.5),
            "every point of the hand is found"
        );
        // The hand model's wrist agrees with the body model's, and the fingers spread out.
        let gap = distance(hand[0], person.body[wrist]);
        assert!(gap < 10.0, "hand wrist {gap:.1} px from the body's");
        let span = hand
            .iter()
            .map(|p| distance(*p, hand[0]))
            .fold(0.0, f32::max);
        assert!(
            (8.0..60.0).contains(&span),
            "fingertips reach {span:.1} px from the wrist"
        );
    }
    let nose = person.body[body::NOSE];
    assert!(
        person
            .face
            .iter()
            .all(|p| p.confidence > 0.5 && distance(*p, nose) < 35.0),
        "the face mesh sits on the face"
    );
    // Face point 30 is the nose tip in OpenPose's layout.
    assert!(distance(person.face[30], nose) < 6.0);
}

#[test]
fn the_face_is_found_on_the_portrait() {
    let person = full_person("astronaut.png");
    let nose = person.body[body::NOSE];
    assert!(person
        .face
        .iter()
        .all(|p| p.confidence > 0.5 && distance(*p, nose) < 90.0));
    assert!(distance(person.face[30], nose) < 10.0);
    // Jaw runs from the face's right (image left) to its left; the eyes sit above the mouth.
    assert!(person.face[0].x < person.face[16].x);
    assert!(person.face[36].y < person.face[48].y);
    // Pupils (68, 69) lie between their eye's corners.
    assert!(person.face[36].x < person.face[68].x && person.face[68].x < person.face[39].x);
}

#[test]
fn tracked_hands_stay_on_the_wrists_through_a_real_video() {
    let source =
        dancenow_media::FrameSource::open(&deps().join("samples/pose2sim/cam01.mp4"), None)
            .unwrap();
    let parts = Parts {
        hands: true,
        face: false,
    };
    let mut tracker = Tracker::load(&deps().join("models/mediapipe"), Device::Cpu, parts).unwrap();
    let (mut found, mut frames) = ([0, 0], 0);
    for frame in source {
        let person = tracker.next(&frame.unwrap()).unwrap().person.unwrap();
        let sides = [
            (&person.left_hand, body::L_WRIST),
            (&person.right_hand, body::R_WRIST),
        ];
        for (side, (hand, wrist)) in sides.into_iter().enumerate() {
            if hand[0].is_present() {
                found[side] += 1;
                let gap = distance(hand[0], person.body[wrist]);
                assert!(
                    gap < 40.0,
                    "frame {frames}: a tracked hand's wrist is {gap:.0} px from the body's"
                );
            }
        }
        frames += 1;
    }
    // The right hand swings in clear view; the left hangs by the side, half hidden by
    // the body for the first third of the clip. Seen: left 51, right 73 of 100.
    assert!(
        found[1] >= 65,
        "the right hand was found in {} of {frames} frames",
        found[1]
    );
    assert!(
        found[0] >= 40,
        "the left hand was found in {} of {frames} frames",
        found[0]
    );
}

#[test]
fn a_model_file_of_the_wrong_kind_is_refused_by_name() {
    // The hand model where the body landmark model should be: it loads as TFLite, but
    // takes 224x224 images, not 256x256.
    let dir = tempfile::tempdir().unwrap();
    let models = deps().join("models/mediapipe");
    std::fs::copy(
        models.join("pose_detection.tflite"),
        dir.path().join("pose_detection.tflite"),
    )
    .unwrap();
    std::fs::copy(
        models.join("hand_landmark_full.tflite"),
        dir.path().join("pose_landmark_full.tflite"),
    )
    .unwrap();
    let err = BlazePose::load(dir.path(), Device::Cpu)
        .err()
        .expect("the wrong model must be refused")
        .to_string();
    assert!(
        err.contains("pose_landmark_full") && err.contains("expected one [1, 256, 256, 3] image"),
        "{err}"
    );
    // A missing model names its path.
    std::fs::remove_file(dir.path().join("pose_detection.tflite")).unwrap();
    let err = BlazePose::load(dir.path(), Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("pose_detection.tflite"), "{err}");
}

/// `Tracker::run` reads frames on one thread and finds the hands of one frame on another
/// while this one moves on to the next frame's body and face; the results must be
/// exactly `next`'s.
#[test]
fn a_video_run_in_stages_gives_what_frame_by_frame_detection_gives() {
    // Two kernel threads make `run` use its stages, whatever this machine has.
    dancenow_nn::tflite::set_kernel_threads(2);
    let video = deps().join("samples/pose2sim/cam01.mp4");
    let frames = || {
        dancenow_media::FrameSource::open(&video, None)
            .unwrap()
            .take(30)
            .map(|f| f.map_err(|e| e.to_string()))
    };
    let load = || Tracker::load(&deps().join("models/mediapipe"), Device::Cpu, Parts::ALL).unwrap();
    let mut one_by_one = load();
    let expected: Vec<_> = frames()
        .map(|f| one_by_one.next(&f.unwrap()).unwrap())
        .collect();
    assert!(expected.iter().any(|r| r
        .person
        .as_ref()
        .is_some_and(|p| p.right_hand[0].is_present())));

    let run = |mut tracker: Tracker| {
        let mut got = Vec::new();
        tracker
            .run(frames(), |index, _, result| {
                assert_eq!(index, got.len(), "frames come in order");
                got.push(result.map_err(|e| e.to_string())?);
                Ok(())
            })
            .unwrap();
        got
    };
    assert_eq!(run(load()), expected);
    // Body only: frames read on one thread, the body found on this one.
    let mut body_only = tracker();
    let expected: Vec<_> = frames()
        .map(|f| body_only.next(&f.unwrap()).unwrap())
        .collect();
    assert_eq!(run(tracker()), expected);

    // A frame that cannot be read ends the run with its error, after the frames before
    // it; so does an error from the caller's function.
    let mut seen = 0;
    let broken = frames().enumerate().map(|(i, f)| {
        if i == 5 {
            Err("frame 5 is damaged".into())
        } else {
            f
        }
    });
    let error = load().run(broken, |_, _, _| {
        seen += 1;
        Ok(())
    });
    assert_eq!(error, Err("frame 5 is damaged".to_string()));
    assert_eq!(seen, 5);
    let error = load().run(frames(), |index, _, _| match index {
        3 => Err(format!("cannot write frame {index}")),
        _ => Ok(()),
    });
    assert_eq!(error, Err("cannot write frame 3".to_string()));
    // When both happen, the earlier frame's error is the one returned, as with `next`.
    let broken = frames().enumerate().map(|(i, f)| {
        if i == 4 {
            Err("frame 4 is damaged".into())
        } else {
            f
        }
    });
    let error = load().run(broken, |index, _, _| match index {
        3 => Err(format!("cannot write frame {index}")),
        _ => Ok(()),
    });
    assert_eq!(error, Err("cannot write frame 3".to_string()));
}
