//! Modules meeting at the pre-activation: the same network function, BP(1) still backprop's
//! updates (so M_i's targets are the true ∂L/∂z), DNI proper something else, and the CNN refused.

use burn::tensor::{Device, Tensor, TensorData};
use dlp_core::rng::Rng;
use dlp_core::testing::{flat_parameters, max_abs_diff as max_diff};
use dlp_dni::dni::Dni;
use dlp_dni::layers::{Arch, Interface, Net};
use dlp_dni::train::{Method, Optimizer, TrainConfig};

const INPUT: usize = 6;
const CLASSES: usize = 3;

fn batch(seed: u64, device: &Device) -> (Tensor<2>, Vec<usize>) {
    let mut rng = Rng::new(seed);
    let x: Vec<f32> = (0..16 * INPUT).map(|_| rng.normal() as f32).collect();
    let y = (0..16).map(|i| i % CLASSES).collect();
    (
        Tensor::from_data(TensorData::new(x, [16, INPUT]), device),
        y,
    )
}

fn stepped(method: Method, lambda: f64, interface: Interface) -> Vec<f32> {
    let cfg = TrainConfig {
        method,
        layers: 3,
        width: 8,
        lambda,
        interface,
        optimizer: Optimizer::Sgd,
        learning_rate: 0.5,
        ..TrainConfig::default()
    };
    let device = Device::flex().autodiff();
    device.seed(7);
    let mut dni = Dni::new(&cfg, INPUT, CLASSES, &device);
    for s in 0..3 {
        let (x, y) = batch(s, &device);
        dni = dni.step(x, &y).0;
    }
    flat_parameters(dni.net())
}

#[test]
fn a_preactivation_interface_computes_the_same_function() {
    let device = Device::flex();
    device.seed(1);
    let net = Net::new(Arch::Fc, INPUT, 8, 3, CLASSES, &device);
    let (x, _) = batch(0, &device);
    let a = net
        .forward(x.clone())
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let net = net.with_interface(Interface::Preactivation);
    let b = net
        .forward(x.clone())
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert!(max_diff(&a, &b) < 1e-6, "{}", max_diff(&a, &b));
    // The blocks now hand on values that can be negative (before the ReLU).
    let z = net.blocks[0]
        .forward(x)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert!(z.iter().any(|&v| v < 0.0));
}

#[test]
fn bp_lambda_one_at_the_preactivation_gives_backprops_updates() {
    let bp = stepped(Method::Backprop, 0.0, Interface::Output);
    let bp_pre = stepped(Method::Backprop, 0.0, Interface::Preactivation);
    assert!(max_diff(&bp, &bp_pre) < 1e-5, "backprop is backprop");
    for method in [Method::Dni, Method::Cdni] {
        let d = max_diff(&bp, &stepped(method, 1.0, Interface::Preactivation));
        assert!(d < 1e-5, "{method:?}: BP(1) differs from backprop by {d}");
    }
    let dni = stepped(Method::Dni, 0.0, Interface::Preactivation);
    let dni_out = stepped(Method::Dni, 0.0, Interface::Output);
    assert!(
        max_diff(&bp, &dni) > 1e-3,
        "DNI proper differs from backprop"
    );
    assert!(
        max_diff(&dni, &dni_out) > 1e-4,
        "M_i sees another signal at the pre-activation"
    );
}

#[test]
fn the_cnn_has_no_preactivation_interface() {
    let cfg = TrainConfig {
        arch: Arch::Cnn { image: [1, 4, 4] },
        interface: Interface::Preactivation,
        ..TrainConfig::default()
    };
    let err = cfg.validate().unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("preactivation"), "{err}");
}
