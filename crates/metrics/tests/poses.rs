use dancenow_metrics::{jitter, Part, PoseDistance};
use dancenow_pose::{Keypoint, Person};

/// A person with every body point and the right hand seen, the face not.
fn person(dx: f32, dy: f32) -> Person {
    let mut p = Person::default();
    for (i, k) in p.body.iter_mut().enumerate() {
        *k = Keypoint::new(
            100.0 + 10.0 * i as f32 + dx,
            50.0 + 7.0 * i as f32 + dy,
            0.9,
        );
    }
    for (i, k) in p.right_hand.iter_mut().enumerate() {
        *k = Keypoint::new(40.0 + i as f32 + dx, 80.0 + dy, 0.8);
    }
    p
}

#[test]
fn identical_poses_are_zero_apart() {
    let mut d = PoseDistance::default();
    d.add(&person(0.0, 0.0), Some(&person(0.0, 0.0)));
    assert_eq!(d.part(Part::Body).mean(), Some(0.0));
    assert_eq!(d.part(Part::Hands).mean(), Some(0.0));
    assert_eq!(d.part(Part::Face).mean(), None, "no face points to compare");
    assert_eq!(d.overall().matched, 25 + 21);
    assert_eq!((d.overall().missed, d.missed_frames), (0, 0));
}

#[test]
fn distance_grows_with_a_known_displacement() {
    for shift in [1.0f32, 5.0, 12.0] {
        let mut d = PoseDistance::default();
        d.add(
            &person(0.0, 0.0),
            Some(&person(3.0 * shift / 5.0, 4.0 * shift / 5.0)),
        );
        let body = d.part(Part::Body).mean().unwrap();
        assert!((body - f64::from(shift)).abs() < 1e-4, "{shift}: {body}");
        assert!((d.overall().mean().unwrap() - f64::from(shift)).abs() < 1e-4);
    }
}

#[test]
fn missed_points_and_frames_are_counted_not_measured() {
    let mut d = PoseDistance::default();
    let mut found = person(2.0, 0.0);
    found.body[4] = Keypoint::MISSING;
    found.right_hand = [Keypoint::MISSING; 21];
    d.add(&person(0.0, 0.0), Some(&found));
    d.add(&person(0.0, 0.0), None);
    assert_eq!(d.frames, 2);
    assert_eq!(d.missed_frames, 1);
    assert_eq!(d.part(Part::Body).missed, 1 + 25);
    assert_eq!(d.part(Part::Hands).missed, 21 + 21);
    assert_eq!(d.part(Part::Body).mean(), Some(2.0));
}

#[test]
fn jitter_is_zero_for_steady_motion_and_sees_a_flicker() {
    let steady: Vec<_> = (0..6).map(|t| Some(person(2.0 * t as f32, 0.0))).collect();
    assert!(jitter(&steady, Part::Body).unwrap() < 1e-4);
    let mut flicker = steady.clone();
    flicker[3] = Some(person(6.0, 3.0)); // 3 px off its path at t = 3
    let j = jitter(&flicker, Part::Body).unwrap();
    // Accelerations at t = 2, 3, 4 are 3, 6 and 3 px over 4 windows.
    assert!((j - 12.0 / 4.0).abs() < 1e-4, "{j}");
    assert_eq!(jitter(&flicker, Part::Face), None);
    assert_eq!(jitter(&[None, None, None], Part::Body), None);
}
