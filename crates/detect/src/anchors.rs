//! SSD anchors for the BlazePose person detector (MediaPipe's SsdAnchorsCalculator with
//! the options of pose_detection_cpu: 5 layers, strides 8, 16, 32, 32, 32, aspect ratio
//! 1, fixed anchor size). Layers that share a stride share a feature map, so their
//! anchors interleave per cell.

/// An anchor centre in [0, 1] of the detector's input; fixed size means width = height = 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anchor {
    pub x: f32,
    pub y: f32,
}

pub const POSE_DETECTOR_STRIDES: [u32; 5] = [8, 16, 32, 32, 32];
/// Two anchors per layer: aspect ratio 1 and the interpolated scale.
const ANCHORS_PER_LAYER: usize = 2;

pub fn ssd_anchors(input_size: u32, strides: &[u32]) -> Vec<Anchor> {
    let mut anchors = Vec::new();
    let mut layer = 0;
    while layer < strides.len() {
        let stride = strides[layer];
        let same = strides[layer..]
            .iter()
            .take_while(|&&s| s == stride)
            .count();
        let cells = input_size.div_ceil(stride);
        for row in 0..cells {
            for col in 0..cells {
                let anchor = Anchor {
                    x: (col as f32 + 0.5) / cells as f32,
                    y: (row as f32 + 0.5) / cells as f32,
                };
                anchors.extend(std::iter::repeat_n(anchor, same * ANCHORS_PER_LAYER));
            }
        }
        layer += same;
    }
    anchors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pose_detector_has_2254_anchors() {
        let anchors = ssd_anchors(224, &POSE_DETECTOR_STRIDES);
        // 28x28x2 + 14x14x2 + 7x7x6, as the model's output says.
        assert_eq!(anchors.len(), 2254);
        assert_eq!(
            anchors[0],
            Anchor {
                x: 0.5 / 28.0,
                y: 0.5 / 28.0
            }
        );
        assert_eq!(
            anchors[1568],
            Anchor {
                x: 0.5 / 14.0,
                y: 0.5 / 14.0
            }
        );
        assert_eq!(
            anchors[2253],
            Anchor {
                x: 6.5 / 7.0,
                y: 6.5 / 7.0
            }
        );
    }
}
