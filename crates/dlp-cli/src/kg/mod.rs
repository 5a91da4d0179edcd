//! `dlp kg embed train|eval`, `dlp kg rules mine|eval`; the store commands are in `store`,
//! alignment and merge in `align`, extraction and review in `extract`.

mod align;
mod common;
mod extract;
mod store;

use crate::{Common, emit};
use common::load_dataset;
use dlp_core::Error;
use dlp_core::data::triples::LinkPrediction;
use dlp_core::run::{RunDir, default_out};
use dlp_kg::embed::train::{EmbedConfig, train};
use dlp_kg::embed::{Kge, loss::LossKind};
use dlp_kg::eval::{EvalOptions, Metrics, TieRule, evaluate};
use dlp_kg::graph::{Answers, Query, Side};
use dlp_kg::predict::predict_target;
use dlp_kg::rules::{MineOptions, RuleSet};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Knowledge-graph embeddings: train, eval.
    #[command(subcommand)]
    #[command(after_help = "Example:\n  dlp kg embed train --dataset umls --json")]
    Embed(Embed),
    /// AMIE-style Horn rules: mine, eval.
    #[command(subcommand)]
    #[command(after_help = "Example:\n  dlp kg rules mine --dataset umls --out runs/umls-rules")]
    Rules(Rules),
    /// Import RDF (.nt .nq .ttl .trig .rdf) or link-prediction TSV (.txt .tsv), plain or .gz.
    #[command(after_help = "Example:\n  dlp kg import --store runs/kg fb15k-237/train.txt.gz")]
    Import(store::ImportArgs),
    /// Export to .nt, .ttl, .nq or .trig, or (--split) the {train,valid,test}.txt of a dataset.
    #[command(after_help = "Example:\n  dlp kg export --store runs/kg out.ttl")]
    Export(store::ExportArgs),
    /// Run a SPARQL 1.1 query (SELECT, ASK, CONSTRUCT, DESCRIBE). The default graph is the union
    /// of the source graphs; `GRAPH ?g { ... }` gives each fact's source.
    #[command(
        after_help = "Example:\n  dlp kg query --store runs/kg 'SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 10'"
    )]
    Query(store::QueryArgs),
    /// Counts of instances, concepts, relations, values, and facts per source.
    #[command(after_help = "Example:\n  dlp kg stats --store runs/kg")]
    Stats(store::StoreArg),
    /// Add curated facts (one on the command line, or CSV/TOML files) under a curator's name.
    #[command(
        after_help = "Example:\n  dlp kg add --store runs/kg --curator ann --file people.csv --strict"
    )]
    Add(store::AddArgs),
    /// List every triple that breaks the schema (domain, range, datatype, functional,
    /// undeclared terms); exits 1 if there is any.
    #[command(after_help = "Example:\n  dlp kg check --store runs/kg")]
    Check(store::CheckArgs),
    /// Remove every fact of one source (as listed by stats), e.g. `import:train.txt`.
    #[command(after_help = "Example:\n  dlp kg retract --store runs/kg import:train.txt")]
    Retract(store::RetractArgs),
    /// The top-k answers of one query, (h, r, ?) with --head or (?, r, t) with --tail, of a
    /// trained embedding model, with their scores and the split that holds each known fact.
    #[command(
        after_help = "Examples:\n  dlp kg predict --run runs/kg-embed-umls --dataset umls --head acquired_abnormality --relation location_of\n  dlp kg predict --run runs/kg-embed-umls --dataset umls --tail cell --relation part_of --filtered --json"
    )]
    Predict(PredictArgs),
    /// Write a model's or rule set's top predictions into their own source graph.
    #[command(
        after_help = "Example:\n  dlp kg complete --store runs/kg --dataset fb15k-237 --run runs/fb --top-k 3"
    )]
    Complete(store::CompleteArgs),
    /// Candidate facts from text into the review graph `review:RUN` (or --eval on Re-DocRED).
    #[command(after_help = "Example:\n  dlp kg extract --store runs/kg --run wiki docs.tsv")]
    Extract(extract::ExtractArgs),
    /// List the candidates of an extraction run; accept or reject them (by id or confidence).
    #[command(
        after_help = "Example:\n  dlp kg review --store runs/kg --run wiki --accept-above 0.7"
    )]
    Review(extract::ReviewArgs),
    /// Serve the store as a SPARQL 1.1 Protocol endpoint (/sparql) with an HTML page (/). The
    /// default graph is the union of the source graphs; `GRAPH ?g` gives each fact's source.
    #[command(after_help = "Example:\n  dlp kg serve --store runs/kg")]
    Serve(store::ServeArgs),
    /// Align the entities of two graphs from seed links (DBP15K layout); report Hits@1/10, MRR.
    #[command(after_help = "Example:\n  dlp kg align --pair dbp15k-fr_en --method combined --json")]
    Align(align::AlignArgs),
    /// Merge the two graphs of a pair into a store: canonical instances, sources kept, conflicts listed.
    #[command(
        after_help = "Example:\n  dlp kg merge --pair dbp15k-fr_en --links runs/fr-links.tsv --store runs/merged --json"
    )]
    Merge(align::MergeArgs),
}

#[derive(clap::Subcommand)]
pub enum Embed {
    /// Train an embedding model; report filtered test metrics of the best validated model.
    #[command(after_help = "Example:\n  dlp kg embed train --dataset umls --json")]
    Train(Box<TrainArgs>),
    /// Evaluate a trained model (`--run DIR` of `embed train`) on a dataset's test split.
    #[command(after_help = "Example:\n  dlp kg embed eval --run runs/fb --json")]
    Eval {
        #[arg(long)]
        run: PathBuf,
        /// The dataset to evaluate on (a name under --data-dir, or a folder) [default: the copy
        /// of the training data in RUN/dataset, so no data directory is needed].
        #[arg(long)]
        dataset: Option<String>,
        /// realistic (default), optimistic or pessimistic.
        #[arg(long, default_value = "realistic")]
        ties: String,
    },
}

#[derive(clap::Subcommand)]
pub enum Rules {
    /// Mine closed Horn rules from the training split; write rules.tsv into --out.
    #[command(after_help = "Example:\n  dlp kg rules mine --dataset umls --out runs/umls-rules")]
    Mine {
        #[arg(long)]
        dataset: String,
        /// Longest rule in atoms, head included (2 or 3).
        #[arg(long, default_value_t = 3)]
        max_length: usize,
        #[arg(long, default_value_t = 2)]
        min_support: usize,
        #[arg(long, default_value_t = 0.01)]
        min_head_coverage: f64,
        #[arg(long, default_value_t = 0.1)]
        min_pca_confidence: f64,
    },
    /// Evaluate a rules file as a link predictor on the test split (filtered ranks).
    #[command(
        after_help = "Example:\n  dlp kg rules eval --dataset umls --rules runs/umls-rules/rules.tsv"
    )]
    Eval {
        #[arg(long)]
        dataset: String,
        #[arg(long)]
        rules: PathBuf,
    },
}

/// `kg predict` flags.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("anchor").args(["head", "tail"]).required(true)))]
pub struct PredictArgs {
    /// An `embed train` run directory (uses its model.safetensors).
    #[arg(long)]
    run: PathBuf,
    /// The dataset the model was trained on (a name under --data-dir, or a folder) [default:
    /// the run's copy in RUN/dataset].
    #[arg(long)]
    dataset: Option<String>,
    /// Rank tails of (HEAD, relation, ?).
    #[arg(long)]
    head: Option<String>,
    /// Rank heads of (?, relation, TAIL).
    #[arg(long)]
    tail: Option<String>,
    #[arg(long)]
    relation: String,
    /// Answers to print, best first.
    #[arg(long, default_value_t = 10)]
    top_k: usize,
    /// Leave out the answers whose fact is already in train, valid or test.
    #[arg(long)]
    filtered: bool,
}

/// `embed train` flags; each given flag overrides the config file, which overrides the defaults.
#[derive(clap::Args)]
pub struct TrainArgs {
    /// A link-prediction dataset name (under --data-dir) or a folder with {train,valid,test}.txt.
    #[arg(long)]
    dataset: String,
    /// TOML config (fields of EmbedConfig, as written to config.toml of a run).
    #[arg(long)]
    config: Option<PathBuf>,
    /// transe, transe-l2, distmult, complex or rotate (default complex).
    #[arg(long)]
    model: Option<String>,
    /// Embedding dimension (default 128; e.g. `--dim 256`).
    #[arg(long)]
    dim: Option<usize>,
    /// ns, 1vsall or kvsall (default 1vsall).
    #[arg(long)]
    training: Option<String>,
    /// margin, softplus, nssa (negative sampling); ce (1vsall); bce (kvsall) (default ce).
    #[arg(long)]
    loss: Option<String>,
    /// Negative samples per positive, with `--training ns` (default 64).
    #[arg(long)]
    negatives: Option<usize>,
    /// uniform or bernoulli (default uniform).
    #[arg(long)]
    sampler: Option<String>,
    /// γ of the margin and self-adversarial losses (default 1.0).
    #[arg(long)]
    margin: Option<f32>,
    /// α of self-adversarial sampling, with `--loss nssa` (default 1.0).
    #[arg(long)]
    adv_temperature: Option<f32>,
    /// Train on reciprocal relations: true or false (default true).
    #[arg(long)]
    reciprocal: Option<bool>,
    /// none, l2 or n3 (default n3).
    #[arg(long)]
    regularizer: Option<String>,
    /// Weight of the regulariser (default 0.01).
    #[arg(long)]
    reg_weight: Option<f32>,
    /// adagrad or adam (default adagrad).
    #[arg(long)]
    optimizer: Option<String>,
    /// Learning rate (default 0.1; e.g. `--lr 0.001` with `--optimizer adam`).
    #[arg(long)]
    lr: Option<f32>,
    /// Training triples per step (default 256).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Passes over the training triples at most (default 100).
    #[arg(long)]
    epochs: Option<usize>,
    /// Label smoothing of 1vsAll and KvsAll targets (default 0.0; e.g. 0.1).
    #[arg(long)]
    label_smoothing: Option<f32>,
    /// Validate every this many epochs; 0 never validates and keeps the last model (default 10).
    #[arg(long)]
    eval_every: Option<usize>,
    /// Stop after this many validations without a better MRR (default 3).
    #[arg(long)]
    patience: Option<usize>,
    /// Validate on at most this many validation triples; 0 uses all (default 0).
    #[arg(long)]
    valid_limit: Option<usize>,
    /// Negative sampling: redraw negatives that are known training answers: true or false (default false).
    #[arg(long)]
    filter_negatives: Option<bool>,
    /// Continue from the newest checkpoint in --out (checkpoints/epoch-N).
    #[arg(long)]
    resume: bool,
}

fn enum_value<T: serde::de::DeserializeOwned>(flag: &str, v: &str) -> dlp_core::Result<T> {
    serde_json::from_value(Value::from(v))
        .map_err(|_| Error::Usage(format!("--{flag}: `{v}` is not a valid value")))
}

fn config_of(a: &TrainArgs, common: &Common) -> dlp_core::Result<EmbedConfig> {
    let mut c = match &a.config {
        Some(p) => {
            let c: EmbedConfig = dlp_core::run::read_toml(p)?;
            c.validate()
                .map_err(|e| Error::format(p, None, e.to_string()))?;
            c
        }
        None => EmbedConfig {
            seed: common.seed,
            ..EmbedConfig::default()
        },
    };
    macro_rules! set {
        ($field:ident) => {
            if let Some(v) = &a.$field {
                c.$field = v.clone();
            }
        };
    }
    set!(model);
    set!(dim);
    set!(negatives);
    set!(margin);
    set!(adv_temperature);
    set!(reciprocal);
    set!(reg_weight);
    set!(lr);
    set!(batch_size);
    set!(epochs);
    set!(label_smoothing);
    set!(eval_every);
    set!(patience);
    set!(valid_limit);
    set!(filter_negatives);
    if let Some(v) = &a.training {
        c.training = enum_value("training", v)?;
    }
    if let Some(v) = &a.loss {
        c.loss = LossKind::parse(v)
            .ok_or_else(|| Error::Usage(format!("--loss: `{v}` is not a valid value")))?;
    }
    if let Some(v) = &a.sampler {
        c.sampler = enum_value("sampler", v)?;
    }
    if let Some(v) = &a.regularizer {
        c.regularizer = enum_value("regularizer", v)?;
    }
    if let Some(v) = &a.optimizer {
        c.optimizer = enum_value("optimizer", v)?;
    }
    if a.loss.is_none() && a.training.is_some() && a.config.is_none() {
        // A training mode without a loss gets that mode's usual loss.
        c.loss = match c.training {
            dlp_kg::embed::train::Training::NegativeSampling => LossKind::Softplus,
            dlp_kg::embed::train::Training::OneVsAll => LossKind::Ce,
            dlp_kg::embed::train::Training::KvsAll => LossKind::Bce,
        };
    }
    c.validate()?;
    Ok(c)
}

/// The summary's metrics: both sides, each side, and per relation by name.
fn metrics_json(m: &Metrics, relations: &dlp_core::data::triples::Vocab) -> Value {
    let per_relation: serde_json::Map<String, Value> = m
        .per_relation
        .iter()
        .enumerate()
        .filter(|(_, r)| r.count > 0)
        .map(|(i, r)| (relations.name(i as u32).to_string(), json!(r)))
        .collect();
    json!({
        "mrr": m.mrr, "mr": m.mr, "hits_at_1": m.hits_at_1, "hits_at_3": m.hits_at_3,
        "hits_at_10": m.hits_at_10, "count": m.count,
        "head": m.head, "tail": m.tail, "per_relation": per_relation,
    })
}

fn human(m: &Metrics) -> String {
    format!(
        "filtered test: MRR {:.4}  MR {:.1}  Hits@1 {:.4}  Hits@3 {:.4}  Hits@10 {:.4}  ({} queries)",
        m.mrr, m.mr, m.hits_at_1, m.hits_at_3, m.hits_at_10, m.count
    )
}

/// A dataset's name for a run directory: a registry name, or a folder's last component.
fn short(name: &str) -> &str {
    std::path::Path::new(name)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(name)
}

pub fn run(cmd: &Command, common: &Common) -> dlp_core::Result<()> {
    match cmd {
        Command::Embed(Embed::Train(a)) => {
            let config = config_of(a, common)?;
            let (name, data) = load_dataset(&a.dataset, common)?;
            config.validate()?;
            config.check_memory(data.entities.len(), data.relations.len())?;
            let out = common
                .out
                .clone()
                .unwrap_or_else(|| default_out(&format!("kg-embed-{}", short(&name))));
            let settings = (
                &config.model,
                config.dim,
                config.reciprocal,
                config.training,
            );
            let _claim =
                crate::claim_out(common, &out, "kg embed train", &name, &settings, a.resume)?;
            let mut run = RunDir::create(&out, &config)?;
            // A copy of the data, so that eval and predict need no data directory.
            if !(a.resume && out.join("dataset").is_dir()) {
                data.save(&out.join("dataset"))?;
            }
            eprintln!(
                "kg embed: {} dim {} ({:?}) on {name}: {} entities, {} relations, {} train triples; run {}",
                config.model,
                config.dim,
                config.training,
                data.entities.len(),
                data.relations.len(),
                data.train.len(),
                out.display()
            );
            let o = train(&config, &data, Some(&mut run), a.resume)?;
            let mut summary = metrics_json(&o.test, &data.relations);
            summary["dataset"] = json!(name);
            summary["model"] = json!(config.model);
            summary["seed"] = json!(config.seed);
            summary["settings"] = json!(config);
            summary["epochs"] = json!(o.epochs_run);
            summary["best_valid_mrr"] = json!(o.best_valid_mrr);
            summary["seconds"] = json!(o.seconds);
            summary["train_seconds"] = json!(o.train_seconds);
            summary["triples_per_second"] = json!(o.triples_per_second);
            summary["threads"] = json!(rayon::current_num_threads());
            let summary = run.write_summary(summary)?;
            let text = format!(
                "{}\n{} epochs, {:.1} s training ({:.0} triples/s), {:.1} s in all; model in {}",
                human(&o.test),
                o.epochs_run,
                o.train_seconds,
                o.triples_per_second,
                o.seconds,
                out.join("model.safetensors").display()
            );
            emit(common, &summary, &text);
        }
        Command::Embed(Embed::Eval { run, dataset, ties }) => {
            let ties: TieRule = enum_value("ties", ties)?;
            let (name, data, model) = load_model(run, dataset.as_deref(), common)?;
            let settings = json!({"run": run, "dataset": name, "ties": ties});
            let own = crate::out_run(common, "kg embed eval", run, &settings)?;
            let t = Instant::now();
            let filter = Answers::new([&data.train[..], &data.valid[..], &data.test[..]]);
            let m = evaluate(
                &model,
                &data.test,
                &filter,
                &EvalOptions {
                    ties,
                    ..EvalOptions::default()
                },
            );
            let mut summary = metrics_json(&m, &data.relations);
            summary["dataset"] = json!(name);
            summary["run"] = json!(run);
            summary["ties"] = json!(ties);
            summary["seconds"] = json!(t.elapsed().as_secs_f64());
            let summary = match &own {
                Some(r) => r.write_summary(summary)?,
                None => summary,
            };
            let text = format!("{} in {:.1} s", human(&m), t.elapsed().as_secs_f64());
            emit(common, &summary, &text);
        }
        Command::Rules(Rules::Mine {
            dataset,
            max_length,
            min_support,
            min_head_coverage,
            min_pca_confidence,
        }) => {
            if !(2..=3).contains(max_length) {
                return Err(Error::Usage("--max-length: 2 or 3".into()));
            }
            let (name, data) = load_dataset(dataset, common)?;
            let out = common
                .out
                .clone()
                .unwrap_or_else(|| default_out(&format!("kg-rules-{}", short(&name))));
            let opts = MineOptions {
                max_length: *max_length,
                min_support: *min_support,
                min_head_coverage: *min_head_coverage,
                min_pca_confidence: *min_pca_confidence,
            };
            let _claim = crate::claim_out(common, &out, "kg rules mine", &name, &opts, false)?;
            let run = RunDir::create(&out, &opts)?;
            let t = Instant::now();
            let rules = RuleSet::mine(
                &data.train,
                data.entities.len(),
                data.relations.len(),
                &opts,
            );
            let mine_seconds = t.elapsed().as_secs_f64();
            let path = out.join("rules.tsv");
            dlp_core::atomic::write(&path, rules.to_tsv(&data.relations).as_bytes())?;
            let summary = json!({"task": "kg-rules-mine", "dataset": name, "rules": rules.rules.len(),
                "seconds": mine_seconds, "path": path, "settings": opts});
            let summary = run.write_summary(summary)?;
            let text = format!(
                "{} rules in {mine_seconds:.1} s, written to {}",
                rules.rules.len(),
                path.display()
            );
            emit(common, &summary, &text);
        }
        Command::Import(a) => return store::import(a, common),
        Command::Export(a) => return store::export(a, common),
        Command::Query(a) => return store::query(a, common),
        Command::Stats(a) => return store::stats(a, common),
        Command::Add(a) => return store::add(a, common),
        Command::Check(a) => return store::check(a, common),
        Command::Retract(a) => return store::retract(a, common),
        Command::Predict(a) => return predict(a, common),
        Command::Complete(a) => return store::complete(a, common),
        Command::Extract(a) => return extract::extract(a, common),
        Command::Review(a) => return extract::review(a, common),
        Command::Serve(a) => return store::serve(a, common),
        Command::Align(a) => return align::align(a, common),
        Command::Merge(a) => return align::merge(a, common),
        Command::Rules(Rules::Eval { dataset, rules }) => {
            let (name, data) = load_dataset(dataset, common)?;
            let settings = json!({"rules": rules, "dataset": name});
            let own = crate::out_run(common, "kg rules eval", rules, &settings)?;
            let text = std::fs::read_to_string(rules).map_err(|e| Error::io(rules, e))?;
            let set = RuleSet::from_tsv(
                rules,
                &text,
                &data.train,
                data.entities.len(),
                &data.relations,
            )?;
            let t = Instant::now();
            let filter = Answers::new([&data.train[..], &data.valid[..], &data.test[..]]);
            let m = evaluate(&set, &data.test, &filter, &EvalOptions::default());
            let mut summary = metrics_json(&m, &data.relations);
            summary["dataset"] = json!(name);
            summary["rules"] = json!(set.rules.len());
            summary["seconds"] = json!(t.elapsed().as_secs_f64());
            let summary = match &own {
                Some(r) => r.write_summary(summary)?,
                None => summary,
            };
            emit(common, &summary, &human(&m));
        }
    }
    Ok(())
}

/// The dataset and the embedding model of run directory `run`, which must fit each other. The
/// dataset is `dataset` when given, else the copy `embed train` keeps in `run/dataset`.
fn load_model(
    run: &Path,
    dataset: Option<&str>,
    common: &Common,
) -> dlp_core::Result<(String, LinkPrediction, Kge)> {
    let (name, data) = match dataset {
        Some(d) => load_dataset(d, common)?,
        None => {
            let copy = run.join("dataset");
            if !copy.is_dir() {
                return Err(Error::Usage(format!(
                    "--dataset: needed, {} holds no copy of its training data",
                    run.display()
                )));
            }
            let name = dlp_core::run::identity(run)?
                .map_or_else(|| copy.display().to_string(), |id| id.dataset);
            (name, LinkPrediction::load(&copy)?)
        }
    };
    let model = Kge::load(&run.join("model.safetensors"))?;
    if model.num_entities != data.entities.len() || model.num_relations != data.relations.len() {
        return Err(Error::Usage(format!(
            "{}: the model has {} entities and {} relations, dataset {name} has {} and {}",
            run.display(),
            model.num_entities,
            model.num_relations,
            data.entities.len(),
            data.relations.len()
        )));
    }
    Ok((name, data, model))
}

fn predict(a: &PredictArgs, common: &Common) -> dlp_core::Result<()> {
    let (name, data, model) = load_model(&a.run, a.dataset.as_deref(), common)?;
    let id = |flag: &str, v: &str, vocab: &dlp_core::data::triples::Vocab| {
        vocab
            .id(v)
            .ok_or_else(|| Error::Usage(format!("--{flag}: `{v}` is not in {name}")))
    };
    let rel = id("relation", &a.relation, &data.relations)?;
    let query = match (&a.head, &a.tail) {
        (Some(h), _) => Query {
            anchor: id("head", h, &data.entities)?,
            rel,
            side: Side::Tail,
        },
        (None, Some(t)) => Query {
            anchor: id("tail", t, &data.entities)?,
            rel,
            side: Side::Head,
        },
        (None, None) => return Err(Error::Usage("give --head or --tail".into())),
    };
    let p = predict_target(&model, &data, query, a.top_k, a.filtered);
    let q = match (&p.head, &p.tail) {
        (Some(h), _) => format!("({h}, {}, ?)", p.relation),
        (_, t) => format!("(?, {}, {})", p.relation, t.as_deref().unwrap_or("")),
    };
    let mut text = format!(
        "{q}{}\nrank  score      known  answer",
        if p.filtered { ", filtered" } else { "" }
    );
    for ans in &p.answers {
        let known = ans.known.unwrap_or("-");
        text += &format!(
            "\n{:>4}  {:>9.4}  {known:>5}  {}",
            ans.rank, ans.score, ans.entity
        );
    }
    let mut summary = json!(p);
    summary["dataset"] = json!(name);
    summary["run"] = json!(a.run);
    emit(common, &summary, &text);
    Ok(())
}
