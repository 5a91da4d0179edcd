//! Recurrent DNI on the Copy task: the synthetic gradient starts at zero, so the first update
//! is truncated BPTT's; the curriculum advances once episodes are solved; a resumed run ends
//! where an uninterrupted one does.

use burn::tensor::Device;
use dlp_core::testing::flat_parameters;
use dlp_dni::copy::Task;
use dlp_dni::recurrent::{CopyConfig, RnnConfig, RnnMethod, train_copy};

fn small(method: RnnMethod, truncation: usize, updates: usize) -> CopyConfig {
    let d = CopyConfig::default().rnn;
    CopyConfig {
        task: Task::Copy,
        rnn: RnnConfig {
            method,
            truncation,
            hidden: 32,
            batch: 16,
            updates,
            learning_rate: 1e-2,
            ..d
        },
    }
}

#[test]
fn the_first_dni_update_is_truncated_bptts() {
    let device = Device::flex();
    let (_, bptt) = train_copy(&small(RnnMethod::Bptt, 3, 1), &device, None, false).unwrap();
    let (_, dni) = train_copy(&small(RnnMethod::Dni, 3, 1), &device, None, false).unwrap();
    assert_eq!(flat_parameters(&bptt), flat_parameters(&dni));
    // From the second update on, the synthetic gradient has learned and changes the updates.
    let (_, bptt) = train_copy(&small(RnnMethod::Bptt, 3, 3), &device, None, false).unwrap();
    let (_, dni) = train_copy(&small(RnnMethod::Dni, 3, 3), &device, None, false).unwrap();
    assert_ne!(flat_parameters(&bptt), flat_parameters(&dni));
}

#[test]
fn the_curriculum_advances_once_episodes_are_solved() {
    let (s, _) = train_copy(
        &small(RnnMethod::Bptt, 10, 2000),
        &Device::flex(),
        None,
        false,
    )
    .unwrap();
    eprintln!("{s:?}");
    let solved = s.max_length_solved;
    assert!(solved >= 2, "{s:?}");
    // Each step of the history is one length up, in order.
    assert_eq!(s.length_history.len(), solved);
    for (i, h) in s.length_history.iter().enumerate() {
        assert_eq!(h.1, i + 2);
    }
}

#[test]
fn a_resumed_run_ends_where_an_uninterrupted_one_does() {
    let device = Device::flex();
    let (whole, whole_net) =
        train_copy(&small(RnnMethod::Dni, 3, 300), &device, None, false).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = Some(dir.path());
    train_copy(&small(RnnMethod::Dni, 3, 120), &device, out, false).unwrap();
    let (resumed, net) = train_copy(&small(RnnMethod::Dni, 3, 300), &device, out, true).unwrap();
    assert_eq!(resumed.resumed_from, 120);
    assert_eq!(flat_parameters(&whole_net), flat_parameters(&net));
    assert_eq!(whole.final_loss.to_bits(), resumed.final_loss.to_bits());
    assert_eq!(whole.current_length, resumed.current_length);
    assert_eq!(
        whole.current_error_bits.to_bits(),
        resumed.current_error_bits.to_bits()
    );
    assert_eq!(whole.length_history, resumed.length_history);
}
