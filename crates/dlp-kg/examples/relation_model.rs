//! An experiment toward issue 33 (not yet the product: no CLI, no checkpoints): a document-level
//! relation classifier trained from scratch on Re-DocRED dev, scored by the official formulas
//! ([`dlp_kg::extract::docred::score`]) on held-out folds of five.
//!
//! Words (a vocabulary of the training documents' words seen twice, the rest one unknown id)
//! plus entity-type, coreference (which entity a mention token belongs to) and position
//! embeddings, dropout 0.3, a 2-layer pre-norm transformer encoder (d 128, 4 heads); each entity
//! the log-sum-exp of its mention tokens' states; each ordered entity pair
//! `[h, t, h∘t, distance]` through a 256-unit ReLU layer to the relations of the training folds
//! plus a threshold class, trained with ATLOP's adaptive-threshold loss (Zhou et al. 2021); Adam
//! at 1e-3 decaying linearly to 1e-4, 4 documents a step; at most 4 relations a pair predicted.
//!
//! `cargo run --release -p dlp-kg --example relation_model -- DEV.json.gz [FOLD|all] [EPOCHS]`
//! (prints each fold's last-epoch scores and their mean and standard deviation as JSON).
use burn::module::Module;
use burn::nn::transformer::{
    TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput,
};
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::{Device, Int, Tensor, TensorData};
use dlp_kg::extract::docred::{self, Document, Prediction, folds, score, train_facts};
use std::collections::{HashMap, HashSet};
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const D: usize = 128;
const TYPES: [&str; 6] = ["PER", "LOC", "ORG", "TIME", "NUM", "MISC"];
const MAX_LEN: usize = 512;
const COREF: usize = 64;
const DROPOUT: f64 = 0.3;
const BATCH: usize = 4;
const LR: f64 = 1e-3;

/// A document as ids: words, the entity type of each token (0: none), and each entity's mention
/// start tokens; labels as (h, t, relation index).
struct Encoded {
    words: Vec<i64>,
    types: Vec<i64>,
    /// 1 + the entity a token's mention refers to (0: none): which mentions corefer.
    corefs: Vec<i64>,
    entities: Vec<Vec<usize>>,
    labels: Vec<(usize, usize, usize)>,
    title: String,
}

fn encode(doc: &Document, vocab: &HashMap<String, i64>, rels: &HashMap<String, usize>) -> Encoded {
    let mut offsets = Vec::new();
    let mut words = Vec::new();
    for s in &doc.sents {
        offsets.push(words.len());
        words.extend(
            s.iter()
                .map(|w| *vocab.get(&w.to_lowercase()).unwrap_or(&1)),
        );
    }
    words.truncate(MAX_LEN);
    let mut types = vec![0i64; words.len()];
    let mut corefs = vec![0i64; words.len()];
    let mut entities = Vec::new();
    for (k, ms) in doc.vertex_set.iter().enumerate() {
        let mut starts = Vec::new();
        for m in ms {
            let (a, b) = (offsets[m.sent_id] + m.pos[0], offsets[m.sent_id] + m.pos[1]);
            let t = TYPES.iter().position(|&x| x == m.kind).map_or(0, |i| i + 1) as i64;
            let span = a.min(words.len())..b.min(words.len());
            types[span.clone()].fill(t);
            corefs[span.clone()].fill((k + 1).min(COREF - 1) as i64);
            starts.extend(span);
        }
        if starts.is_empty() {
            starts.push(0);
        }
        entities.push(starts);
    }
    let labels = doc
        .labels
        .iter()
        .filter_map(|l| rels.get(&l.r).map(|&r| (l.h, l.t, r)))
        .collect();
    Encoded {
        words,
        types,
        corefs,
        entities,
        labels,
        title: doc.title.clone(),
    }
}

#[derive(Module, Debug)]
struct Model {
    words: Embedding,
    types: Embedding,
    corefs: Embedding,
    positions: Embedding,
    dropout: Dropout,
    encoder: TransformerEncoder,
    distance: Embedding,
    hidden: Linear,
    out: Linear,
}

impl Model {
    fn new(vocab: usize, relations: usize, device: &Device) -> Self {
        Model {
            words: EmbeddingConfig::new(vocab, D).init(device),
            types: EmbeddingConfig::new(TYPES.len() + 1, D).init(device),
            corefs: EmbeddingConfig::new(COREF, D).init(device),
            dropout: DropoutConfig::new(DROPOUT).init(),
            positions: EmbeddingConfig::new(MAX_LEN, D).init(device),
            encoder: TransformerEncoderConfig::new(D, 2 * D, 4, 2)
                .with_norm_first(true)
                .with_dropout(DROPOUT)
                .init(device),
            distance: EmbeddingConfig::new(10, 16).init(device),
            hidden: LinearConfig::new(3 * D + 16, 256).init(device),
            out: LinearConfig::new(256, relations + 1).init(device),
        }
    }

    /// Logits `[pairs, 1 + relations]` (column 0 the threshold) for every ordered entity pair.
    fn forward(&self, e: &Encoded, pairs: &[(usize, usize)], device: &Device) -> Tensor<2> {
        let n = e.words.len();
        let ids = |v: &[i64]| {
            Tensor::<2, Int>::from_data(TensorData::new(v.to_vec(), [1, v.len()]), device)
        };
        let pos: Vec<i64> = (0..n as i64).collect();
        let x = self.words.forward(ids(&e.words))
            + self.types.forward(ids(&e.types))
            + self.corefs.forward(ids(&e.corefs))
            + self.positions.forward(ids(&pos));
        let x = self.dropout.forward(x);
        let h: Tensor<2> = self
            .encoder
            .forward(TransformerEncoderInput::new(x))
            .reshape([n, D]);
        let ents: Vec<Tensor<2>> = e
            .entities
            .iter()
            .map(|starts| {
                let idx: Vec<i64> = starts.iter().map(|&s| s as i64).collect();
                let m = h.clone().select(
                    0,
                    Tensor::<1, Int>::from_data(TensorData::new(idx, [starts.len()]), device),
                );
                let max = m.clone().max_dim(0).detach();
                ((m - max.clone()).exp().sum_dim(0)).log() + max
            })
            .collect();
        let ents = Tensor::cat(ents, 0);
        let pick = |which: Vec<i64>| {
            let k = which.len();
            ents.clone().select(
                0,
                Tensor::<1, Int>::from_data(TensorData::new(which, [k]), device),
            )
        };
        let hs = pick(pairs.iter().map(|p| p.0 as i64).collect());
        let ts = pick(pairs.iter().map(|p| p.1 as i64).collect());
        let dist: Vec<i64> = pairs
            .iter()
            .map(|&(a, b)| {
                let d = e.entities[a][0].abs_diff(e.entities[b][0]);
                [0, 2, 4, 8, 16, 32, 64, 128, 256]
                    .iter()
                    .filter(|&&c| d >= c)
                    .count() as i64
            })
            .collect();
        let k = dist.len();
        let dist = self
            .distance
            .forward(Tensor::<2, Int>::from_data(
                TensorData::new(dist, [1, k]),
                device,
            ))
            .reshape([k, 16]);
        let z = Tensor::cat(vec![hs.clone(), ts.clone(), hs * ts, dist], 1);
        self.out.forward(relu(self.hidden.forward(z)))
    }
}

fn pairs_of(e: &Encoded) -> Vec<(usize, usize)> {
    let n = e.entities.len();
    (0..n)
        .flat_map(|a| (0..n).filter(move |&b| b != a).map(move |b| (a, b)))
        .collect()
}

/// ATLOP's adaptive-threshold loss: each positive relation above the threshold class, the
/// threshold above every negative.
fn atlop(logits: Tensor<2>, labels: Tensor<2>) -> Tensor<1> {
    let [p, c] = logits.dims();
    let device = logits.device();
    let mut th = vec![0f32; p * c];
    for row in th.chunks_mut(c) {
        row[0] = 1.0;
    }
    let th = Tensor::<2>::from_data(TensorData::new(th, [p, c]), &device);
    let big = 1e30;
    let keep_pos = labels.clone() + th.clone();
    let l1 = log_softmax(logits.clone() - (keep_pos.neg() + 1.0) * big, 1);
    let loss1 = (l1 * labels.clone()).sum_dim(1).neg();
    let l2 = log_softmax(logits - labels * big, 1);
    let loss2 = (l2 * th).sum_dim(1).neg();
    (loss1 + loss2).mean().reshape([1])
}

fn label_matrix(e: &Encoded, pairs: &[(usize, usize)], c: usize, device: &Device) -> Tensor<2> {
    let index: HashMap<(usize, usize), usize> =
        pairs.iter().enumerate().map(|(i, &p)| (p, i)).collect();
    let mut m = vec![0f32; pairs.len() * c];
    for &(h, t, r) in &e.labels {
        if let Some(&i) = index.get(&(h, t)) {
            m[i * c + r + 1] = 1.0;
        }
    }
    Tensor::from_data(TensorData::new(m, [pairs.len(), c]), device)
}

fn main() {
    dlp_core::device::init_threads(Some(2)).unwrap();
    dlp_core::device::in_pool(run);
}

fn run() {
    let args: Vec<String> = std::env::args().collect();
    let docs = docred::read(std::path::Path::new(&args[1])).unwrap();
    let which = args.get(2).map_or("0", String::as_str);
    let epochs: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(20);
    let split = folds(docs.len(), 5, 0);
    let chosen: Vec<usize> = match which {
        "all" => (0..5).collect(),
        k => vec![k.parse().expect("FOLD: 0-4 or all")],
    };
    let mut results = Vec::new();
    for fold in chosen {
        let (s, seconds) = train_fold(&docs, &split, fold, epochs);
        results.push(
            serde_json::json!({"fold": fold, "precision": s.precision, "recall": s.recall,
            "f1": s.f1, "ign_f1": s.ign_f1, "predicted": s.predicted, "correct": s.correct,
            "gold": s.gold, "train_seconds": seconds}),
        );
    }
    let stat = |k: &str| {
        let v: Vec<f64> = results.iter().map(|r| r[k].as_f64().unwrap()).collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let sd = (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64).sqrt();
        serde_json::json!({"mean": m, "std": sd})
    };
    println!(
        "{}",
        serde_json::json!({"epochs": epochs, "folds": results, "f1": stat("f1"),
            "ign_f1": stat("ign_f1"), "precision": stat("precision"), "recall": stat("recall")})
    );
}

/// Trains on every fold but `fold` and returns the last epoch's held-out scores and the
/// training seconds.
fn train_fold(
    docs: &[Document],
    split: &[Vec<usize>],
    fold: usize,
    epochs: usize,
) -> (docred::Scores, f64) {
    let held: HashSet<usize> = split[fold].iter().copied().collect();
    let (test, train): (Vec<&Document>, Vec<&Document>) = {
        let (mut te, mut tr) = (Vec::new(), Vec::new());
        for (i, d) in docs.iter().enumerate() {
            if held.contains(&i) {
                te.push(d)
            } else {
                tr.push(d)
            }
        }
        (te, tr)
    };
    let mut counts: HashMap<String, usize> = HashMap::new();
    for d in &train {
        for s in &d.sents {
            for w in s {
                *counts.entry(w.to_lowercase()).or_default() += 1;
            }
        }
    }
    let mut vocab: HashMap<String, i64> = HashMap::new();
    for (w, n) in counts {
        if n >= 2 {
            let id = vocab.len() as i64 + 2;
            vocab.insert(w, id);
        }
    }
    let mut rel_names: Vec<String> = docs
        .iter()
        .flat_map(|d| d.labels.iter().map(|l| l.r.clone()))
        .collect();
    rel_names.sort();
    rel_names.dedup();
    let rels: HashMap<String, usize> = rel_names
        .iter()
        .enumerate()
        .map(|(i, r)| (r.clone(), i))
        .collect();
    let c = rels.len() + 1;
    let train_e: Vec<Encoded> = train.iter().map(|d| encode(d, &vocab, &rels)).collect();
    let test_e: Vec<Encoded> = test.iter().map(|d| encode(d, &vocab, &rels)).collect();
    eprintln!(
        "fold {fold}: {} train, {} test documents, vocabulary {}, {} relations",
        train.len(),
        test.len(),
        vocab.len() + 2,
        rels.len()
    );
    let device = Device::flex().autodiff();
    device.seed(0);
    let mut model = Model::new(vocab.len() + 2, rels.len(), &device);
    let mut optim = AdamConfig::new().init();
    let mut rng = dlp_core::rng::Rng::new(0);
    let start = Instant::now();
    let test_docs: Vec<Document> = test.iter().map(|d| (*d).clone()).collect();
    let train_docs: Vec<Document> = train.iter().map(|d| (*d).clone()).collect();
    let facts = train_facts(&train_docs);
    let mut last = docred::Scores::default();
    let mut seconds = 0.0;
    for epoch in 0..epochs {
        let epoch_start = Instant::now();
        let order = rng.permutation(train_e.len());
        let mut total = 0.0;
        // A linear decay of the rate to a tenth over the run; BATCH documents a step.
        let lr = LR * (1.0 - 0.9 * epoch as f64 / epochs as f64);
        for batch in order.chunks(BATCH) {
            let losses: Vec<Tensor<1>> = batch
                .iter()
                .map(|&i| &train_e[i])
                .filter(|e| e.entities.len() > 1)
                .map(|e| {
                    let pairs = pairs_of(e);
                    atlop(
                        model.forward(e, &pairs, &device),
                        label_matrix(e, &pairs, c, &device),
                    )
                })
                .collect();
            if losses.is_empty() {
                continue;
            }
            let loss = Tensor::cat(losses, 0).mean();
            total += dlp_core::tensor::scalar(loss.clone()) * batch.len() as f64;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(lr, model, grads);
        }
        seconds += epoch_start.elapsed().as_secs_f64();
        let inference = model.valid();
        let plain = Device::flex();
        let mut predictions = Vec::new();
        for e in &test_e {
            let pairs = pairs_of(e);
            if pairs.is_empty() {
                continue;
            }
            let v = dlp_core::tensor::to_vec(inference.forward(e, &pairs, &plain));
            for (k, &(h, t)) in pairs.iter().enumerate() {
                let row = &v[k * c..(k + 1) * c];
                let mut above: Vec<(f32, usize)> = (1..c)
                    .filter(|&r| row[r] > row[0])
                    .map(|r| (row[r], r - 1))
                    .collect();
                above.sort_by(|a, b| b.0.total_cmp(&a.0));
                for &(_, r) in above.iter().take(4) {
                    predictions.push(Prediction {
                        title: e.title.clone(),
                        h_idx: h,
                        t_idx: t,
                        r: rel_names[r].clone(),
                    });
                }
            }
        }
        let s = score(&test_docs, &facts, &predictions);
        eprintln!(
            "epoch {}: loss {:.4}, held-out precision {:.3} recall {:.3} F1 {:.3} Ign F1 {:.3} ({} predictions), {:.0} s",
            epoch + 1,
            total / train_e.len() as f64,
            s.precision,
            s.recall,
            s.f1,
            s.ign_f1,
            s.predicted,
            start.elapsed().as_secs_f64()
        );
        last = s;
    }
    (last, seconds)
}
