//! Rule mining against a brute-force enumeration of every rule, and rules as link predictors.

use dlp_core::data::triples::{LinkPrediction, Triple};
use dlp_core::rng::Rng;
use dlp_core::testing::{shared_data, skip};
use dlp_kg::eval::{EvalOptions, evaluate};
use dlp_kg::graph::Answers;
use dlp_kg::rules::{MineOptions, Rule, RuleSet};
use std::collections::HashSet;

/// Whether the body path holds from x to y, by plain enumeration.
fn body_holds(facts: &HashSet<Triple>, n: u32, body: &[u32], x: u32, y: u32) -> bool {
    let edge = |a: u32, u: u32, v: u32| {
        let r = a / 2;
        if a.is_multiple_of(2) {
            facts.contains(&[u, r, v])
        } else {
            facts.contains(&[v, r, u])
        }
    };
    match body {
        [a] => edge(*a, x, y),
        [a, b] => (0..n).any(|z| edge(*a, x, z) && edge(*b, z, y)),
        _ => unreachable!(),
    }
}

fn brute_force(train: &[Triple], n: u32, nr: u32, opts: &MineOptions) -> Vec<Rule> {
    let facts: HashSet<Triple> = train.iter().copied().collect();
    let mut bodies: Vec<Vec<u32>> = (0..2 * nr).map(|a| vec![a]).collect();
    for a in 0..2 * nr {
        for b in 0..2 * nr {
            bodies.push(vec![a, b]);
        }
    }
    let mut rules = Vec::new();
    for head in 0..nr {
        let size = facts.iter().filter(|f| f[1] == head).count();
        for body in &bodies {
            if body.len() == 1 && body[0] == 2 * head {
                continue;
            }
            let (mut support, mut body_pairs, mut pca) = (0, 0, 0);
            for x in 0..n {
                let has_head = (0..n).any(|y| facts.contains(&[x, head, y]));
                for y in (0..n).filter(|&y| y != x) {
                    if body_holds(&facts, n, body, x, y) {
                        body_pairs += 1;
                        pca += has_head as usize;
                        support += facts.contains(&[x, head, y]) as usize;
                    }
                }
            }
            let (hc, conf) = (
                support as f64 / size.max(1) as f64,
                support as f64 / pca.max(1) as f64,
            );
            if support >= opts.min_support
                && hc >= opts.min_head_coverage
                && conf >= opts.min_pca_confidence
            {
                rules.push(Rule {
                    head,
                    body: body.clone(),
                    support,
                    head_coverage: hc,
                    std_confidence: support as f64 / body_pairs.max(1) as f64,
                    pca_confidence: conf,
                });
            }
        }
    }
    rules
}

#[test]
fn mined_rules_and_their_measures_equal_a_brute_force_enumeration() {
    let mut rng = Rng::new(21);
    let (n, nr) = (9u32, 3u32);
    let mut train: Vec<Triple> = (0..30)
        .map(|_| {
            [
                rng.below(n as usize) as u32,
                rng.below(nr as usize) as u32,
                rng.below(n as usize) as u32,
            ]
        })
        .collect();
    // Plant a rule: r2(x, y) whenever r0(x, z) ∧ r1(z, y) for a few paths.
    train.extend([
        [0, 0, 1],
        [1, 1, 2],
        [0, 2, 2],
        [3, 0, 4],
        [4, 1, 5],
        [3, 2, 5],
    ]);
    train.sort_unstable();
    train.dedup();
    let opts = MineOptions {
        min_support: 1,
        min_head_coverage: 0.0,
        min_pca_confidence: 0.0,
        max_length: 3,
    };
    let mined = RuleSet::mine(&train, n as usize, nr as usize, &opts);
    let key = |r: &Rule| (r.head, r.body.clone());
    let mut got: Vec<&Rule> = mined.rules.iter().collect();
    got.sort_by_key(|r| key(r));
    let mut want = brute_force(&train, n, nr, &opts);
    want.sort_by_key(key);
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!((g.head, &g.body, g.support), (w.head, &w.body, w.support));
        for (a, b) in [
            (g.head_coverage, w.head_coverage),
            (g.std_confidence, w.std_confidence),
            (g.pca_confidence, w.pca_confidence),
        ] {
            assert!((a - b).abs() < 1e-12, "{g:?} vs {w:?}");
        }
    }
    assert!(
        got.iter().any(|r| r.head == 2 && r.body == [0, 2]),
        "the planted rule is found"
    );
}

#[test]
fn rules_predict_a_held_out_inverse_fact_first_and_round_trip_as_tsv() {
    // r1 is the inverse of r0 everywhere; the test fact (7, 1, 6) follows from (6, 0, 7).
    let mut kg = LinkPrediction::default();
    for e in 0..10 {
        kg.entities.intern(&format!("e{e}"));
    }
    kg.relations.intern("r0");
    kg.relations.intern("r1");
    for x in 0..6u32 {
        kg.train.push([x, 0, (x + 1) % 6]);
        kg.train.push([(x + 1) % 6, 1, x]);
    }
    kg.train.push([6, 0, 7]);
    kg.test = vec![[7, 1, 6]];
    let rules = RuleSet::mine(&kg.train, 10, 2, &MineOptions::default());
    let filter = Answers::new([&kg.train[..], &kg.test[..]]);
    let m = evaluate(&rules, &kg.test, &filter, &EvalOptions::default());
    assert_eq!((m.tail.mrr, m.head.mrr), (1.0, 1.0));
    let path = std::path::Path::new("rules.tsv");
    let back = RuleSet::from_tsv(
        path,
        &rules.to_tsv(&kg.relations),
        &kg.train,
        10,
        &kg.relations,
    )
    .unwrap();
    assert_eq!(back.rules.len(), rules.rules.len());
    assert_eq!(back.rules[0].body, rules.rules[0].body);
    let read = |text: &str| {
        RuleSet::from_tsv(path, text, &kg.train, 10, &kg.relations)
            .err()
            .map(|e| e.to_string())
    };
    let header = dlp_kg::rules::HEADER;
    assert_eq!(
        read(&format!("{header}\n1\t1\t1\t1\tr9\tr0\n")).unwrap(),
        "rules.tsv:2: unknown relation `r9`"
    );
    // A file that is not a rules file: its first line is not taken for a header.
    let err = read("1\t1\t1\t1\tr0\tr0\n").unwrap();
    assert!(err.starts_with("rules.tsv:1: expected the header"), "{err}");
}

#[test]
fn rules_mined_on_shared_umls_predict_links() {
    let Some(dir) = shared_data() else {
        return skip(
            "rules_mined_on_shared_umls_predict_links",
            "no shared data folder (set DLP_DATA_DIR)",
        );
    };
    let kg = LinkPrediction::load(&dir.join("umls")).unwrap();
    let rules = RuleSet::mine(
        &kg.train,
        kg.entities.len(),
        kg.relations.len(),
        &MineOptions::default(),
    );
    let filter = Answers::new([&kg.train[..], &kg.valid[..], &kg.test[..]]);
    let m = evaluate(&rules, &kg.test, &filter, &EvalOptions::default());
    eprintln!(
        "UMLS: {} rules, test MRR {:.4}, Hits@10 {:.4}",
        rules.rules.len(),
        m.mrr,
        m.hits_at_10
    );
    assert!(m.mrr > 0.5, "UMLS rule MRR {}", m.mrr);
}
