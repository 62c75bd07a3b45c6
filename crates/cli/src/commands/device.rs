//! `dancenow device`: which tensor engine and device this build runs on, proven by a computation.

use std::time::Instant;

use anyhow::Result;
use dancenow_nn::tch::{Kind, Tensor};

use crate::args::DeviceArgs;

/// Side of the square matrices multiplied to prove the device computes.
const CHECK_SIZE: i64 = 512;

pub fn run(args: DeviceArgs) -> Result<()> {
    let device = args.device.resolve()?;
    println!("libtorch:     {}", dancenow_nn::libtorch_version());
    println!("CUDA devices: {}", dancenow_nn::tch::Cuda::device_count());
    println!("threads:      {}", dancenow_nn::tch::get_num_threads());
    println!("device:       {device:?} (asked: {})", args.device);
    let a = Tensor::ones([CHECK_SIZE, CHECK_SIZE], (Kind::Float, device));
    let start = Instant::now();
    let product = a.matmul(&a);
    let corner = product.double_value(&[0, 0]);
    let elapsed = start.elapsed();
    anyhow::ensure!(
        corner == CHECK_SIZE as f64,
        "the device computed {corner}, expected {CHECK_SIZE}"
    );
    println!(
        "check:        {CHECK_SIZE}x{CHECK_SIZE} matmul correct in {:.1} ms",
        elapsed.as_secs_f64() * 1e3
    );
    Ok(())
}
