//! The answers of one query, (h, r, ?) or (?, r, t), best first, as PyKEEN's `predict_target`
//! gives them: every entity scored by the model, each flagged with the split that already holds
//! the fact, or (filtered) only the facts not known in any split.
//!
//! ```
//! use dlp_core::data::triples::LinkPrediction;
//! use dlp_kg::embed::{Kge, ModelKind};
//! use dlp_kg::graph::{Query, Side};
//! use dlp_kg::predict::predict_target;
//! let mut data = LinkPrediction::default();
//! let (a, b) = (data.entities.intern("a"), data.entities.intern("b"));
//! let r = data.relations.intern("r");
//! data.train.push([a, r, b]);
//! let model = Kge::new(ModelKind::DistMult, 4, 2, 1, false, 0);
//! let q = Query { anchor: a, rel: r, side: Side::Tail };
//! let p = predict_target(&model, &data, q, 2, false);
//! assert_eq!(p.answers.len(), 2);
//! assert_eq!(p.answers.iter().find(|a| a.entity == "b").unwrap().known, Some("train"));
//! ```

use crate::eval::LinkScorer;
use crate::graph::{Answers, Query, Side};
use dlp_core::data::triples::LinkPrediction;
use serde::Serialize;

/// One candidate answer.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    /// 1 for the best.
    pub rank: usize,
    pub entity: String,
    pub score: f32,
    /// The split that holds the fact (`train`, `valid` or `test`), if any.
    pub known: Option<&'static str>,
}

/// The answers of one query.
#[derive(Debug, Clone, Serialize)]
pub struct Prediction {
    /// The given head, for a tail query; `None` for a head query.
    pub head: Option<String>,
    pub relation: String,
    /// The given tail, for a head query.
    pub tail: Option<String>,
    /// Whether known facts were left out.
    pub filtered: bool,
    pub answers: Vec<Answer>,
}

/// The `top_k` best answers of `query` under `scorer`; with `filtered`, only answers whose fact
/// no split holds. Ties keep the lower entity id first.
pub fn predict_target(
    scorer: &dyn LinkScorer,
    data: &LinkPrediction,
    query: Query,
    top_k: usize,
    filtered: bool,
) -> Prediction {
    let n = data.entities.len();
    let mut scores = vec![0f32; n];
    scorer.score(&[query], &mut scores);
    let splits = [
        ("train", Answers::new([&data.train[..]])),
        ("valid", Answers::new([&data.valid[..]])),
        ("test", Answers::new([&data.test[..]])),
    ];
    let known = |e: u32| {
        splits
            .iter()
            .find(|(_, a)| a.get(query).binary_search(&e).is_ok())
            .map(|(name, _)| *name)
    };
    let mut order: Vec<u32> = (0..n as u32)
        .filter(|&e| !filtered || known(e).is_none())
        .collect();
    order.sort_by(|&x, &y| {
        scores[y as usize]
            .total_cmp(&scores[x as usize])
            .then(x.cmp(&y))
    });
    order.truncate(top_k);
    let name = |e: u32| data.entities.name(e).to_string();
    let anchor = Some(name(query.anchor));
    let (head, tail) = match query.side {
        Side::Tail => (anchor, None),
        Side::Head => (None, anchor),
    };
    Prediction {
        head,
        relation: data.relations.name(query.rel).to_string(),
        tail,
        filtered,
        answers: order
            .iter()
            .enumerate()
            .map(|(i, &e)| Answer {
                rank: i + 1,
                entity: name(e),
                score: scores[e as usize],
                known: known(e),
            })
            .collect(),
    }
}
