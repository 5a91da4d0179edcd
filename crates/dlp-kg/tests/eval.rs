//! The filtered evaluator on a hand-built graph whose scores, ties and filters are known.

use dlp_kg::eval::{EvalOptions, LinkScorer, TieRule, evaluate, rank, ranks};
use dlp_kg::graph::{Answers, Query, Side};

/// Scores from a fixed table: score(e) = table[side][e], the same for every query.
struct Table {
    tail: Vec<f32>,
    head: Vec<f32>,
}

impl LinkScorer for Table {
    fn num_entities(&self) -> usize {
        self.tail.len()
    }
    fn score(&self, queries: &[Query], out: &mut [f32]) {
        let n = self.tail.len();
        for (q, row) in queries.iter().zip(out.chunks_exact_mut(n)) {
            row.copy_from_slice(if q.side == Side::Tail {
                &self.tail
            } else {
                &self.head
            });
        }
    }
}

#[test]
fn ranks_count_higher_scores_split_ties_and_skip_filtered_answers() {
    let s = [0.9, 0.5, 0.5, 0.5, 0.1, 0.7];
    // Answer 1 (0.5): higher 0 and 5; tied with 2 and 3.
    assert_eq!(rank(&s, 1, &[], TieRule::Optimistic), 3.0);
    assert_eq!(rank(&s, 1, &[], TieRule::Pessimistic), 5.0);
    assert_eq!(rank(&s, 1, &[], TieRule::Realistic), 4.0);
    // Filtering entity 0 (higher) and 2 (tied), and the answer itself, which never counts.
    assert_eq!(rank(&s, 1, &[0, 1, 2], TieRule::Realistic), 2.5);
    // A NaN candidate counts as higher; a NaN answer gets the worst unfiltered rank.
    let s = [f32::NAN, 0.5, 0.1];
    assert_eq!(rank(&s, 1, &[], TieRule::Realistic), 2.0);
    assert_eq!(rank(&s, 0, &[2], TieRule::Realistic), 2.0);
}

#[test]
fn metrics_of_a_tiny_graph_match_a_hand_computation() {
    // Entities 0..5, relation 0. Test triples (0,0,1) and (2,0,3); train holds (0,0,4) so 4 is
    // filtered from the tail query of (0,0,1), and valid holds (5,0,3), filtering 5 from the
    // head query of (2,0,3).
    let train = [[0, 0, 4]];
    let valid = [[5, 0, 3]];
    let test = vec![[0, 0, 1], [2, 0, 3]];
    let filter = Answers::new([&train[..], &valid[..], &test[..]]);
    let scorer = Table {
        //          0    1    2    3    4    5
        tail: vec![0.0, 0.8, 0.3, 0.8, 0.9, 0.2],
        head: vec![0.6, 0.1, 0.5, 0.0, 0.4, 0.9],
    };
    // Tail of (0,0,1): 4 is higher but filtered; 3 ties → realistic 1.5.
    // Tail of (2,0,3): 4 higher (not filtered: (2,0,4) unknown); 1 ties → 2.5.
    // Head of (0,0,1): only 5 higher (0.6 > 0.5 of entity 2) → 2.
    // Head of (2,0,3): 5 higher but filtered ((5,0,3) known); 0 higher → 2.
    let r = ranks(
        &scorer,
        &test,
        &filter,
        &EvalOptions {
            chunk: 1,
            ..EvalOptions::default()
        },
    );
    assert_eq!(r, vec![[1.5, 2.0], [2.5, 2.0]]);
    let m = evaluate(&scorer, &test, &filter, &EvalOptions::default());
    let expect = |ranks: &[f64]| ranks.iter().map(|r| 1.0 / r).sum::<f64>() / ranks.len() as f64;
    assert!((m.mrr - expect(&[1.5, 2.0, 2.5, 2.0])).abs() < 1e-12);
    assert!((m.tail.mrr - expect(&[1.5, 2.5])).abs() < 1e-12);
    assert!((m.head.mrr - expect(&[2.0, 2.0])).abs() < 1e-12);
    assert_eq!(m.mr, 2.0);
    assert_eq!((m.hits_at_1, m.hits_at_3, m.hits_at_10), (0.0, 1.0, 1.0));
    assert_eq!(m.count, 4);
    assert_eq!(m.per_relation[0].count, 4);
}

#[test]
fn chunking_does_not_change_ranks() {
    let triples: Vec<[u32; 3]> = (0..7).map(|i| [i % 5, 0, (i * 3 + 1) % 5]).collect();
    let filter = Answers::new([&triples[..]]);
    let scorer = Table {
        tail: vec![0.3, 0.1, 0.3, 0.7, 0.0],
        head: vec![0.2, 0.2, 0.9, 0.1, 0.5],
    };
    let a = ranks(
        &scorer,
        &triples,
        &filter,
        &EvalOptions {
            chunk: 1,
            ..EvalOptions::default()
        },
    );
    let b = ranks(
        &scorer,
        &triples,
        &filter,
        &EvalOptions {
            chunk: 64,
            ..EvalOptions::default()
        },
    );
    assert_eq!(a, b);
}
