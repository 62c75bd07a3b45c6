//! Global pose normalization on hand-built people whose answers are known.

use dancenow_pose::normalize::{Normalization, VideoStats};
use dancenow_pose::{body, Keypoint, Person};

const W: u32 = 1000;
const H: u32 = 1000;

/// A standing person, `tall` pixels from nose to ankles, ankles centred at (x, ankle_y).
fn person(x: f32, ankle_y: f32, tall: f32) -> Person {
    // (index, x offset, height above the ankles) as fractions of `tall`.
    let shape = [
        (body::NOSE, 0.0, 1.0),
        (body::NECK, 0.0, 0.87),
        (body::R_SHOULDER, -0.12, 0.85),
        (body::L_SHOULDER, 0.12, 0.85),
        (body::R_WRIST, -0.3, 0.6),
        (body::L_WRIST, 0.3, 0.6),
        (body::MID_HIP, 0.0, 0.5),
        (body::R_KNEE, -0.06, 0.25),
        (body::L_KNEE, 0.06, 0.25),
        (body::R_ANKLE, -0.06, 0.0),
        (body::L_ANKLE, 0.06, 0.0),
    ];
    let mut p = Person::default();
    for (i, dx, up) in shape {
        p.body[i] = Keypoint::new(x + dx * tall, ankle_y - up * tall, 0.9);
    }
    p.left_hand[0] = Keypoint::new(x + 0.3 * tall, ankle_y - 0.6 * tall, 0.7);
    p.face[30] = Keypoint::new(x, ankle_y - 0.98 * tall, 0.8);
    p
}

/// Someone walking towards the camera: lower in the frame and larger as they come.
fn walk_towards_camera(frames: usize) -> Vec<Option<Person>> {
    (0..frames)
        .map(|t| {
            let f = t as f32 / (frames - 1) as f32;
            Some(person(
                400.0 + 100.0 * f,
                500.0 + 200.0 * f,
                200.0 + 100.0 * f,
            ))
        })
        .collect()
}

/// Applies `f` to every present point of every person.
fn moved(
    track: &[Option<Person>],
    f: impl Fn(f32, f32) -> (f32, f32) + Copy,
) -> Vec<Option<Person>> {
    track
        .iter()
        .map(|p| {
            p.clone().map(|mut p| {
                p.map_positions(f);
                p
            })
        })
        .collect()
}

fn assert_tracks_close(got: &[Option<Person>], want: &[Option<Person>], tolerance: f32) {
    assert_eq!(got.len(), want.len());
    for (t, (g, w)) in got.iter().zip(want).enumerate() {
        let (g, w) = (g.as_ref().unwrap(), w.as_ref().unwrap());
        for (k, (a, b)) in g.points().zip(w.points()).enumerate() {
            assert_eq!(a.is_present(), b.is_present(), "frame {t} point {k}");
            assert!(
                (a.x - b.x).abs() <= tolerance && (a.y - b.y).abs() <= tolerance,
                "frame {t} point {k}: got ({}, {}), want ({}, {})",
                a.x,
                a.y,
                b.x,
                b.y
            );
            assert_eq!(a.confidence, b.confidence);
        }
    }
}

fn normalize(source: &[Option<Person>], target: &[Option<Person>]) -> Vec<Option<Person>> {
    let norm = Normalization::new(
        VideoStats::measure(source, W, H).unwrap(),
        VideoStats::measure(target, W, H).unwrap(),
    );
    norm.apply(source).track
}

#[test]
fn statistics_find_the_close_and_far_lines_and_heights() {
    let stats = VideoStats::measure(&walk_towards_camera(21), W, H).unwrap();
    assert_eq!(stats.close_y, 700.0);
    assert_eq!(stats.close_height, 300.0);
    // Median 600; far keeps distances strictly below 0.5 * (700 - 600) = 50: 40, so 560.
    assert!((stats.far_y - 560.0).abs() < 1e-3, "{}", stats.far_y);
    // Heights within 0.05 * 140 = 7 px of the far line: only the frame at 560, 230 tall.
    assert!(
        (stats.far_height - 230.0).abs() < 1e-3,
        "{}",
        stats.far_height
    );
    assert_eq!(
        (stats.frames_with_ankles, stats.frames_without_ankles),
        (21, 0)
    );
}

#[test]
fn identical_statistics_leave_poses_unchanged() {
    let track = walk_towards_camera(21);
    assert_tracks_close(&normalize(&track, &track), &track, 1e-3);
}

#[test]
fn a_source_filmed_twice_as_large_comes_out_at_the_targets_size() {
    let target = walk_towards_camera(21);
    // The same motion filmed with twice the magnification about the top centre of the frame.
    let source = moved(&target, |x, y| (500.0 + 2.0 * (x - 500.0), 2.0 * y - 500.0));
    let out = normalize(&source, &target);
    assert_tracks_close(&out, &target, 1e-2);
    for (o, t) in out.iter().zip(&target) {
        let (o, t) = (o.as_ref().unwrap(), t.as_ref().unwrap());
        assert!((o.height().unwrap() - t.height().unwrap()).abs() < 1e-2);
    }
}

#[test]
fn a_source_standing_higher_comes_down_to_the_targets_ground_line() {
    let target = walk_towards_camera(21);
    let source = moved(&target, |x, y| (x + 30.0, y - 150.0));
    let out = normalize(&source, &target);
    for (o, t) in out.iter().zip(&target) {
        let (o, t) = (o.as_ref().unwrap(), t.as_ref().unwrap());
        assert!((o.ankle().unwrap().y - t.ankle().unwrap().y).abs() < 1e-3);
        assert!((o.height().unwrap() - t.height().unwrap()).abs() < 1e-3);
        // Horizontal position is kept (scale 1 about the centre line).
        assert!((o.ankle().unwrap().x - (t.ankle().unwrap().x + 30.0)).abs() < 1e-3);
    }
}

#[test]
fn frames_without_ankles_keep_going_with_a_neighbours_transform() {
    // The target misses the same ankles, so both videos' statistics stay comparable and
    // every transform is the plain 150 px drop.
    let hide_ankles = |track: &mut Vec<Option<Person>>| {
        for t in [0, 7, 8] {
            let p = track[t].as_mut().unwrap();
            p.body[body::L_ANKLE] = Keypoint::MISSING;
            p.body[body::R_ANKLE] = Keypoint::MISSING;
        }
        track[12] = None;
    };
    let mut target = walk_towards_camera(21);
    let mut source = moved(&target, |x, y| (x, y - 150.0));
    hide_ankles(&mut target);
    hide_ankles(&mut source);
    let stats = VideoStats::measure(&source, W, H).unwrap();
    assert_eq!(
        (stats.frames_with_ankles, stats.frames_without_ankles),
        (17, 3)
    );
    let norm = Normalization::new(stats, VideoStats::measure(&target, W, H).unwrap());
    let out = norm.apply(&source);
    assert_eq!(out.frames_without_ankles, [0, 7, 8]);
    assert!(out.track[12].is_none() && out.transforms[12].is_none());
    // Frame 7 borrows frame 6's transform, frame 8 borrows frame 9's (nearest, earlier first
    // on ties), frame 0 borrows frame 1's.
    assert_eq!(out.transforms[7], out.transforms[6]);
    assert_eq!(out.transforms[8], out.transforms[9]);
    assert_eq!(out.transforms[0], out.transforms[1]);
    // Every frame with a person came down to the target's place, ankles or not.
    for t in [0, 7, 8, 20] {
        let nose = |track: &[Option<Person>]| track[t].as_ref().unwrap().body[body::NOSE];
        assert!(
            (nose(&out.track).y - nose(&target).y).abs() < 1e-3,
            "frame {t}"
        );
    }
}

#[test]
fn a_video_with_no_ankles_at_all_is_a_clear_error() {
    let mut track = walk_towards_camera(5);
    for p in track.iter_mut().flatten() {
        p.body[body::L_ANKLE] = Keypoint::MISSING;
        p.body[body::R_ANKLE] = Keypoint::MISSING;
    }
    let err = VideoStats::measure(&track, W, H).unwrap_err().to_string();
    assert!(
        err.contains("none of its 5 frames with a person shows an ankle"),
        "{err}"
    );
}

#[test]
fn an_unconfident_stray_ankle_does_not_set_the_close_line() {
    let mut track = walk_towards_camera(21);
    let p = track[3].as_mut().unwrap();
    p.body[body::L_ANKLE] = Keypoint::new(500.0, 990.0, 0.01);
    p.body[body::R_ANKLE] = Keypoint::new(500.0, 990.0, 0.01);
    let stats = VideoStats::measure(&track, W, H).unwrap();
    assert_eq!(stats.close_y, 700.0);
    assert_eq!(stats.frames_without_ankles, 1);
}

#[test]
fn aligned_horizontally_the_dancer_stands_where_the_target_stood() {
    // Source off to the left of a wide frame; target right of centre in a small one.
    let source: Vec<_> = (0..10)
        .map(|t| Some(person(200.0 + t as f32, 800.0, 400.0)))
        .collect();
    let target: Vec<_> = (0..10).map(|_| Some(person(90.0, 120.0, 80.0))).collect();
    let (s, t) = (
        VideoStats::measure(&source, 2000, H).unwrap(),
        VideoStats::measure(&target, 128, 128).unwrap(),
    );
    assert_eq!(t.median_x, Some(90.0));
    let ankle_x =
        |track: &[Option<Person>], frame: usize| track[frame].as_ref().unwrap().ankle().unwrap().x;

    let aligned = Normalization::new(s.clone(), t.clone())
        .aligned_horizontally()
        .apply(&source);
    // The source's median frame (x 205) lands on the target's place; others keep their
    // offsets, scaled (400 px tall -> 80 px: a fifth).
    assert!((ankle_x(&aligned.track, 5) - 90.0).abs() < 1e-3);
    assert!((ankle_x(&aligned.track, 0) - (90.0 - 5.0 / 5.0)).abs() < 1e-3);

    // The paper's mapping: about the frame centres, far off to the left here.
    let paper = Normalization::new(s, t).apply(&source);
    let expected = 64.0 + (205.0 - 1000.0) / 5.0;
    assert!(
        (ankle_x(&paper.track, 5) - expected).abs() < 1e-3,
        "{}",
        ankle_x(&paper.track, 5)
    );
}

/// A dancer at the edge of the source frame, aligned where the target stood near the
/// target's edge, is moved back so that every confident point is inside the frame.
#[test]
fn keep_inside_brings_every_point_into_the_frame() {
    use dancenow_pose::normalize::keep_inside;
    use dancenow_pose::{body, Keypoint, Person};
    let person = |x: f32| {
        let mut p = Person::default();
        p.body[body::NOSE] = Keypoint::new(x, 20.0, 0.9);
        p.body[body::R_WRIST] = Keypoint::new(x - 30.0, 50.0, 0.9);
        p.body[body::L_WRIST] = Keypoint::new(x + 30.0, 50.0, 0.9);
        // Not confident: not a reason to move.
        p.body[body::L_EAR] = Keypoint::new(x + 500.0, 20.0, 0.01);
        Some(p)
    };
    let mut track = vec![person(10.0), person(64.0), None, person(120.0)];
    let moved = keep_inside(&mut track, 128);
    assert_eq!(moved, vec![0, 3]);
    for person in track.iter().flatten() {
        for p in person.body.iter().filter(|p| p.confidence >= 0.05) {
            assert!((0.0..=128.0).contains(&p.x), "{} outside", p.x);
        }
    }
    assert_eq!(track[1].as_ref().unwrap().body[body::NOSE].x, 64.0);
}
