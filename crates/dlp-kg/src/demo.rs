//! The `dlp demo` stage of the KG system: complete a generated family graph, where some facts
//! are held out, by embeddings (ComplEx with the defaults) and by mined rules, and show the
//! rules found and the top answers to a held-out query; then a small curated graph in the store,
//! checked against its schema and queried by SPARQL.

use crate::embed::train::{EmbedConfig, train};
use crate::eval::{EvalOptions, LinkScorer, evaluate};
use crate::graph::{Answers, Query, Side};
use crate::rules::{MineOptions, RuleSet};
use dlp_core::data::triples::{LinkPrediction, Triple};
use dlp_core::error::Result;
use dlp_core::rng::Rng;
use dlp_core::run::RunDir;
use std::path::Path;

/// Families of three generations: a couple, three children, two grandchildren per child;
/// relations parent_of, child_of, grandparent_of, sibling_of, spouse_of. Every seventh fact
/// (in a seeded order) is held out for test, every thirteenth of the rest for validation.
pub fn family_graph(families: usize, seed: u64) -> LinkPrediction {
    let mut kg = LinkPrediction::default();
    let mut facts: Vec<(String, &str, String)> = Vec::new();
    for f in 0..families {
        let p = |name: String| format!("f{f}/{name}");
        let (a, b) = (p("grandma".into()), p("grandpa".into()));
        facts.push((a.clone(), "spouse_of", b.clone()));
        facts.push((b.clone(), "spouse_of", a.clone()));
        let children: Vec<String> = (0..3).map(|c| p(format!("child{c}"))).collect();
        for (i, c) in children.iter().enumerate() {
            for g in [&a, &b] {
                facts.push((g.clone(), "parent_of", c.clone()));
                facts.push((c.clone(), "child_of", g.clone()));
            }
            for (j, s) in children.iter().enumerate() {
                if i != j {
                    facts.push((c.clone(), "sibling_of", s.clone()));
                }
            }
            for k in 0..2 {
                let kid = p(format!("child{i}/kid{k}"));
                facts.push((c.clone(), "parent_of", kid.clone()));
                facts.push((kid.clone(), "child_of", c.clone()));
                for g in [&a, &b] {
                    facts.push((g.clone(), "grandparent_of", kid.clone()));
                }
            }
        }
    }
    let mut rng = Rng::new(seed);
    rng.shuffle(&mut facts);
    for (i, (h, r, t)) in facts.iter().enumerate() {
        let triple: Triple = [
            kg.entities.intern(h),
            kg.relations.intern(r),
            kg.entities.intern(t),
        ];
        match (i % 7, i % 13) {
            (0, _) => kg.test.push(triple),
            (_, 0) => kg.valid.push(triple),
            _ => kg.train.push(triple),
        }
    }
    kg
}

/// What the knowledge-graph stage reports; also its summary.json.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoSummary {
    pub task: &'static str,
    pub entities: usize,
    pub train_triples: usize,
    pub test_triples: usize,
    pub complex_test_mrr: f64,
    pub complex_test_hits_at_1: f64,
    /// Rules mined.
    pub rules: usize,
    pub rules_test_mrr: f64,
    /// The three most confident rules, as text.
    pub top_rules: Vec<String>,
    /// The first held-out tail query, its answer, and ComplEx's top three answers.
    pub query: String,
    pub held_out_answer: String,
    pub top_answers: Vec<String>,
    pub store: crate::store::demo::StoreDemo,
    pub dlp_version: &'static str,
    pub run_dir: String,
}

/// Runs the stage into `out`; returns its summary.
pub fn run(seed: u64, out: &Path) -> Result<DemoSummary> {
    let kg = family_graph(12, seed);
    let config = EmbedConfig {
        dim: 32,
        epochs: 60,
        eval_every: 10,
        seed,
        ..EmbedConfig::default()
    };
    let mut run = RunDir::create(out, &config)?;
    let embed = train(&config, &kg, Some(&mut run), false)?;
    let rules = RuleSet::mine(
        &kg.train,
        kg.entities.len(),
        kg.relations.len(),
        &MineOptions::default(),
    );
    dlp_core::atomic::write(
        run.path("rules.tsv"),
        rules.to_tsv(&kg.relations).as_bytes(),
    )?;
    let filter = Answers::new([&kg.train[..], &kg.valid[..], &kg.test[..]]);
    let by_rules = evaluate(&rules, &kg.test, &filter, &EvalOptions::default());
    let tsv = rules.to_tsv(&kg.relations);
    let top_rules: Vec<String> = tsv
        .lines()
        .skip(1)
        .take(3)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            format!(
                "{}(X,Y) <= {}  (PCA confidence {})",
                f[4],
                f[5..].join(" . "),
                f[3]
            )
        })
        .collect();
    // The model's top three answers to the first held-out tail query.
    let [h, r, t] = kg.test[0];
    let q = Query {
        anchor: h,
        rel: r,
        side: Side::Tail,
    };
    let mut scores = vec![0.0; kg.entities.len()];
    embed.model.score(&[q], &mut scores);
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let answers = order[..3]
        .iter()
        .map(|&e| kg.entities.name(e as u32).to_string())
        .collect();
    let summary = DemoSummary {
        task: "kg completion of a generated family graph",
        entities: kg.entities.len(),
        train_triples: kg.train.len(),
        test_triples: kg.test.len(),
        complex_test_mrr: embed.test.mrr,
        complex_test_hits_at_1: embed.test.hits_at_1,
        rules: rules.rules.len(),
        rules_test_mrr: by_rules.mrr,
        top_rules,
        query: format!("({}, {}, ?)", kg.entities.name(h), kg.relations.name(r)),
        held_out_answer: kg.entities.name(t).to_string(),
        top_answers: answers,
        store: crate::store::demo::run()?,
        dlp_version: dlp_core::run::VERSION,
        run_dir: run.dir().display().to_string(),
    };
    run.write_summary(&summary)?;
    Ok(summary)
}
