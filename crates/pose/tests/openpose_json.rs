//! OpenPose JSON: the files OpenPose writes, ours, and broken ones.

use std::path::Path;

use dancenow_pose::openpose::{self, SequenceInfo};
use dancenow_pose::{body, Frame, Keypoint, Person, PoseError, PoseSequence};

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn reads_a_body_25_file_with_face_and_hands() {
    let frame = openpose::read_frame(&data("body25_000000000000_keypoints.json")).unwrap();
    assert_eq!(frame.people.len(), 1);
    let person = &frame.people[0];
    assert_eq!(person.body[body::NOSE], Keypoint::new(960.0, 300.0, 0.93));
    assert_eq!(
        person.body[body::L_ANKLE],
        Keypoint::new(1015.0, 920.0, 0.84)
    );
    assert!(!person.body[body::R_HEEL].is_present());
    assert_eq!(person.face[69], Keypoint::new(984.0, 306.0, 0.6));
    assert_eq!(person.left_hand[20], Keypoint::new(1200.0, 600.0, 0.5));
    assert!(person.right_hand.iter().all(|p| !p.is_present()));
}

#[test]
fn reads_a_coco_18_file_into_body_25_with_a_derived_mid_hip() {
    let frame = openpose::read_frame(&data("coco18_keypoints.json")).unwrap();
    let person = &frame.people[0];
    assert_eq!(person.body[body::NOSE], Keypoint::new(320.0, 100.0, 0.9));
    // COCO's 8th point is the right hip, BODY_25's 9th.
    assert_eq!(person.body[body::R_HIP], Keypoint::new(300.0, 250.0, 0.8));
    assert_eq!(person.body[body::L_ANKLE], Keypoint::new(344.0, 410.0, 0.7));
    assert_eq!(person.body[body::R_EAR], Keypoint::new(302.0, 96.0, 0.6));
    assert!(!person.body[body::L_EAR].is_present());
    assert_eq!(person.body[body::MID_HIP], Keypoint::new(320.0, 250.0, 0.8));
    // COCO-18 has no feet.
    assert!(!person.body[body::L_BIG_TOE].is_present());
}

fn sample_person(shift: f32) -> Person {
    let mut p = Person::default();
    for (i, point) in p.body.iter_mut().enumerate() {
        *point = Keypoint::new(
            100.5 + i as f32 * 3.25 + shift,
            200.125 - i as f32,
            0.5 + i as f32 / 100.0,
        );
    }
    p.body[body::R_HEEL] = Keypoint::MISSING;
    p.face[7] = Keypoint::new(1.0 / 3.0, 2.0 / 3.0, 0.999);
    p.right_hand[3] = Keypoint::new(1e-3, 2e3, 0.25);
    p
}

#[test]
fn sequence_round_trip_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let sequence = PoseSequence {
        fps: 29.97,
        width: 1920,
        height: 1080,
        frames: vec![
            Frame {
                people: vec![sample_person(0.0)],
            },
            Frame { people: vec![] },
            Frame {
                people: vec![sample_person(5.0), sample_person(-7.5)],
            },
        ],
    };
    openpose::write_sequence(dir.path(), "clip", &sequence).unwrap();
    assert!(dir
        .path()
        .join("clip_000000000002_keypoints.json")
        .is_file());
    let back = openpose::read_sequence(dir.path(), None).unwrap();
    assert_eq!(back, sequence);
}

#[test]
fn folders_from_openpose_itself_need_the_video_info() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        data("body25_000000000000_keypoints.json"),
        dir.path().join("v_000000000000_keypoints.json"),
    )
    .unwrap();
    std::fs::copy(
        data("coco18_keypoints.json"),
        dir.path().join("v_000000000001_keypoints.json"),
    )
    .unwrap();
    let err = openpose::read_sequence(dir.path(), None).unwrap_err();
    assert!(matches!(err, PoseError::NoSequenceInfo { .. }), "{err}");
    let info = SequenceInfo {
        fps: 25.0,
        width: 1920,
        height: 1080,
    };
    let sequence = openpose::read_sequence(dir.path(), Some(info)).unwrap();
    assert_eq!(sequence.frames.len(), 2);
    assert_eq!(sequence.frames[1].people[0].body[body::NOSE].x, 320.0);
}

#[test]
fn frames_are_ordered_by_number_not_by_name() {
    let dir = tempfile::tempdir().unwrap();
    for (name, x) in [
        ("a_10_keypoints.json", 10.0),
        ("a_9_keypoints.json", 9.0),
        ("a_100_keypoints.json", 100.0),
    ] {
        let mut p = Person::default();
        p.body[0] = Keypoint::new(x, 0.0, 1.0);
        openpose::write_frame(&dir.path().join(name), &Frame { people: vec![p] }).unwrap();
    }
    let files = openpose::frame_files(dir.path()).unwrap();
    let xs: Vec<f32> = files
        .iter()
        .map(|f| openpose::read_frame(f).unwrap().people[0].body[0].x)
        .collect();
    assert_eq!(xs, [9.0, 10.0, 100.0]);
}

fn parse_error(text: &str) -> String {
    openpose::parse_frame(text, Path::new("bad_000000000003_keypoints.json"))
        .unwrap_err()
        .to_string()
}

#[test]
fn malformed_files_name_the_file_and_the_field() {
    let err = parse_error(r#"{"version":1.3,"people":[{"pose_keypoints_2d":[1,2,3,4]}]}"#);
    assert!(
        err.starts_with("bad_000000000003_keypoints.json: people[0].pose_keypoints_2d"),
        "{err}"
    );
    assert!(err.contains("has 4 values"), "{err}");

    let hand = vec!["1"; 63].join(",");
    let err = parse_error(&format!(
        r#"{{"people":[{{"hand_left_keypoints_2d":[{hand}]}},{{"face_keypoints_2d":[1,"x",3]}}]}}"#
    ));
    assert!(
        err.contains("people[1].face_keypoints_2d[1]: expected a finite number"),
        "{err}"
    );

    // Too large for f32: it would become infinity.
    let err = parse_error(r#"{"people":[{"pose_keypoints_2d":[1e300]}]}"#);
    assert!(
        err.contains("people[0].pose_keypoints_2d[0]: expected a finite number"),
        "{err}"
    );

    let err = parse_error(r#"{"version":1.3}"#);
    assert!(err.contains("people: missing"), "{err}");

    let err = parse_error(r#"{"people":[{"pose_keypoints_2d":[1,2"#);
    assert!(err.contains("not valid JSON"), "{err}");
}

#[test]
fn an_empty_folder_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = openpose::read_sequence(dir.path(), None).unwrap_err();
    assert!(matches!(err, PoseError::NoFrames { .. }));
    assert!(err.to_string().contains(&dir.path().display().to_string()));
}

#[test]
fn non_finite_keypoints_are_not_written_as_null() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Person::default();
    p.body[3] = Keypoint::new(f32::NAN, 1.0, 0.5);
    let path = dir.path().join("nan_keypoints.json");
    let err = openpose::write_frame(&path, &Frame { people: vec![p] })
        .unwrap_err()
        .to_string();
    assert!(err.contains("non-finite keypoint"), "{err}");
    assert!(!path.exists());
}

/// `frames` frames of the sample person standing still, 1920x1080 at 30 fps.
fn standing(frames: usize) -> PoseSequence {
    PoseSequence {
        fps: 30.0,
        width: 1920,
        height: 1080,
        frames: vec![
            Frame {
                people: vec![sample_person(0.0)]
            };
            frames
        ],
    }
}

#[test]
fn rewriting_a_folder_leaves_no_frames_of_the_longer_earlier_run() {
    let dir = tempfile::tempdir().unwrap();

    openpose::write_sequence(dir.path(), "long", &standing(5)).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    openpose::write_sequence(dir.path(), "short", &standing(2)).unwrap();
    assert_eq!(
        openpose::read_sequence(dir.path(), None)
            .unwrap()
            .frames
            .len(),
        2
    );
    assert!(
        dir.path().join("notes.txt").exists(),
        "other files are left alone"
    );
}

/// A run that stops part-way (an error, Ctrl-C: the writer is dropped unfinished) leaves
/// the earlier poses exactly as they were, and nothing beside them (issue 18).
#[test]
fn an_unfinished_rewrite_leaves_the_earlier_poses_whole() {
    let dir = tempfile::tempdir().unwrap();
    let poses = dir.path().join("poses");
    let earlier = standing(3);
    openpose::write_sequence(&poses, "long", &earlier).unwrap();
    let info = SequenceInfo {
        fps: 25.0,
        width: 640,
        height: 480,
    };
    let mut writer = openpose::SequenceWriter::create(&poses, "new", info).unwrap();
    writer.write(&Frame::default()).unwrap();
    drop(writer);
    assert_eq!(openpose::read_sequence(&poses, None).unwrap(), earlier);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// Poses go only into a new or empty folder, or one dancenow wrote (its `sequence.json`):
/// a folder of OpenPose's own output would otherwise lose its frame files.
#[test]
fn a_folder_dancenow_did_not_write_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let theirs = dir.path().join("openpose_output");
    std::fs::create_dir(&theirs).unwrap();
    let original = theirs.join("v_000000000000_keypoints.json");
    std::fs::copy(data("body25_000000000000_keypoints.json"), &original).unwrap();
    let info = SequenceInfo {
        fps: 30.0,
        width: 100,
        height: 100,
    };
    let err = openpose::SequenceWriter::create(&theirs, "mine", info.clone())
        .err()
        .unwrap();
    assert!(matches!(err, PoseError::ForeignFolder { .. }), "{err}");
    assert!(err.to_string().contains("openpose_output"), "{err}");
    assert_eq!(std::fs::read_dir(&theirs).unwrap().count(), 1);
    assert!(original.is_file());

    // New, empty, and our own folders are fine.
    for name in ["new", "empty"] {
        let path = dir.path().join(name);
        if name == "empty" {
            std::fs::create_dir(&path).unwrap();
        }
        openpose::SequenceWriter::create(&path, "mine", info.clone()).unwrap();
        openpose::SequenceWriter::create(&path, "mine", info.clone()).unwrap();
    }
}

/// Inputs that used to pass as something else (issue 18): a person that is no object of
/// keypoints, a frame rate no camera has, points from a video of another size.
#[test]
fn absurd_pose_files_are_errors_naming_file_and_field() {
    let err = parse_error(r#"{"people":["hello"]}"#);
    assert!(
        err.starts_with("bad_000000000003_keypoints.json: people[0]: expected an object"),
        "{err}"
    );
    let err = parse_error(r#"{"people":[{"pose_keypoints_2d":[]}]}"#);
    assert!(err.contains("people[0]: holds no keypoints"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let mut sequence = PoseSequence {
        fps: 30.0,
        width: 1920,
        height: 1080,
        frames: vec![Frame {
            people: vec![sample_person(0.0)],
        }],
    };
    openpose::write_sequence(dir.path(), "clip", &sequence).unwrap();
    openpose::read_sequence(dir.path(), None).unwrap();
    // sequence.json saying 1e9 fps (a video of 1,000,000 fps was written from it).
    let info = dir.path().join("sequence.json");
    let text = std::fs::read_to_string(&info).unwrap();
    std::fs::write(&info, text.replace("30.0", "1e9")).unwrap();
    let err = openpose::read_sequence(dir.path(), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sequence.json") && err.contains("at most 1000"),
        "{err}"
    );

    // The same poses stated to be from a 192x108 video: 10 times smaller than they are.
    sequence.width = 192;
    sequence.height = 108;
    openpose::write_sequence(dir.path(), "clip", &sequence).unwrap();
    let err = openpose::read_sequence(dir.path(), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("clip_000000000000_keypoints.json: people[0]")
            && err.contains("far outside the 192x108 frame"),
        "{err}"
    );
}
