//! `dlp kg align|merge`: entity alignment between the two graphs of a pair, and their merge.

use crate::{Common, emit};
use dlp_core::Error;
use dlp_core::data::pair::AlignmentPair;
use dlp_core::data::{data_dir, registry};
use dlp_kg::align::merge::merge as merge_pair;
use dlp_kg::align::{AlignConfig, Aligner, Link, Method, links};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args)]
pub struct AlignArgs {
    /// A pair folder (GCN-Align layout, e.g. DBP15K) or a registry name (dbp15k-zh_en, dbp15k-fr_en).
    #[arg(long)]
    pair: String,
    /// structure, names or combined.
    #[arg(long, default_value = "structure")]
    method: String,
    /// Propagation rounds; each but the last adds confident pairs as seeds (bootstrapping).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Rank by Sinkhorn-normalised similarity: a soft one-to-one constraint.
    #[arg(long)]
    one_to_one: bool,
    /// Write the links (seeds, bootstrapped and predicted, with confidence) to this TSV file.
    #[arg(long)]
    links: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct MergeArgs {
    #[arg(long)]
    pair: String,
    /// Store directory to merge into (created if missing).
    #[arg(long)]
    store: PathBuf,
    /// Links TSV from `dlp kg align --links`; default: the pair's own gold links.
    #[arg(long)]
    links: Option<PathBuf>,
    /// Predicted links below this confidence are not used.
    #[arg(long, default_value_t = 0.5)]
    min_confidence: f32,
    /// Name of the link graph (`align:RUN`).
    #[arg(long, default_value = "links")]
    run: String,
}

/// Loads a pair by folder or registry name; returns its display name too.
fn load_pair(name: &str, common: &Common) -> dlp_core::Result<(String, AlignmentPair)> {
    let path = Path::new(name);
    if path.is_dir() {
        let label = path.file_name().map(|s| s.to_string_lossy().into_owned());
        return Ok((
            label.unwrap_or_else(|| name.into()),
            AlignmentPair::load(path, common.seed)?,
        ));
    }
    let spec = registry::find(name)
        .filter(|d| d.kind == registry::Kind::Alignment)
        .ok_or_else(|| {
            Error::Usage(format!(
                "--pair: `{name}` is neither an alignment dataset (dbp15k-zh_en, dbp15k-fr_en) nor a folder"
            ))
        })?;
    let dir = data_dir(common.data_dir.as_deref()).join(spec.dir);
    Ok((
        spec.name.to_string(),
        AlignmentPair::load(&dir, common.seed)?,
    ))
}

pub fn align(a: &AlignArgs, common: &Common) -> dlp_core::Result<()> {
    let method: Method = serde_json::from_value(json!(a.method)).map_err(|_| {
        Error::Usage(format!(
            "--method: `{}` is not structure, names or combined",
            a.method
        ))
    })?;
    if a.rounds == 0 {
        return Err(Error::Usage("--rounds: at least 1".into()));
    }
    let start = Instant::now();
    let (name, pair) = load_pair(&a.pair, common)?;
    eprintln!(
        "kg align: {name}: {} + {} entities, {} relations, {} triples; {} seeds, {} test links; method {}",
        pair.n1,
        pair.len() - pair.n1,
        pair.relations.len(),
        pair.triples.len(),
        pair.train.len(),
        pair.test.len(),
        a.method
    );
    let cfg = AlignConfig {
        method,
        rounds: a.rounds,
        one_to_one: a.one_to_one,
        seed: common.seed,
        ..AlignConfig::default()
    };
    let out = Aligner::new(&pair, cfg.clone()).run(a.links.is_some(), |r| {
        eprintln!(
            "round {}: {} seeds, Hits@1 {:.3}, Hits@10 {:.3}, MRR {:.3}, +{} pairs, {:.1} s",
            r.round + 1,
            r.seeds,
            r.metrics.hits_at_1,
            r.metrics.hits_at_10,
            r.metrics.mrr,
            r.added,
            r.seconds
        )
    });
    if let Some(path) = &a.links {
        links::write(path, &out.links, &pair)?;
    }
    let seconds = start.elapsed().as_secs_f64();
    let m = out.metrics;
    let summary = json!({
        "pair": name, "method": a.method, "one_to_one": a.one_to_one,
        "hits_at_1": m.hits_at_1, "hits_at_10": m.hits_at_10, "mrr": m.mrr, "test_links": m.count,
        "seconds": seconds, "threads": rayon::current_num_threads(), "rounds": out.rounds, "config": cfg,
        "links": a.links.as_ref().map(|_| out.links.len()),
    });
    let text = format!(
        "{name} ({}): Hits@1 {:.3}  Hits@10 {:.3}  MRR {:.3} over {} test links, {seconds:.1} s",
        a.method, m.hits_at_1, m.hits_at_10, m.mrr, m.count
    );
    emit(common, &summary, &text);
    Ok(())
}

pub fn merge(a: &MergeArgs, common: &Common) -> dlp_core::Result<()> {
    let (name, pair) = load_pair(&a.pair, common)?;
    let links = match &a.links {
        Some(p) => links::read(p, &pair)?,
        None => pair
            .train
            .iter()
            .chain(&pair.test)
            .map(|&(a, b)| Link {
                a,
                b,
                confidence: 1.0,
                seed: true,
            })
            .collect(),
    };
    let kg = super::common::open(&a.store, true)?;
    let start = Instant::now();
    let report = merge_pair(&kg, &pair, &name, &links, a.min_confidence, &a.run)?;
    let seconds = start.elapsed().as_secs_f64();
    let mut text = format!(
        "merged {name}: {} + {} triples in, {} entities -> {} ({} links used, {} relations matched), \
         {} distinct facts, {} link quads, {} conflicts, {seconds:.1} s",
        report.triples_in[0],
        report.triples_in[1],
        report.entities_before,
        report.entities_after,
        report.links_used,
        report.relations_matched,
        report.distinct_facts,
        report.link_quads,
        report.conflicts.len()
    );
    for c in report.conflicts.iter().take(10) {
        let values: Vec<String> = c.values.iter().map(|(o, s)| format!("{o} ({s})")).collect();
        text += &format!(
            "\nconflict: {} {}: {}",
            c.subject,
            c.relation,
            values.join(", ")
        );
    }
    let mut summary = serde_json::to_value(&report).expect("report serialises");
    summary["seconds"] = json!(seconds);
    summary["pair"] = json!(name);
    emit(common, &summary, &text);
    Ok(())
}
