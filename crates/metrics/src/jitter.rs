//! Temporal jitter: the mean magnitude of a keypoint's frame-to-frame acceleration,
//! |p(t+1) - 2 p(t) + p(t-1)| in pixels per frame squared. Smooth motion scores near
//! zero; the flicker the paper names as its main weakness scores high.

use dancenow_pose::keypoints::MIN_CONFIDENCE;
use dancenow_pose::Person;

use crate::pose_distance::Part;

/// Mean acceleration of `part`'s points over a track, counting a point at frame t only
/// when it is seen in frames t-1, t and t+1; `None` when no point ever is.
pub fn jitter(track: &[Option<Person>], part: Part) -> Option<f64> {
    let mut total = Accelerations::default();
    total.add(track, part);
    total.mean()
}

/// Accelerations summed over several tracks (runs of consecutive frames), so that the
/// mean weighs every measured acceleration alike, however the runs differ in length or
/// in how often the points were seen.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Accelerations {
    sum: f64,
    count: u64,
}

impl Accelerations {
    /// Adds the accelerations of `part`'s points measured in `track`.
    pub fn add(&mut self, track: &[Option<Person>], part: Part) {
        for window in track.windows(3) {
            let [Some(a), Some(b), Some(c)] = window else {
                continue;
            };
            let (a, b, c) = (part.points(a), part.points(b), part.points(c));
            for ((p, q), r) in a.iter().zip(&b).zip(&c) {
                if [p, q, r].iter().all(|k| k.is_confident(MIN_CONFIDENCE)) {
                    let ax = f64::from(r.x - 2.0 * q.x + p.x);
                    let ay = f64::from(r.y - 2.0 * q.y + p.y);
                    self.sum += ax.hypot(ay);
                    self.count += 1;
                }
            }
        }
    }

    /// How many accelerations were measured.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Their mean; `None` when none was measured.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}
