//! `dlp kg import|export|query|stats|add|check|retract|complete|serve`: the knowledge graph in an
//! Oxigraph store.

use super::common::{load_dataset, open};
use crate::{Common, emit};
use dlp_core::Error;
use dlp_kg::embed::Kge;
use dlp_kg::eval::LinkScorer;
use dlp_kg::rules::RuleSet;
use dlp_kg::store::complete::CompleteOptions;
use dlp_kg::store::graph::Graph;
use dlp_kg::store::import::ImportOptions;
use dlp_kg::store::query::OutputFormat;
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct StoreArg {
    /// Store directory (RocksDB), or a SPARQL 1.1 endpoint URL (e.g. `http://localhost:7878/sparql`).
    #[arg(long)]
    store: PathBuf,
}

#[derive(clap::Args)]
pub struct ImportArgs {
    /// Store directory (RocksDB; created if missing), or a SPARQL 1.1 endpoint URL (e.g.
    /// `http://localhost:7878/sparql`).
    #[arg(long)]
    store: PathBuf,
    /// Skip bad lines, reporting each with its line number, instead of refusing the file.
    #[arg(long)]
    lenient: bool,
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// Store directory (RocksDB), or a SPARQL 1.1 endpoint URL (e.g. `http://localhost:7878/sparql`).
    #[arg(long)]
    store: PathBuf,
    /// Write train.txt, valid.txt and test.txt into FILE (a folder) instead.
    #[arg(long)]
    split: bool,
    file: PathBuf,
}

#[derive(clap::Args)]
pub struct QueryArgs {
    /// Store directory (RocksDB), or a SPARQL 1.1 endpoint URL (e.g. `http://localhost:7878/sparql`).
    #[arg(long)]
    store: PathBuf,
    /// table, json (SPARQL JSON results) or csv (SPARQL CSV results).
    #[arg(long, default_value = "table")]
    format: String,
    query: String,
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Store directory (RocksDB), made by `dlp kg import`, `add` or `merge`.
    #[arg(long)]
    store: PathBuf,
    /// Address to listen on (loopback by default; 0.0.0.0:PORT to serve the network).
    #[arg(long, default_value = "127.0.0.1:7878")]
    bind: String,
    /// Queries running longer are cancelled with a 503 response.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
    /// Most solutions or triples one response carries.
    #[arg(long, default_value_t = 10_000)]
    limit: usize,
    /// Accept SPARQL updates (refused with 403 otherwise).
    #[arg(long)]
    allow_writes: bool,
    /// Queries evaluating at once; more get 503 with Retry-After (a cheap query never queues
    /// behind expensive ones).
    #[arg(long, default_value_t = 32)]
    max_running: usize,
    /// Largest request body in bytes (413 past it); URLs and header blocks stop at 64 KiB
    /// (414, 431).
    #[arg(long, default_value_t = 16 << 20)]
    max_body_bytes: usize,
    /// Send `Access-Control-Allow-Origin: *`, so that pages from any site may query the endpoint.
    #[arg(long)]
    cors: bool,
}

pub fn serve(a: &ServeArgs, _common: &Common) -> dlp_core::Result<()> {
    use dlp_kg::store::serve::{Endpoint, ServeOptions};
    // A writable endpoint creates its store, as import does; a read-only one needs a store.
    let kg = open(&a.store, a.allow_writes)?;
    let endpoint = Endpoint::bind(
        kg,
        ServeOptions {
            bind: a.bind.clone(),
            timeout: std::time::Duration::from_millis(a.timeout_ms),
            limit: a.limit,
            allow_writes: a.allow_writes,
            max_running: a.max_running.max(1),
            max_body: a.max_body_bytes,
            cors: a.cors,
            ..ServeOptions::default()
        },
    )?;
    let addr = endpoint.addr();
    if !addr.ip().is_loopback() {
        eprintln!(
            "kg serve: warning: listening on {addr}, which other machines on the network can reach{}",
            if a.allow_writes {
                ", with writes allowed"
            } else {
                ""
            }
        );
    }
    let mode = if a.allow_writes {
        "read-write"
    } else {
        "read-only"
    };
    eprintln!(
        "kg serve: SPARQL endpoint http://{addr}/sparql, page http://{addr}/ ({mode}; timeout {} ms, limit {})",
        a.timeout_ms, a.limit
    );
    endpoint.run();
    Ok(())
}

#[derive(clap::Args)]
pub struct RetractArgs {
    /// Store directory (RocksDB), or a SPARQL 1.1 endpoint URL (e.g. `http://localhost:7878/sparql`).
    #[arg(long)]
    store: PathBuf,
    source: String,
}

#[derive(clap::Args)]
pub struct CompleteArgs {
    /// Store directory (RocksDB), made by `dlp kg import`, `add` or `merge`.
    #[arg(long)]
    store: PathBuf,
    /// The dataset the model or rules were made from (its names become the store's IRIs).
    #[arg(long)]
    dataset: String,
    /// An `embed train` run directory (uses its model.safetensors).
    #[arg(long, conflicts_with = "rules")]
    run: Option<PathBuf>,
    /// A rules.tsv of `rules mine`.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Facts per (head, relation) query, best first.
    #[arg(long, default_value_t = 1)]
    top_k: usize,
    /// Keep only predictions scoring at least this.
    #[arg(long)]
    min_score: Option<f32>,
    /// Only this relation (default: every relation).
    #[arg(long)]
    relation: Option<String>,
}

#[derive(clap::Args)]
pub struct AddArgs {
    /// Store directory (RocksDB; created if missing), or a SPARQL 1.1 endpoint URL (e.g.
    /// `http://localhost:7878/sparql`).
    #[arg(long)]
    store: PathBuf,
    /// Who vouches for the facts: they go to the source graph `curator:NAME`.
    #[arg(long)]
    curator: String,
    /// Refuse the whole batch if any fact breaks the schema.
    #[arg(long)]
    strict: bool,
    /// Curation files (.csv with subject,predicate,object,kind, or .toml [[fact]] tables).
    #[arg(long)]
    file: Vec<PathBuf>,
    /// One fact: SUBJECT PREDICATE OBJECT [KIND] (KIND: iri, string, @lang or a datatype).
    fact: Vec<String>,
}

#[derive(clap::Args)]
pub struct CheckArgs {
    /// Store directory (RocksDB), or a SPARQL 1.1 endpoint URL (e.g. `http://localhost:7878/sparql`).
    #[arg(long)]
    store: PathBuf,
    /// Print at most this many violations (all are counted).
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

pub fn import(a: &ImportArgs, common: &Common) -> dlp_core::Result<()> {
    let store = Graph::open(&a.store, true)?;
    let opts = ImportOptions {
        lenient: a.lenient,
        threads: common.threads.unwrap_or(0),
    };
    let mut reports = Vec::new();
    for f in &a.files {
        let r = store.write(false, |kg| kg.import(f, &opts))?;
        for (line, msg) in &r.skipped {
            eprintln!("skipped {}:{line}: {msg}", f.display());
        }
        eprintln!(
            "{}: {} quads into {} in {:.2} s ({:.0} quads/s), {} line(s) skipped",
            f.display(),
            r.quads,
            r.graph,
            r.seconds,
            r.quads_per_second,
            r.skipped.len()
        );
        reports.push(r);
    }
    let total: usize = reports.iter().map(|r| r.quads).sum();
    let skipped: usize = reports.iter().map(|r| r.skipped.len()).sum();
    let held = store.len()?;
    let summary =
        json!({"files": reports, "quads": total, "skipped": skipped, "store_quads": held});
    let held = held
        .map(|n| format!("; the store holds {n}"))
        .unwrap_or_default();
    emit(
        common,
        &summary,
        &format!("imported {total} quads, skipped {skipped} line(s){held}"),
    );
    Ok(())
}

pub fn export(a: &ExportArgs, common: &Common) -> dlp_core::Result<()> {
    let kg = Graph::open(&a.store, false)?.readable()?;
    let summary = if a.split {
        let [tr, va, te] = kg.export_link_prediction(&a.file)?;
        json!({"dir": a.file, "train": tr, "valid": va, "test": te})
    } else {
        json!({"file": a.file, "statements": kg.export(&a.file)?})
    };
    emit(common, &summary, &summary.to_string());
    Ok(())
}

pub fn query(a: &QueryArgs, _common: &Common) -> dlp_core::Result<()> {
    let format = OutputFormat::parse(&a.format)?;
    let mut out = std::io::stdout().lock();
    Graph::open(&a.store, false)?.query(&a.query, format, &mut out)
}

pub fn stats(a: &StoreArg, common: &Common) -> dlp_core::Result<()> {
    let s = Graph::open(&a.store, false)?.readable()?.stats()?;
    let summary = serde_json::to_value(&s).expect("stats serialise");
    let mut text = format!(
        "{} quads: {} instances, {} concepts, {} relations, {} value properties\n",
        s.quads, s.instances, s.concepts, s.relations, s.values
    );
    for (source, n) in &s.sources {
        text += &format!("  {source}: {n}\n");
    }
    emit(common, &summary, text.trim_end());
    Ok(())
}

pub fn retract(a: &RetractArgs, common: &Common) -> dlp_core::Result<()> {
    let n = Graph::open(&a.store, false)?.retract(&a.source)?;
    if n == 0 {
        return Err(Error::Usage(format!(
            "source `{}` holds no facts (see dlp kg stats)",
            a.source
        )));
    }
    emit(
        common,
        &json!({"source": a.source, "removed": n}),
        &format!("removed {n} facts of {}", a.source),
    );
    Ok(())
}

pub fn complete(a: &CompleteArgs, common: &Common) -> dlp_core::Result<()> {
    let (name, data) = load_dataset(&a.dataset, common)?;
    let (scorer, model, run): (Box<dyn LinkScorer>, String, String) = match (&a.run, &a.rules) {
        (Some(run), None) => {
            let m = Kge::load(&run.join("model.safetensors"))?;
            if m.num_entities != data.entities.len() || m.num_relations != data.relations.len() {
                return Err(Error::Usage(format!(
                    "{}: the model does not fit dataset {name}",
                    run.display()
                )));
            }
            let model = m.kind.name().to_string();
            (Box::new(m), model, run.display().to_string())
        }
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            let set = RuleSet::from_tsv(
                path,
                &text,
                &data.train,
                data.entities.len(),
                &data.relations,
            )?;
            (
                Box::new(set),
                "rules".to_string(),
                path.display().to_string(),
            )
        }
        _ => {
            return Err(Error::Usage(
                "give --run DIR (embeddings) or --rules FILE".into(),
            ));
        }
    };
    let relation = match &a.relation {
        Some(r) => Some(
            data.relations
                .id(r)
                .ok_or_else(|| Error::Usage(format!("--relation: `{r}` is not in {name}")))?,
        ),
        None => None,
    };
    let opts = CompleteOptions {
        top_k: a.top_k,
        min_score: a.min_score,
        relation,
    };
    let c = open(&a.store, false)?.complete(scorer.as_ref(), &data, &opts, &run, &model)?;
    let summary = json!({"source": c.source, "facts": c.facts, "queries": c.queries,
        "model": model, "schema_relations": c.schema_relations});
    let text = format!(
        "wrote {} predicted facts into source {} ({} relations filtered by their declared domain or range)",
        c.facts, c.source, c.schema_relations
    );
    emit(common, &summary, &text);
    Ok(())
}

pub fn add(a: &AddArgs, common: &Common) -> dlp_core::Result<()> {
    use dlp_kg::store::curate::{Fact, read_curation};
    let mut triples = Vec::new();
    for f in &a.file {
        triples.extend(read_curation(f)?);
    }
    match a.fact.len() {
        0 => {}
        3 | 4 => {
            let fact = Fact {
                subject: a.fact[0].clone(),
                predicate: a.fact[1].clone(),
                object: a.fact[2].clone(),
                kind: a.fact.get(3).cloned().unwrap_or_default(),
            };
            triples.push(fact.triple().map_err(Error::Usage)?);
        }
        n => {
            return Err(Error::Usage(format!(
                "a fact is SUBJECT PREDICATE OBJECT [KIND]; got {n} words"
            )));
        }
    }
    if triples.is_empty() {
        return Err(Error::Usage("nothing to add: give --file or a fact".into()));
    }
    let store = Graph::open(&a.store, true)?;
    match store.write(a.strict, |kg| kg.add(&triples, &a.curator, a.strict))? {
        Ok(n) => {
            let summary = json!({"added": n, "source": format!("curator:{}", a.curator), "store_quads": store.len()?});
            emit(
                common,
                &summary,
                &format!("added {n} fact(s) as curator:{}", a.curator),
            );
            Ok(())
        }
        Err(violations) => {
            for v in &violations {
                eprintln!("{:?}: {} ({})", v.rule, v.triple, v.message);
            }
            Err(Error::Usage(format!(
                "--strict: {} fact(s) break the schema; nothing was added",
                violations.len()
            )))
        }
    }
}

pub fn check(a: &CheckArgs, common: &Common) -> dlp_core::Result<()> {
    let kg = Graph::open(&a.store, false)?.readable()?;
    let violations = kg.check()?;
    let mut by_rule = std::collections::BTreeMap::new();
    for v in &violations {
        *by_rule.entry(format!("{:?}", v.rule)).or_insert(0usize) += 1;
    }
    if common.json {
        let shown: Vec<_> = violations.iter().take(a.limit).collect();
        println!(
            "{}",
            json!({"violations": violations.len(), "by_rule": by_rule, "list": shown})
        );
    } else {
        for v in violations.iter().take(a.limit) {
            println!("{:?}\t{}\t{}\t{}", v.rule, v.source, v.triple, v.message);
        }
        eprintln!("{} violation(s): {by_rule:?}", violations.len());
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Error::format(
            &a.store,
            None,
            format!("{} triple(s) break the schema", violations.len()),
        ))
    }
}
