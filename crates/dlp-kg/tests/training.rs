//! Training: every model learns a generated graph, the defaults learn UMLS, a resumed run
//! equals an uninterrupted one, and a diverging run stops with an error.

use dlp_core::data::triples::{LinkPrediction, Triple, Vocab};
use dlp_core::rng::Rng;
use dlp_core::run::RunDir;
use dlp_core::testing::{shared_data, skip};
use dlp_kg::embed::Kge;
use dlp_kg::embed::loss::LossKind;
use dlp_kg::embed::optim::OptimizerKind;
use dlp_kg::embed::train::{EmbedConfig, Regularizer, Training, train};
use dlp_kg::eval::{EvalOptions, evaluate};
use dlp_kg::graph::Answers;

/// 40 entities, 4 relations, each a random function x → f_r(x); every fact in train, and
/// the evaluation asks for the training facts back (memorisation).
fn generated() -> LinkPrediction {
    let mut rng = Rng::new(11);
    let n = 40;
    let mut kg = LinkPrediction::default();
    for e in 0..n {
        kg.entities.intern(&format!("e{e}"));
    }
    let mut rels = Vocab::default();
    for r in 0..4u32 {
        rels.intern(&format!("r{r}"));
        let perm = rng.permutation(n);
        for (x, &y) in perm.iter().enumerate() {
            kg.train.push([x as u32, r, y as u32]);
        }
    }
    kg.relations = rels;
    kg.valid = kg.train[..20].to_vec();
    kg.test = kg.train.clone();
    kg
}

fn ns_config(model: &str, loss: LossKind) -> EmbedConfig {
    EmbedConfig {
        model: model.into(),
        dim: 32,
        training: Training::NegativeSampling,
        loss,
        negatives: 16,
        margin: if loss == LossKind::Nssa { 6.0 } else { 1.0 },
        reciprocal: false,
        regularizer: Regularizer::None,
        optimizer: OptimizerKind::Adam,
        lr: 0.02,
        batch_size: 32,
        epochs: 60,
        eval_every: 0,
        ..EmbedConfig::default()
    }
}

fn untrained_mrr(config: &EmbedConfig, kg: &LinkPrediction) -> f64 {
    let model = Kge::new(
        config.kind().unwrap(),
        config.dim,
        kg.entities.len(),
        kg.relations.len(),
        config.reciprocal,
        0,
    );
    let filter = Answers::new([&kg.train[..]]);
    evaluate(&model, &kg.test, &filter, &EvalOptions::default()).mrr
}

#[test]
fn every_model_learns_a_generated_graph() {
    let kg = generated();
    // Random functions are beyond a translation (TransE) to fit exactly, so the bar is relative:
    // well above the untrained model, which a wrong gradient sign would not reach.
    let cases = [
        ns_config("transe", LossKind::Margin),
        EmbedConfig {
            margin: 0.5,
            epochs: 120,
            ..ns_config("transe-l2", LossKind::Margin)
        },
        ns_config("distmult", LossKind::Softplus),
        ns_config("complex", LossKind::Softplus),
        ns_config("rotate", LossKind::Nssa),
        EmbedConfig {
            dim: 32,
            epochs: 30,
            eval_every: 0,
            ..EmbedConfig::default()
        },
        EmbedConfig {
            dim: 32,
            epochs: 30,
            eval_every: 0,
            training: Training::KvsAll,
            loss: LossKind::Bce,
            ..EmbedConfig::default()
        },
        EmbedConfig {
            model: "rotate".into(),
            dim: 16,
            epochs: 30,
            eval_every: 0,
            regularizer: Regularizer::None,
            ..EmbedConfig::default()
        },
    ];
    for config in cases {
        let before = untrained_mrr(&config, &kg);
        let out = train(&config, &kg, None, false).unwrap();
        let tag = format!("{} {:?} {:?}", config.model, config.training, config.loss);
        eprintln!(
            "{tag}: MRR {before:.3} untrained, {:.3} trained",
            out.test.mrr
        );
        assert!(
            out.test.mrr > 2.5 * before,
            "{tag}: MRR {} (untrained {before})",
            out.test.mrr
        );
    }
}

#[test]
fn defaults_learn_shared_umls() {
    let Some(dir) = shared_data() else {
        return skip(
            "defaults_learn_shared_umls",
            "no shared data folder (set DLP_DATA_DIR)",
        );
    };
    let kg = LinkPrediction::load(&dir.join("umls")).unwrap();
    let config = EmbedConfig {
        epochs: 30,
        ..EmbedConfig::default()
    };
    let out = train(&config, &kg, None, false).unwrap();
    eprintln!(
        "UMLS ComplEx defaults, 30 epochs: test MRR {:.4}",
        out.test.mrr
    );
    assert!(out.test.mrr > 0.9, "UMLS test MRR {}", out.test.mrr);
}

fn tables(m: &Kge) -> (Vec<f32>, Vec<f32>) {
    (m.entities.clone(), m.relations.clone())
}

#[test]
fn the_step_schedule_divides_the_rate_by_ten_after_each_step() {
    let config = EmbedConfig {
        lr: 1.0,
        lr_steps: vec![2, 4],
        ..EmbedConfig::default()
    };
    let rates: Vec<f32> = (0..6).map(|e| config.lr_at(e)).collect();
    let expected = [1.0, 1.0, 0.1, 0.1, 0.01, 0.01];
    for (r, e) in rates.iter().zip(expected) {
        assert!((r - e).abs() < 1e-7, "{rates:?}");
    }
}

#[test]
fn a_resumed_run_equals_an_uninterrupted_one() {
    let kg = generated();
    for base in [
        EmbedConfig {
            lr_steps: vec![3],
            ..ns_config("complex", LossKind::Softplus)
        },
        EmbedConfig {
            dim: 16,
            ..EmbedConfig::default()
        },
    ] {
        let config = EmbedConfig {
            epochs: 4,
            eval_every: 2,
            patience: 10,
            ..base
        };
        let dir = tempfile::tempdir().unwrap();
        let mut run = RunDir::create(dir.path().join("straight"), &config).unwrap();
        let straight = train(&config, &kg, Some(&mut run), false).unwrap();

        let first = EmbedConfig {
            epochs: 2,
            ..config.clone()
        };
        let mut run = RunDir::create(dir.path().join("resumed"), &first).unwrap();
        train(&first, &kg, Some(&mut run), false).unwrap();
        let resumed = train(&config, &kg, Some(&mut run), true).unwrap();
        assert_eq!(resumed.epochs_run, 4);
        assert_eq!(
            tables(&straight.model),
            tables(&resumed.model),
            "{:?}",
            config.training
        );
        assert_eq!(straight.best_valid_mrr, resumed.best_valid_mrr);
        let saved = Kge::load(&run.path("model.safetensors")).unwrap();
        assert_eq!(tables(&saved), tables(&resumed.model));

        let other = EmbedConfig {
            dim: 8,
            ..config.clone()
        };
        let err = train(&other, &kg, Some(&mut run), true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("checkpoint holds") && err.contains("dim"),
            "{err}"
        );
    }
}

#[test]
fn a_diverging_run_stops_with_an_error_instead_of_saving_nan() {
    let kg = generated();
    let config = EmbedConfig {
        lr: 1e30,
        optimizer: OptimizerKind::Adam,
        ..ns_config("distmult", LossKind::Softplus)
    };
    let dir = tempfile::tempdir().unwrap();
    let mut run = RunDir::create(dir.path(), &config).unwrap();
    let err = train(&config, &kg, Some(&mut run), false).unwrap_err();
    assert!(matches!(err, dlp_core::Error::NonFinite(_)), "{err}");
    assert!(!run.path("model.safetensors").exists());
}

#[test]
fn inconsistent_settings_are_refused() {
    let kg = generated();
    for (config, needle) in [
        (
            EmbedConfig {
                model: "transh".into(),
                ..EmbedConfig::default()
            },
            "model `transh`",
        ),
        (
            EmbedConfig {
                loss: LossKind::Margin,
                ..EmbedConfig::default()
            },
            "1vsall trains with loss ce",
        ),
        (
            ns_config("transe", LossKind::Ce),
            "needs training 1vsall or kvsall",
        ),
    ] {
        let err = train(&config, &kg, None, false).unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
    }
    let _: &[Triple] = &kg.train;
}

#[test]
fn entities_seen_only_in_test_are_ranked_not_dropped() {
    let mut kg = generated();
    let new = kg.entities.intern("only-in-test");
    kg.test = vec![[0, 0, new], [new, 1, 3]];
    let config = EmbedConfig {
        dim: 16,
        epochs: 5,
        eval_every: 0,
        ..EmbedConfig::default()
    };
    let out = train(&config, &kg, None, false).unwrap();
    assert_eq!(out.test.count, 4, "both queries of both triples are ranked");
    assert!(out.test.mr >= 1.0 && out.test.mr <= kg.entities.len() as f64);
}
