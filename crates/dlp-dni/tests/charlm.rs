//! Character-level language modelling: the corpus split and vocabulary, bits per character of
//! an untrained model against log2 of the vocabulary, and learning a periodic text.

use burn::tensor::Device;
use dlp_dni::charlm::{CharLmConfig, Corpus, bpc, train_charlm};
use dlp_dni::lstm::Lstm;
use dlp_dni::recurrent::{RnnConfig, RnnMethod};

#[test]
fn the_split_keeps_every_character_and_maps_unseen_ones_to_zero() {
    let text = format!("{}xyz", "ab".repeat(150));
    let c = Corpus::from_text(&text).unwrap();
    assert_eq!(
        c.train.len() + c.valid.len() + c.test.len(),
        text.chars().count()
    );
    assert_eq!(c.vocab.len(), 3, "unseen + a + b");
    assert_eq!(
        &c.test[c.test.len() - 3..],
        &[0, 0, 0],
        "x, y, z never occur in training"
    );
    assert!(
        Corpus::from_text("too short")
            .unwrap_err()
            .to_string()
            .contains("200")
    );
}

#[test]
fn an_untrained_model_is_near_uniform_and_training_learns_a_period() {
    let device = Device::flex();
    let text: String = "the cat sat on a mat. ".repeat(60);
    let corpus = Corpus::from_text(&text).unwrap();
    let v = corpus.vocab.len();
    let untrained = Lstm::new(v, 32, v, &device);
    let b = bpc(&untrained, &corpus.test, v, 2, &device);
    let uniform = (v as f64).log2();
    assert!(
        (b - uniform).abs() < 0.3,
        "untrained {b:.3} bpc vs uniform {uniform:.3}"
    );
    for method in [RnnMethod::Bptt, RnnMethod::Dni] {
        let d = CharLmConfig::default();
        let rnn = RnnConfig {
            method,
            hidden: 32,
            batch: 4,
            updates: 300,
            ..d.rnn.clone()
        };
        let cfg = CharLmConfig {
            rnn,
            eval_every: 300,
            ..d
        };
        let s = train_charlm(&cfg, &corpus, &device, None, false).unwrap();
        let test = s.test_bpc;
        assert!(
            test < 0.5 * uniform,
            "{method:?}: {test:.3} bpc after training vs {uniform:.3} uniform"
        );
    }
}

#[test]
fn a_resumed_run_reaches_the_same_model() {
    let device = Device::flex();
    let corpus =
        Corpus::from_text(&"to be or not to be, that is the question. ".repeat(20)).unwrap();
    let cfg = |updates| {
        let d = CharLmConfig::default();
        let rnn = RnnConfig {
            hidden: 16,
            batch: 4,
            updates,
            ..d.rnn
        };
        CharLmConfig {
            rnn,
            eval_every: 20,
            eval_chars: 200,
            ..CharLmConfig::default()
        }
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let whole = train_charlm(&cfg(60), &corpus, &device, Some(a.path()), false).unwrap();
    train_charlm(&cfg(20), &corpus, &device, Some(b.path()), false).unwrap();
    let resumed = train_charlm(&cfg(60), &corpus, &device, Some(b.path()), true).unwrap();
    assert_eq!(
        resumed.resumed_from, 20,
        "the second run continued the first"
    );
    let bits = |s: &dlp_dni::charlm::CharLmSummary| s.test_bpc;
    assert!(
        (bits(&whole) - bits(&resumed)).abs() < 1e-5,
        "{} vs {}",
        bits(&whole),
        bits(&resumed)
    );
    assert_eq!(whole.curve.len(), resumed.curve.len());
}
