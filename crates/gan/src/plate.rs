//! A fixed camera's background (the "plate"), estimated from a video's frames and where
//! the person is in each (docs/architecture.md section 5b): per pixel and channel, the median over
//! the sampled frames in which the person did not cover that pixel.
//!
//! Memory is bounded by keeping at most a few dozen frames, evenly spread over the video
//! without knowing its length: frames are offered by index, every `stride`-th is kept, and
//! when the store is full every other kept frame is dropped and the stride doubles. The
//! median is then exact over the kept frames. (A per-pixel histogram needs 256 counters per
//! pixel and channel, 1.5 GB at 1080p; a streaming approximate median drifts with noise and
//! is not exact even on a clean background. Storing frames costs 6.5 MB each at 1080p, so
//! a 256 MiB budget keeps 41 of them there, and [`MAX_SAMPLES`] at smaller sizes.)
//!
//! Pixels the person covered in every kept frame are marked unseen and filled from the
//! nearest seen pixels, ring by ring inwards. Their median over all frames would be the
//! person's own colours: a ghost of the person left in the background wherever the
//! generated person does not cover it. Only when no pixel was ever seen does the plate fall
//! back to that plain median.

use image::{GrayImage, RgbImage};

/// Most frames kept, at small sizes.
pub const MAX_SAMPLES: usize = 96;
/// Fewest frames kept, even when they exceed [`MEMORY_BUDGET`] (very large frames).
pub const MIN_SAMPLES: usize = 8;
/// Bytes the kept frames and their masks may take.
pub const MEMORY_BUDGET: usize = 256 << 20;
/// `seen` value where the background showed in at least one kept frame.
pub const SEEN: u8 = 255;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlateError {
    #[error("frame {index}: the {what} is {got:?}, but the plate is {expected:?}")]
    SizeMismatch {
        what: &'static str,
        index: u64,
        got: (u32, u32),
        expected: (u32, u32),
    },
    #[error("no frames were given, so there is no background to estimate")]
    NoFrames,
}

/// The estimated background and where it was actually seen.
#[derive(Debug, Clone, PartialEq)]
pub struct Plate {
    pub image: RgbImage,
    /// [`SEEN`] where the background showed in some kept frame; 0 where it was filled in.
    pub seen: GrayImage,
    /// How many frames the estimate is the median of.
    pub samples: usize,
}

/// Collects frames of one video and the person's masks, then estimates its [`Plate`].
pub struct PlateBuilder {
    width: u32,
    height: u32,
    capacity: usize,
    /// Frames whose index is a multiple of this are kept.
    stride: u64,
    samples: Vec<Sample>,
}

struct Sample {
    index: u64,
    frame: RgbImage,
    /// One bit per pixel, row-major: set where the person may be.
    covered: Vec<u64>,
}

impl Sample {
    fn is_covered(&self, pixel: usize) -> bool {
        self.covered[pixel / 64] >> (pixel % 64) & 1 == 1
    }
}

impl PlateBuilder {
    /// A builder for `width` x `height` frames, keeping as many as [`MEMORY_BUDGET`] allows
    /// (between [`MIN_SAMPLES`] and [`MAX_SAMPLES`]).
    pub fn new(width: u32, height: u32) -> Self {
        let pixels = width as usize * height as usize;
        let per_sample = (pixels * 3 + pixels.div_ceil(8)).max(1);
        let capacity = (MEMORY_BUDGET / per_sample).clamp(MIN_SAMPLES, MAX_SAMPLES);
        Self::with_capacity(width, height, capacity)
    }

    /// A builder that keeps at most `capacity` frames (at least 2).
    pub fn with_capacity(width: u32, height: u32, capacity: usize) -> Self {
        Self {
            width,
            height,
            capacity: capacity.max(2),
            stride: 1,
            samples: Vec::new(),
        }
    }

    /// Whether [`add`](Self::add) would keep frame `index` now: callers may skip making a
    /// mask for frames it would not. Indices must grow from one kept frame to the next.
    pub fn wants(&self, index: u64) -> bool {
        index.is_multiple_of(self.stride) && self.samples.last().is_none_or(|s| index > s.index)
    }

    /// Offers frame `index` of the video with `person`'s mask (nonzero where the person may
    /// be: an unsure edge counts as the person, so it stays out of the background). Returns
    /// whether the frame was kept.
    pub fn add(
        &mut self,
        index: u64,
        frame: &RgbImage,
        person: &GrayImage,
    ) -> Result<bool, PlateError> {
        let expected = (self.width, self.height);
        for (what, got) in [("frame", frame.dimensions()), ("mask", person.dimensions())] {
            if got != expected {
                return Err(PlateError::SizeMismatch {
                    what,
                    index,
                    got,
                    expected,
                });
            }
        }
        if !self.wants(index) {
            return Ok(false);
        }
        let mut covered = vec![0u64; person.len().div_ceil(64)];
        for (pixel, value) in person.as_raw().iter().enumerate() {
            if *value != 0 {
                covered[pixel / 64] |= 1 << (pixel % 64);
            }
        }
        self.samples.push(Sample {
            index,
            frame: frame.clone(),
            covered,
        });
        while self.samples.len() >= self.capacity {
            self.stride *= 2;
            let stride = self.stride;
            self.samples.retain(|s| s.index.is_multiple_of(stride));
        }
        Ok(true)
    }

    /// The per-pixel median of the background where it was seen, filled in where not.
    pub fn finish(self) -> Result<Plate, PlateError> {
        if self.samples.is_empty() {
            return Err(PlateError::NoFrames);
        }
        let (w, h) = (self.width, self.height);
        let mut image = RgbImage::new(w, h);
        let mut seen = GrayImage::new(w, h);
        let mut values: Vec<u8> = Vec::with_capacity(self.samples.len());
        let mut any_seen = false;
        for pixel in 0..w as usize * h as usize {
            let uncovered = || self.samples.iter().filter(|s| !s.is_covered(pixel));
            if uncovered().next().is_none() {
                continue;
            }
            any_seen = true;
            seen.as_mut()[pixel] = SEEN;
            for channel in 0..3 {
                values.clear();
                values.extend(uncovered().map(|s| s.frame.as_raw()[pixel * 3 + channel]));
                image.as_mut()[pixel * 3 + channel] = median(&mut values);
            }
        }
        if any_seen {
            fill_unseen(&mut image, &seen);
        } else {
            for (i, out) in image.as_mut().iter_mut().enumerate() {
                values.clear();
                values.extend(self.samples.iter().map(|s| s.frame.as_raw()[i]));
                *out = median(&mut values);
            }
        }
        Ok(Plate {
            image,
            seen,
            samples: self.samples.len(),
        })
    }
}

/// The lower median: a value that occurs, so a steady background comes out exactly.
fn median(values: &mut [u8]) -> u8 {
    let middle = (values.len() - 1) / 2;
    *values.select_nth_unstable(middle).1
}

/// Gives every unseen pixel the mean of its already known 8 neighbours, one ring of
/// pixels at a time from the seen ones inwards, so the order within a ring does not matter.
fn fill_unseen(image: &mut RgbImage, seen: &GrayImage) {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let mut known: Vec<bool> = seen.as_raw().iter().map(|v| *v == SEEN).collect();
    let mut queued = known.clone();
    let neighbours = |p: usize| {
        let (x, y) = ((p as i64) % w, (p as i64) / w);
        (-1..=1)
            .flat_map(move |dy| (-1..=1).map(move |dx| (x + dx, y + dy)))
            .filter(move |&(nx, ny)| {
                (nx, ny) != (x, y) && (0..w).contains(&nx) && (0..h).contains(&ny)
            })
            .map(move |(nx, ny)| (ny * w + nx) as usize)
    };
    let mut ring: Vec<usize> = Vec::new();
    for p in 0..known.len() {
        if !known[p] && neighbours(p).any(|n| known[n]) {
            queued[p] = true;
            ring.push(p);
        }
    }
    while !ring.is_empty() {
        let filled: Vec<[u8; 3]> = ring
            .iter()
            .map(|&p| {
                let (mut sum, mut count) = ([0u32; 3], 0u32);
                for n in neighbours(p).filter(|&n| known[n]) {
                    for (s, v) in sum.iter_mut().zip(&image.as_raw()[n * 3..n * 3 + 3]) {
                        *s += *v as u32;
                    }
                    count += 1;
                }
                sum.map(|s| ((s + count / 2) / count) as u8)
            })
            .collect();
        let mut next = Vec::new();
        for (&p, value) in ring.iter().zip(filled) {
            image.as_mut()[p * 3..p * 3 + 3].copy_from_slice(&value);
            known[p] = true;
        }
        for &p in &ring {
            for n in neighbours(p) {
                if !queued[n] {
                    queued[n] = true;
                    next.push(n);
                }
            }
        }
        ring = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Luma, Rgb};

    const W: u32 = 48;
    const H: u32 = 32;

    /// A picture where every pixel differs from its neighbours.
    fn picture() -> RgbImage {
        RgbImage::from_fn(W, H, |x, y| {
            Rgb([
                (x * 5) as u8,
                (y * 7) as u8,
                ((x * 31 + y * 17) % 251) as u8,
            ])
        })
    }

    /// A 10x10 square at `left`, and its mask.
    fn with_square(picture: &RgbImage, left: u32) -> (RgbImage, GrayImage) {
        let inside = |x: u32, y: u32| (left..left + 10).contains(&x) && (10..20).contains(&y);
        let frame = RgbImage::from_fn(W, H, |x, y| {
            if inside(x, y) {
                Rgb([255, 0, 255])
            } else {
                *picture.get_pixel(x, y)
            }
        });
        let mask = GrayImage::from_fn(W, H, |x, y| Luma([if inside(x, y) { 255 } else { 0 }]));
        (frame, mask)
    }

    #[test]
    fn a_moving_shape_leaves_the_picture_wherever_it_uncovered_it() {
        let picture = picture();
        let mut builder = PlateBuilder::with_capacity(W, H, 64);
        // The square moves right, 3 pixels a frame, from x = 0 to x = 36.
        for (t, left) in (0..=36).step_by(3).enumerate() {
            let (frame, mask) = with_square(&picture, left);
            assert!(builder.add(t as u64, &frame, &mask).unwrap());
        }
        let plate = builder.finish().unwrap();
        assert_eq!(plate.samples, 13);
        // The square covered every pixel of its rows at some time, none at all times.
        assert_eq!(plate.image, picture);
        assert!(plate.seen.pixels().all(|p| p.0[0] == SEEN));
    }

    #[test]
    fn an_unmasked_passer_by_in_a_minority_of_frames_is_voted_out() {
        let picture = picture();
        let mut builder = PlateBuilder::with_capacity(W, H, 64);
        let empty = GrayImage::new(W, H);
        for t in 0..5 {
            // Frames 1 and 3 hold something the mask does not know about.
            let (frame, _) = with_square(&picture, if t % 2 == 1 { 5 } else { 100 });
            builder.add(t, &frame, &empty).unwrap();
        }
        assert_eq!(builder.finish().unwrap().image, picture);
    }

    #[test]
    fn a_pixel_always_covered_is_unseen_and_filled_from_its_surroundings() {
        // Red on the left, blue on the right; a person stands still at x 2..8.
        let picture = RgbImage::from_fn(W, H, |x, _| {
            if x < 24 {
                Rgb([200, 0, 0])
            } else {
                Rgb([0, 0, 200])
            }
        });
        let mut builder = PlateBuilder::with_capacity(W, H, 64);
        for t in 0..4 {
            let mut frame = picture.clone();
            let mut mask = GrayImage::new(W, H);
            for y in 4..28 {
                for x in 2..8 {
                    frame.put_pixel(x, y, Rgb([20 * t as u8, 255, 0]));
                    mask.put_pixel(x, y, Luma([255]));
                }
            }
            builder.add(t as u64, &frame, &mask).unwrap();
        }
        let plate = builder.finish().unwrap();
        assert_eq!(plate.seen.get_pixel(5, 15).0[0], 0);
        assert_eq!(plate.seen.get_pixel(1, 15).0[0], SEEN);
        assert_eq!(plate.seen.get_pixel(8, 15).0[0], SEEN);
        // Filled from the red around it, not the person's green.
        assert_eq!(plate.image, picture);
    }

    #[test]
    fn nothing_ever_seen_falls_back_to_the_plain_median() {
        let mut builder = PlateBuilder::with_capacity(4, 2, 8);
        let all = GrayImage::from_pixel(4, 2, Luma([255]));
        for (t, v) in [10u8, 30, 20].into_iter().enumerate() {
            builder
                .add(t as u64, &RgbImage::from_pixel(4, 2, Rgb([v, v, v])), &all)
                .unwrap();
        }
        let plate = builder.finish().unwrap();
        assert_eq!(plate.image, RgbImage::from_pixel(4, 2, Rgb([20, 20, 20])));
        assert!(plate.seen.pixels().all(|p| p.0[0] == 0));
    }

    #[test]
    fn kept_frames_stay_bounded_and_evenly_spread() {
        let mut builder = PlateBuilder::with_capacity(2, 2, 8);
        let (frame, mask) = (RgbImage::new(2, 2), GrayImage::new(2, 2));
        let mut kept = 0;
        for t in 0..100 {
            if builder.wants(t) {
                assert!(builder.add(t, &frame, &mask).unwrap());
                kept += 1;
            } else {
                assert!(!builder.add(t, &frame, &mask).unwrap());
            }
            assert!(builder.samples.len() < 8);
        }
        assert!(kept > 8);
        let indices: Vec<u64> = builder.samples.iter().map(|s| s.index).collect();
        assert_eq!(indices, [0, 16, 32, 48, 64, 80, 96]);
    }

    #[test]
    fn the_budget_keeps_fewer_frames_of_a_larger_video() {
        assert_eq!(PlateBuilder::new(518, 496).capacity, MAX_SAMPLES);
        let hd = PlateBuilder::new(1920, 1080).capacity;
        assert_eq!(hd, MEMORY_BUDGET / (1920 * 1080 * 3 + 1920 * 1080 / 8));
        assert_eq!(PlateBuilder::new(7680, 4320).capacity, MIN_SAMPLES);
    }

    #[test]
    fn wrong_sizes_and_no_frames_are_errors() {
        let mut builder = PlateBuilder::new(8, 8);
        let err = builder
            .add(0, &RgbImage::new(8, 6), &GrayImage::new(8, 8))
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("frame 0: the frame is (8, 6), but the plate is (8, 8)"),
            "{err}"
        );
        assert!(matches!(builder.finish(), Err(PlateError::NoFrames)));
    }
}
