//! libtorch loads and computes: the smoke test every model builds on.

use dancenow_nn::{tch, DeviceChoice};
use tch::{Device, Kind, Tensor};

#[test]
fn libtorch_runs_a_convolution_on_cpu() {
    let device = DeviceChoice::Cpu.resolve().unwrap();
    assert_eq!(device, Device::Cpu);
    // A 3x3 box filter over a ramp: each interior output is the mean of its window times 9.
    let input = Tensor::arange(25, (Kind::Float, device)).view([1, 1, 5, 5]);
    let weight = Tensor::ones([1, 1, 3, 3], (Kind::Float, device));
    let out = input.conv2d(&weight, None::<Tensor>, [1, 1], [0, 0], [1, 1], 1);
    assert_eq!(out.size(), [1, 1, 3, 3]);
    // Window centred on (1, 1) holds 0,1,2,5,6,7,10,11,12 = 54.
    assert_eq!(out.double_value(&[0, 0, 0, 0]), 54.0);
    // On a ramp each window sums to 9 x its centre, and the centres 5r + c sum to 108.
    assert_eq!(out.sum(Kind::Float).double_value(&[]), 9.0 * 108.0);
}

#[test]
fn auto_resolves_to_a_usable_device() {
    let device = DeviceChoice::Auto.resolve().unwrap();
    let x = Tensor::ones([4], (Kind::Float, device));
    assert_eq!((&x + &x).sum(Kind::Float).double_value(&[]), 8.0);
}
