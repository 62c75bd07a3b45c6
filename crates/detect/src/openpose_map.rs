//! BlazePose's 33 body landmarks in OpenPose's BODY_25 layout (docs/architecture.md section 4).
//!
//! Neck and mid-hip are midpoints; OpenPose's big toes are BlazePose's foot-index points;
//! BlazePose has no small toes, so those stay missing. Confidence is the landmark's
//! visibility. Positions move from continuous coordinates to OpenPose's pixel indices.

use dancenow_pose::{body, Keypoint, Person};

use crate::blazepose::{BodyLandmarks, Landmark};

/// BODY_25 index <- BlazePose index, for points that map one to one.
const DIRECT: [(usize, usize); 19] = [
    (body::NOSE, 0),
    (body::R_SHOULDER, 12),
    (body::R_ELBOW, 14),
    (body::R_WRIST, 16),
    (body::L_SHOULDER, 11),
    (body::L_ELBOW, 13),
    (body::L_WRIST, 15),
    (body::R_HIP, 24),
    (body::R_KNEE, 26),
    (body::R_ANKLE, 28),
    (body::L_HIP, 23),
    (body::L_KNEE, 25),
    (body::L_ANKLE, 27),
    (body::R_EYE, 5),
    (body::L_EYE, 2),
    (body::R_EAR, 8),
    (body::L_EAR, 7),
    (body::L_BIG_TOE, 31),
    (body::R_BIG_TOE, 32),
];
const HEELS: [(usize, usize); 2] = [(body::L_HEEL, 29), (body::R_HEEL, 30)];

fn keypoint(p: &Landmark) -> Keypoint {
    // Continuous coordinates have pixel i's centre at i + 0.5; OpenPose's at i.
    Keypoint::new(p.x - 0.5, p.y - 0.5, p.visibility.clamp(0.0, 1.0))
}

/// A person with only the body filled in.
pub fn body_to_openpose(landmarks: &BodyLandmarks) -> Person {
    let mut person = Person::default();
    let points = &landmarks.points;
    for (to, from) in DIRECT.iter().chain(&HEELS) {
        person.body[*to] = keypoint(&points[*from]);
    }
    let mid = |a: usize, b: usize| {
        Keypoint::midpoint(keypoint(&points[a]), keypoint(&points[b])).unwrap_or(Keypoint::MISSING)
    };
    person.body[body::NECK] = mid(11, 12);
    person.body[body::MID_HIP] = mid(23, 24);
    person
}
