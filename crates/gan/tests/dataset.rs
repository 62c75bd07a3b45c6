//! Opening a dataset folder: what `dataset.json` may not say.

mod common;

use dancenow_gan::dataset::DATASET_FILE;
use dancenow_gan::{Dataset, DatasetError};
use dancenow_pose::FaceBox;

const SIZE: u32 = 64;

/// A face box that is empty or reaches past the image is an error naming `dataset.json`
/// and the frame, when the dataset is opened (not a tensor narrowing panic mid-training).
#[test]
fn face_boxes_must_lie_inside_the_image_and_not_be_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let dataset = common::write_dataset(&root, 4, 1, SIZE);
    let original = std::fs::read_to_string(root.join(DATASET_FILE)).unwrap();
    let index = dataset.info.frames[2].index;
    for face in [
        FaceBox {
            x: 0,
            y: 0,
            size: 0,
        },
        FaceBox {
            x: 60,
            y: 0,
            size: 8,
        },
        FaceBox {
            x: 0,
            y: 57,
            size: 8,
        },
        FaceBox {
            x: u32::MAX,
            y: 0,
            size: 2,
        },
    ] {
        let mut info: serde_json::Value = serde_json::from_str(&original).unwrap();
        info["frames"][2]["face"] = serde_json::to_value(face).unwrap();
        std::fs::write(root.join(DATASET_FILE), info.to_string()).unwrap();
        let err = Dataset::open(&root).unwrap_err();
        assert!(
            matches!(&err, DatasetError::FaceBox { index: i, face: f, .. } if *i == index && *f == face),
            "{err}"
        );
        let message = err.to_string();
        assert!(
            message.contains(DATASET_FILE) && message.contains(&format!("frame {index}")),
            "{message}"
        );
    }
    // A box touching the right and bottom edges is inside.
    let mut info: serde_json::Value = serde_json::from_str(&original).unwrap();
    info["frames"][2]["face"] = serde_json::to_value(FaceBox {
        x: 56,
        y: 56,
        size: 8,
    })
    .unwrap();
    std::fs::write(root.join(DATASET_FILE), info.to_string()).unwrap();
    Dataset::open(&root).unwrap();
}

/// A missing file's OS message is printed once in the chain the CLI prints (`{:#}`),
/// after the path: each error says what it adds and leaves its cause to the chain.
#[test]
fn a_missing_file_prints_its_reason_once() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nothing");
    let reason = std::io::Error::from_raw_os_error(2).to_string();
    let dataset_err = Dataset::open(&missing).unwrap_err();
    let model_err = dancenow_gan::ModelDir::new(&missing)
        .read_config()
        .unwrap_err();
    for (chain, file) in [
        (
            format!("{:#}", anyhow::Error::from(dataset_err)),
            DATASET_FILE,
        ),
        (
            format!("{:#}", anyhow::Error::from(model_err)),
            "config.toml",
        ),
    ] {
        assert_eq!(chain.matches(&reason).count(), 1, "{chain}");
        assert!(chain.ends_with(&format!("{file}: {reason}")), "{chain}");
    }
}
