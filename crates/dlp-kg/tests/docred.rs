//! The official DocRED / Re-DocRED scores (`dlp_kg::extract::docred::score`) against a
//! line-by-line re-implementation of `evaluation.py`'s formulas, on Re-DocRED dev: a copy of the
//! gold labels, a perturbed copy and an empty submission, with Ign F1 against a "training" part.

use dlp_core::testing::{shared_data, skip};
use dlp_kg::extract::docred::{self, Document, Prediction, folds, score, train_facts};
use std::collections::{HashMap, HashSet};

/// `evaluation.py`, transcribed: (precision, recall, F1, Ign F1).
fn official(truth: &[Document], train: &[Document], submission: &[Prediction]) -> [f64; 4] {
    let mut fact_in_train = HashSet::new();
    for data in train {
        for label in &data.labels {
            for n1 in &data.vertex_set[label.h] {
                for n2 in &data.vertex_set[label.t] {
                    fact_in_train.insert((n1.name.clone(), n2.name.clone(), label.r.clone()));
                }
            }
        }
    }
    let mut std = HashSet::new();
    let mut title2vertex_set = HashMap::new();
    for x in truth {
        title2vertex_set.insert(x.title.clone(), &x.vertex_set);
        for label in &x.labels {
            std.insert((x.title.clone(), label.r.clone(), label.h, label.t));
        }
    }
    let tot_relations = std.len() as f64;
    let mut tmp = submission.to_vec();
    tmp.sort_by(|a, b| (&a.title, a.h_idx, a.t_idx, &a.r).cmp(&(&b.title, b.h_idx, b.t_idx, &b.r)));
    let mut submission_answer: Vec<Prediction> = Vec::new();
    for x in tmp {
        if submission_answer.last() != Some(&x) {
            submission_answer.push(x);
        }
    }
    let (mut correct_re, mut correct_in_train_annotated) = (0.0, 0.0);
    for x in &submission_answer {
        let Some(vertex_set) = title2vertex_set.get(&x.title) else {
            continue;
        };
        if std.contains(&(x.title.clone(), x.r.clone(), x.h_idx, x.t_idx)) {
            correct_re += 1.0;
            let mut in_train_annotated = false;
            for n1 in &vertex_set[x.h_idx] {
                for n2 in &vertex_set[x.t_idx] {
                    if fact_in_train.contains(&(n1.name.clone(), n2.name.clone(), x.r.clone())) {
                        in_train_annotated = true;
                    }
                }
            }
            if in_train_annotated {
                correct_in_train_annotated += 1.0;
            }
        }
    }
    if submission_answer.is_empty() {
        return [0.0; 4];
    }
    let n = submission_answer.len() as f64;
    let re_p = correct_re / n;
    let re_r = correct_re / tot_relations;
    let re_f1 = if re_p + re_r == 0.0 {
        0.0
    } else {
        2.0 * re_p * re_r / (re_p + re_r)
    };
    let p_ign = (correct_re - correct_in_train_annotated) / (n - correct_in_train_annotated + 1e-5);
    let f1_ign = if p_ign + re_r == 0.0 {
        0.0
    } else {
        2.0 * p_ign * re_r / (p_ign + re_r)
    };
    [re_p, re_r, re_f1, f1_ign]
}

fn gold(docs: &[Document]) -> Vec<Prediction> {
    docs.iter()
        .flat_map(|d| {
            d.labels.iter().map(|l| Prediction {
                title: d.title.clone(),
                h_idx: l.h,
                t_idx: l.t,
                r: l.r.clone(),
            })
        })
        .collect()
}

#[test]
fn scores_match_the_official_formulas_on_gold_perturbed_and_empty_submissions() {
    let Some(root) = shared_data() else {
        return skip(
            "scores_match_the_official_formulas_on_gold_perturbed_and_empty_submissions",
            "no shared data",
        );
    };
    let docs = docred::read(&root.join("re-docred/dev_revised.json.gz")).unwrap();
    assert_eq!(docs.len(), 500);
    let (train, truth) = docs.split_at(400);
    let facts = train_facts(train);
    let check = |submission: &[Prediction]| {
        let s = score(truth, &facts, submission);
        let want = official(truth, train, submission);
        let got = [s.precision, s.recall, s.f1, s.ign_f1];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?} against {want:?}");
        }
        s
    };
    // The gold labels, each twice: duplicates count once.
    let copy: Vec<Prediction> = gold(truth)
        .into_iter()
        .flat_map(|p| [p.clone(), p])
        .collect();
    let s = check(&copy);
    assert_eq!((s.precision, s.recall, s.f1), (1.0, 1.0, 1.0));
    assert!(s.correct_in_train > 0 && s.ign_f1 < 1.0, "{s:?}");
    // A third dropped, a fifth given another relation, predictions for an unknown document.
    let mut perturbed: Vec<Prediction> = gold(truth)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 0)
        .map(|(i, mut p)| {
            if i % 5 == 0 {
                p.r = "P17".into();
            }
            p
        })
        .collect();
    perturbed.push(Prediction {
        title: "no such document".into(),
        h_idx: 0,
        t_idx: 1,
        r: "P17".into(),
    });
    let s = check(&perturbed);
    assert!(s.precision < 1.0 && s.recall < 0.7 && s.f1 > 0.5, "{s:?}");
    let s = check(&[]);
    assert_eq!(
        (s.precision, s.recall, s.f1, s.ign_f1),
        (0.0, 0.0, 0.0, 0.0)
    );
}

#[test]
fn folds_partition_the_documents_by_seed() {
    let f = folds(103, 5, 7);
    let mut all: Vec<usize> = f.iter().flatten().copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..103).collect::<Vec<_>>());
    assert!(f.iter().all(|x| x.len() == 20 || x.len() == 21));
    assert_eq!(f, folds(103, 5, 7));
    assert_ne!(f, folds(103, 5, 8));
}
