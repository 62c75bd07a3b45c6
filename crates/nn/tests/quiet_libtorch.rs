//! While a model runs on the CPU, or a caller holds a [`QuietLibtorch`], libtorch runs on
//! one thread (the kernels have their own); the count comes back afterwards. Its own test
//! binary, since the thread count is process-wide.

use std::path::PathBuf;

use dancenow_nn::tch::{self, Device, Kind, Tensor};
use dancenow_nn::tflite::{QuietLibtorch, TfliteModel};

#[test]
fn libtorch_runs_one_thread_while_guarded_and_gets_its_threads_back() {
    tch::set_num_threads(2);
    let frame = QuietLibtorch::new(Device::Cpu);
    assert_eq!(tch::get_num_threads(), 1);
    let path = PathBuf::from(env!("DANCENOW_DEPS")).join("models/mediapipe/hand_recrop.tflite");
    let model =
        TfliteModel::load(&path, Device::Cpu).expect("MediaPipe model (run cargo xtask setup)");
    let input = Tensor::zeros(
        model.input_shapes()[0].as_slice(),
        (Kind::Float, Device::Cpu),
    );
    model.forward(&[input.shallow_clone()]).expect("forward");
    assert_eq!(tch::get_num_threads(), 1, "the outer guard still holds");
    drop(frame);
    assert_eq!(tch::get_num_threads(), 2);
    model.forward(&[input]).expect("forward");
    assert_eq!(
        tch::get_num_threads(),
        2,
        "a model's own guard gives the threads back"
    );
    let _gpu = QuietLibtorch::new(Device::Cuda(0));
    assert_eq!(tch::get_num_threads(), 2, "only the CPU is quietened");
}
