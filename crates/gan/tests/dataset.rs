//! Opening a dataset folder: what `dataset.json` may not say.

mod common;

use dancenow_gan::dataset::DATASET_FILE;
use dancenow_gan::{Dataset, DatasetError, DatasetWriter};
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

/// Every file under `dir`, with its bytes.
fn snapshot(dir: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

fn sequence() -> dancenow_pose::openpose::SequenceInfo {
    dancenow_pose::openpose::SequenceInfo {
        fps: 30.0,
        width: SIZE,
        height: SIZE,
    }
}

/// The names beside `root` in its parent folder, other than `root` itself.
fn siblings(root: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(root.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| std::path::Path::new(name) != root.file_name().unwrap())
        .collect()
}

/// A folder with files and no `dataset.json` is the user's: `prepare -o` there is refused
/// and deletes nothing (it used to empty `images/`, `figures/` and `poses/`).
#[test]
fn a_folder_dancenow_did_not_make_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("holidays");
    std::fs::create_dir_all(root.join("images")).unwrap();
    std::fs::write(root.join("images/holiday.jpg"), b"a photo").unwrap();
    let err = DatasetWriter::create(&root, sequence()).err().unwrap();
    assert!(matches!(err, DatasetError::ForeignFolder { .. }), "{err}");
    assert!(err.to_string().contains("holidays"), "{err}");
    assert_eq!(
        std::fs::read(root.join("images/holiday.jpg")).unwrap(),
        b"a photo"
    );
    assert!(siblings(&root).is_empty(), "{:?}", siblings(&root));
    // A file where the folder should be is refused too; an empty folder is fine.
    std::fs::write(tmp.path().join("file"), b"x").unwrap();
    assert!(DatasetWriter::create(&tmp.path().join("file"), sequence()).is_err());
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    common::write_dataset(&tmp.path().join("empty"), 3, 1, SIZE);
}

/// A dataset is built beside the old one: a run that fails part way (a bad frame, a full
/// disk, Ctrl-C) or whose result is unusable leaves the old dataset byte for byte.
#[test]
fn a_failed_rewrite_leaves_the_old_dataset_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let dataset = common::write_dataset(&root, 4, 1, SIZE);
    let before = snapshot(&root);

    // Part way: one frame written, then an error drops the writer.
    let writer = DatasetWriter::create(&root, sequence()).unwrap();
    let person = common::pose(0, SIZE);
    let image = common::person_image(&person, SIZE);
    writer.write_frame(0, &image, &image, &person).unwrap();
    drop(writer);
    assert_eq!(snapshot(&root), before);
    assert!(siblings(&root).is_empty(), "{:?}", siblings(&root));

    // Complete but unusable: no training frames.
    let writer = DatasetWriter::create(&root, sequence()).unwrap();
    let mut info = dataset.info.clone();
    info.frames.clear();
    let err = writer.finish(info).unwrap_err();
    assert!(err.to_string().contains("no training frames"), "{err}");
    assert_eq!(snapshot(&root), before);
    assert!(siblings(&root).is_empty(), "{:?}", siblings(&root));
}

/// A finished dataset replaces the old one whole: no frame of the old run stays, and an
/// unfinished folder a killed run left beside it is cleared.
#[test]
fn a_finished_rewrite_replaces_the_old_dataset_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    common::write_dataset(&root, 6, 1, SIZE);
    let killed = DatasetWriter::create(&root, sequence()).unwrap();
    std::mem::forget(killed);
    assert_eq!(siblings(&root), ["data.partial"]);

    let dataset = common::write_dataset(&root, 3, 1, SIZE);
    assert_eq!(dataset.info.frames.len(), 3);
    assert_eq!(std::fs::read_dir(root.join("images")).unwrap().count(), 3);
    assert!(siblings(&root).is_empty(), "{:?}", siblings(&root));
}
