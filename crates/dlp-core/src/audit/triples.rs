//! Audit of a link-prediction dataset: duplicates, train/test leakage, inverse-relation leakage
//! (the flaw that retired FB15k and WN18), near-inverse and near-duplicate relations, the score of
//! the trivial inverse-rule baseline, and coverage (relation frequencies, degree skew, unseen
//! test entities).
//!
//! - **Inverse leak**: a test triple (h, r, t) whose reverse (t, r', h) is in training for some
//!   r' (r' = r: a symmetric counterpart).
//! - **Near-inverse pair** (r1, r2): at least `0.8` of r1's pairs (h, t) have (t, h) in r2 and
//!   at least `0.8` of r2's pairs the reverse in r1 (Toutanova & Chen 2015 used 0.97 on both
//!   sides); **near-duplicate** pairs the same without reversal.
//! - **Inverse-rule baseline** (Dettmers et al. 2018): for each relation r, the training relation
//!   r* whose reverse covers most of r's training pairs, with that coverage as confidence; the
//!   query (h, r, ?) scores every x with (x, r*, h) in training by the confidence, others 0.
//!   Filtered MRR over heads and tails, ties by the realistic rank (the mean of the optimistic
//!   and the pessimistic rank).

use super::summary::{CrossSplit, Degree, DomainCount, RelationCount, RelationPair, TripleAudit};
use crate::data::triples::{LinkPrediction, Triple};
use std::collections::{HashMap, HashSet};

/// Share of a relation's pairs that another covers for a pair to be reported.
pub const PAIR_THRESHOLD: f64 = 0.8;

/// Audits `kg`; the result is the triples part of the report.
pub fn audit(kg: &LinkPrediction) -> TripleAudit {
    let train: HashSet<Triple> = kg.train.iter().copied().collect();
    let within = |split: &[Triple]| split.len() - split.iter().collect::<HashSet<_>>().len();
    let in_train = |split: &[Triple]| split.iter().filter(|t| train.contains(*t)).count();
    let valid_set: HashSet<Triple> = kg.valid.iter().copied().collect();
    let test_in_valid = kg.test.iter().filter(|t| valid_set.contains(*t)).count();
    let cross = in_train(&kg.valid) + in_train(&kg.test) + test_in_valid;

    let reversed: HashSet<(u32, u32)> = kg.train.iter().map(|t| (t[2], t[0])).collect();
    let leaks = inverse_leaks(kg, &reversed);
    let pairs = relation_pairs(&kg.train, kg.relations.len());
    let (mrr, hits1) = inverse_rule_scores(kg);

    let mut degree = vec![0usize; kg.entities.len()];
    for t in &kg.train {
        degree[t[0] as usize] += 1;
        degree[t[2] as usize] += 1;
    }
    let seen: Vec<bool> = degree.iter().map(|&d| d > 0).collect();
    let unseen_entities: HashSet<u32> = kg
        .test
        .iter()
        .flat_map(|t| [t[0], t[2]])
        .filter(|&e| !seen[e as usize])
        .collect();
    let mut rel_counts = vec![0usize; kg.relations.len()];
    for t in &kg.train {
        rel_counts[t[1] as usize] += 1;
    }
    let mut top: Vec<(usize, usize)> = rel_counts.iter().copied().enumerate().collect();
    top.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
    // Domains: the first segment of Freebase-style relation paths (/people/person/...), else
    // the relation itself.
    let mut domains: HashMap<String, usize> = HashMap::new();
    for (r, n) in rel_counts.iter().enumerate() {
        let name = kg.relations.name(r as u32);
        let domain = name
            .strip_prefix('/')
            .and_then(|p| p.split('/').next())
            .unwrap_or(name);
        *domains.entry(domain.to_string()).or_default() += n;
    }
    let mut domains: Vec<(String, usize)> = domains.into_iter().collect();
    domains.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let named = |pairs: &[Pair]| -> Vec<RelationPair> {
        pairs
            .iter()
            .map(|&(a, b, x, y)| RelationPair {
                r1: kg.relations.name(a).to_string(),
                r2: kg.relations.name(b).to_string(),
                r1_covered: x,
                r2_covered: y,
            })
            .collect()
    };
    TripleAudit {
        kind: "link-prediction",
        dataset: String::new(),
        domains: domains.len(),
        top_domains: domains
            .iter()
            .take(10)
            .map(|(d, n)| DomainCount {
                domain: d.clone(),
                train_triples: *n,
            })
            .collect(),
        train: kg.train.len(),
        valid: kg.valid.len(),
        test: kg.test.len(),
        entities: kg.entities.len(),
        relations: kg.relations.len(),
        within_split_duplicates: within(&kg.train) + within(&kg.valid) + within(&kg.test),
        cross_split_duplicates: cross,
        cross_split_detail: CrossSplit {
            valid_in_train: in_train(&kg.valid),
            test_in_train: in_train(&kg.test),
            test_in_valid,
        },
        inverse_leak_fraction: leaks.len() as f64 / kg.test.len().max(1) as f64,
        inverse_leaks: leaks.len(),
        inverse_rule_mrr: mrr,
        inverse_rule_hits_at_1: hits1,
        near_inverse_relation_pairs: named(&pairs.0),
        near_duplicate_relation_pairs: named(&pairs.1),
        near_duplicates: pairs.1.len(),
        top_relations: top
            .iter()
            .take(10)
            .map(|&(r, n)| RelationCount {
                relation: kg.relations.name(r as u32).to_string(),
                train_triples: n,
            })
            .collect(),
        degree: Degree {
            max: degree.iter().max().copied(),
            mean: mean(&degree),
            gini: gini(&degree),
        },
        test_entities_unseen_in_train: unseen_entities.len(),
        test_triples_with_unseen_entity: kg
            .test
            .iter()
            .filter(|t| !seen[t[0] as usize] || !seen[t[2] as usize])
            .count(),
        dlp_version: crate::run::VERSION,
    }
}

/// Test triples whose reverse is in training (any relation).
pub fn inverse_leaks(kg: &LinkPrediction, reversed_train: &HashSet<(u32, u32)>) -> Vec<Triple> {
    kg.test
        .iter()
        .filter(|t| reversed_train.contains(&(t[0], t[2])))
        .copied()
        .collect()
}

type Pair = (u32, u32, f64, f64);

/// (near-inverse pairs, near-duplicate pairs) of relations in `train`.
pub fn relation_pairs(train: &[Triple], relations: usize) -> (Vec<Pair>, Vec<Pair>) {
    let mut by_rel: Vec<HashSet<(u32, u32)>> = vec![HashSet::new(); relations];
    for t in train {
        by_rel[t[1] as usize].insert((t[0], t[2]));
    }
    // Relations that share at least one entity pair, found through an index of pairs.
    let mut pair_index: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
    for (r, set) in by_rel.iter().enumerate() {
        for &p in set {
            pair_index.entry(p).or_default().push(r as u32);
        }
    }
    let (mut inverse, mut duplicate) = (Vec::new(), Vec::new());
    let mut count_inv: HashMap<(u32, u32), usize> = HashMap::new();
    let mut count_dup: HashMap<(u32, u32), usize> = HashMap::new();
    for (r1, set) in by_rel.iter().enumerate() {
        for &(h, t) in set {
            if let Some(rs) = pair_index.get(&(t, h)) {
                for &r2 in rs {
                    *count_inv.entry((r1 as u32, r2)).or_default() += 1;
                }
            }
            for &r2 in &pair_index[&(h, t)] {
                if r2 as usize > r1 {
                    *count_dup.entry((r1 as u32, r2)).or_default() += 1;
                }
            }
        }
    }
    let share = |n: usize, r: u32| n as f64 / by_rel[r as usize].len().max(1) as f64;
    for (&(a, b), &n) in &count_inv {
        // Count each unordered pair once (a ≤ b); (a, a) is a symmetric relation.
        if a <= b && share(n, a) >= PAIR_THRESHOLD && share(n, b) >= PAIR_THRESHOLD {
            inverse.push((a, b, share(n, a), share(n, b)));
        }
    }
    for (&(a, b), &n) in &count_dup {
        if share(n, a) >= PAIR_THRESHOLD && share(n, b) >= PAIR_THRESHOLD {
            duplicate.push((a, b, share(n, a), share(n, b)));
        }
    }
    inverse.sort_by_key(|p| (p.0, p.1));
    duplicate.sort_by_key(|p| (p.0, p.1));
    (inverse, duplicate)
}

/// Filtered MRR and Hits@1 of the inverse-rule baseline on the test set (heads and tails).
pub fn inverse_rule_scores(kg: &LinkPrediction) -> (f64, f64) {
    let n_rel = kg.relations.len();
    let n_ent = kg.entities.len();
    // (r', tail) -> heads, from training, to enumerate {x : (x, r', h)}.
    let mut heads_of: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
    let mut tails_of: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
    let mut by_pair: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
    for t in &kg.train {
        heads_of.entry((t[1], t[2])).or_default().push(t[0]);
        tails_of.entry((t[1], t[0])).or_default().push(t[2]);
        by_pair.entry((t[0], t[2])).or_default().push(t[1]);
    }
    // Best inverse relation of each relation and its confidence.
    let mut rule: Vec<Option<(u32, f64)>> = vec![None; n_rel];
    let mut totals = vec![0usize; n_rel];
    let mut hits: Vec<HashMap<u32, usize>> = vec![HashMap::new(); n_rel];
    for t in &kg.train {
        totals[t[1] as usize] += 1;
        if let Some(rs) = by_pair.get(&(t[2], t[0])) {
            for &r2 in rs {
                *hits[t[1] as usize].entry(r2).or_default() += 1;
            }
        }
    }
    for r in 0..n_rel {
        if let Some((&r2, &n)) = hits[r]
            .iter()
            .max_by_key(|(r2, n)| (**n, std::cmp::Reverse(**r2)))
        {
            rule[r] = Some((r2, n as f64 / totals[r] as f64));
        }
    }
    // Known true answers for filtering.
    let all: Vec<&Triple> = kg.train.iter().chain(&kg.valid).chain(&kg.test).collect();
    let mut known_tails: HashMap<(u32, u32), HashSet<u32>> = HashMap::new();
    let mut known_heads: HashMap<(u32, u32), HashSet<u32>> = HashMap::new();
    for t in &all {
        known_tails.entry((t[0], t[1])).or_default().insert(t[2]);
        known_heads.entry((t[2], t[1])).or_default().insert(t[0]);
    }
    let empty = Vec::new();
    let (mut rr, mut h1, mut n) = (0.0, 0.0, 0usize);
    for t in &kg.test {
        let (h, r, tl) = (t[0], t[1], t[2]);
        // Tail query (h, r, ?): candidates x with (x, r*, h); head query (?, r, t): x with (t, r*, x).
        for (answer, candidates, known) in [
            (
                tl,
                rule[r as usize].map_or(&empty, |(r2, _)| heads_of.get(&(r2, h)).unwrap_or(&empty)),
                &known_tails[&(h, r)],
            ),
            (
                h,
                rule[r as usize]
                    .map_or(&empty, |(r2, _)| tails_of.get(&(r2, tl)).unwrap_or(&empty)),
                &known_heads[&(tl, r)],
            ),
        ] {
            let conf = rule[r as usize].map_or(0.0, |(_, c)| c);
            // The filtered universe U: every entity but the other known answers.
            let universe = n_ent - (known.len() - 1);
            // Candidates in U (score `conf`); all others score 0.
            let scored: HashSet<u32> = candidates
                .iter()
                .copied()
                .filter(|x| *x == answer || !known.contains(x))
                .collect();
            let (greater, equal) = if conf > 0.0 && scored.contains(&answer) {
                (0, scored.len() - 1)
            } else if conf > 0.0 {
                (scored.len(), universe - scored.len() - 1)
            } else {
                (0, universe - 1)
            };
            let rank = greater as f64 + 1.0 + equal as f64 / 2.0;
            rr += 1.0 / rank;
            h1 += f64::from(rank <= 1.0);
            n += 1;
        }
    }
    (rr / n.max(1) as f64, h1 / n.max(1) as f64)
}

fn mean(x: &[usize]) -> f64 {
    x.iter().sum::<usize>() as f64 / x.len().max(1) as f64
}

/// Gini coefficient of non-negative counts (0: all equal; near 1: concentrated).
pub fn gini(x: &[usize]) -> f64 {
    let mut v: Vec<f64> = x.iter().map(|&a| a as f64).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    let total: f64 = v.iter().sum();
    if total == 0.0 {
        return 0.0;
    }
    let weighted: f64 = v
        .iter()
        .enumerate()
        .map(|(i, a)| (i as f64 + 1.0) * a)
        .sum();
    (2.0 * weighted) / (n * total) - (n + 1.0) / n
}
