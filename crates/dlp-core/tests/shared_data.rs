//! Readers against the real datasets in `shared/data` (skipped, saying why, when absent).

use dlp_core::data::idx::{LabelledImages, Split, read_idx};
use dlp_core::data::registry;
use dlp_core::data::triples::LinkPrediction;
use dlp_core::testing::{shared_data, skip};

#[test]
fn mnist_counts_and_label_histogram() {
    let Some(root) = shared_data() else {
        return skip(
            "mnist_counts_and_label_histogram",
            "no shared/data and no DLP_DATA_DIR",
        );
    };
    let train = LabelledImages::load(&root.join("mnist"), Split::Train).unwrap();
    let test = LabelledImages::load(&root.join("mnist"), Split::Test).unwrap();
    assert_eq!((train.len(), test.len()), (60000, 10000));
    assert_eq!((train.height, train.width), (28, 28));
    assert_eq!(train.label_counts()[0], 5923);
    assert_eq!(&train.labels[..10], &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    let device = burn::tensor::Device::flex();
    let x = train.images_tensor(&[0, 1], &device);
    assert_eq!(x.dims(), [2, 1, 28, 28]);
    let max = x
        .max()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap()[0];
    assert!(max > 0.99 && max <= 1.0, "{max}");
}

#[test]
fn truncated_mnist_is_a_clear_error() {
    let Some(root) = shared_data() else {
        return skip("truncated_mnist_is_a_clear_error", "no shared data");
    };
    let dir = tempfile::tempdir().unwrap();
    let bytes =
        dlp_core::data::read_maybe_gz(&root.join("mnist/t10k-labels-idx1-ubyte.gz")).unwrap();
    let path = dir.path().join("t10k-labels-idx1-ubyte");
    std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    let err = read_idx(&path).unwrap_err().to_string();
    assert!(err.contains("t10k-labels-idx1-ubyte"), "{err}");
    assert!(err.contains("truncated IDX data"), "{err}");
}

fn counts(name: &str) -> Option<LinkPrediction> {
    let root = shared_data()?;
    Some(LinkPrediction::load(&root.join(name)).unwrap())
}

#[test]
fn fb15k_237_counts_with_crlf() {
    let Some(kg) = counts("fb15k-237") else {
        return skip("fb15k_237_counts_with_crlf", "no shared data");
    };
    assert_eq!(
        (kg.train.len(), kg.valid.len(), kg.test.len()),
        (272115, 17535, 20466)
    );
    assert_eq!((kg.entities.len(), kg.relations.len()), (14541, 237));
    // No name kept a stray carriage return.
    assert!((0..kg.entities.len() as u32).all(|i| !kg.entities.name(i).ends_with('\r')));
}

#[test]
fn wn18rr_counts() {
    let Some(kg) = counts("wn18rr") else {
        return skip("wn18rr_counts", "no shared data");
    };
    assert_eq!(
        (kg.train.len(), kg.valid.len(), kg.test.len()),
        (86835, 3034, 3134)
    );
    assert_eq!((kg.entities.len(), kg.relations.len()), (40943, 11));
}

#[test]
fn shared_datasets_verify_against_the_registry() {
    let Some(root) = shared_data() else {
        return skip(
            "shared_datasets_verify_against_the_registry",
            "no shared data",
        );
    };
    for name in [
        "mnist",
        "fb15k-237",
        "wn18rr",
        "nations",
        "umls",
        "dbp15k-zh_en",
        "dbp15k-fr_en",
    ] {
        let report = dlp_core::data::fetch::verify(registry::find(name).unwrap(), &root).unwrap();
        assert!(report.ok(), "{name}: {:?}", report.first_error());
    }
}
