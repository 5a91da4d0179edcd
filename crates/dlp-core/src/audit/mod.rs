//! `dlp data audit`: the data issues *A Roadmap for Big Models* names — duplication, leakage,
//! bias, coverage, low quality — found in a dataset before anything trains on it.
//!
//! | module | what |
//! | --- | --- |
//! | [`images`] | exact and near duplicates, class balance, label errors by confident learning |
//! | [`triples`] | duplicates, leakage, inverse leakage, near-inverse relations, inverse-rule MRR, coverage |
//! | [`text`] | exact and MinHash near duplicates of text records |
//!
//! [`audit`] writes `summary.json`, `report.md`, `report.html` and PNGs into the output
//! directory and returns the summary.

pub mod html;
pub mod images;
pub mod summary;
pub mod text;
pub mod triples;

use crate::atomic;
use crate::data::idx::{LabelledImages, Split};
use crate::data::registry::{Dataset, Kind};
use crate::data::triples::LinkPrediction;
use crate::error::{Error, Result};
use crate::plot::{Series, image_grid, line_plot};
use burn::tensor::Device;
use serde::Serialize;
use std::path::Path;
pub use summary::{Audit, ImageAudit, TextAudit, TripleAudit};
use summary::{ImageAt, ImagePair, LabelError, Splits, TextPair};

/// Audits a text file, one record a line (for TSV, the last column), writing the report into
/// `out`: exact and near duplicates, and empty records.
pub fn audit_text_file(path: &Path, out: &Path) -> Result<TextAudit> {
    let bytes = crate::data::read_maybe_gz(path)?;
    let content = String::from_utf8(bytes)
        .map_err(|e| Error::format(path, None, format!("not UTF-8: {e}")))?;
    let records: Vec<&str> = content
        .lines()
        .map(|l| l.rsplit('\t').next().unwrap_or(l))
        .collect();
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let exact = text::exact_duplicates(&records);
    let near = text::near_duplicates(&records, text::NEAR_JACCARD);
    let summary = TextAudit {
        kind: "text",
        dataset: path.display().to_string(),
        records: records.len(),
        within_split_duplicates: exact.iter().map(|g| g.len() - 1).sum(),
        cross_split_duplicates: 0,
        near_duplicates: near.len(),
        near_duplicate_jaccard: text::NEAR_JACCARD,
        empty_records: records.iter().filter(|r| r.trim().is_empty()).count(),
        top_near_duplicates: near
            .iter()
            .take(20)
            .map(|p| TextPair {
                a: p.0 + 1,
                b: p.1 + 1,
                jaccard: p.2,
            })
            .collect(),
        dlp_version: crate::run::VERSION,
    };
    let md = format!(
        "# Data audit: {}\n\n{} records (one a line). Exact duplicates (extra copies): {}. Near-duplicate pairs (Jaccard of character 5-grams ≥ {}): {}. Empty records: {}.\n",
        path.display(),
        summary.records,
        summary.within_split_duplicates,
        text::NEAR_JACCARD,
        summary.near_duplicates,
        summary.empty_records,
    );
    write_report(out, &md, &summary)?;
    Ok(summary)
}

/// Audits a registry dataset from `data_dir`, writing the report into `out`.
pub fn audit(dataset: &Dataset, data_dir: &Path, out: &Path, device: &Device) -> Result<Audit> {
    let dir = data_dir.join(dataset.dir);
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let (mut summary, md) = match dataset.kind {
        Kind::Images => {
            let load = |split| LabelledImages::load_dataset(dataset, data_dir, split);
            let (a, md) = audit_images(&load(Split::Train)?, &load(Split::Test)?, out, device)?;
            (Audit::Images(a), md)
        }
        Kind::LinkPrediction => {
            let (a, md) = audit_triples(&LinkPrediction::load(&dir)?, out)?;
            (Audit::Triples(a), md)
        }
        Kind::Alignment => {
            return Err(Error::Usage(format!(
                "{}: alignment pairs are not audited yet (images and link prediction are)",
                dataset.name
            )));
        }
    };
    summary.set_dataset(dataset.name);
    let md = format!("# Data audit: {}\n\n{md}", dataset.name);
    write_report(out, &md, &summary)?;
    Ok(summary)
}

/// Audits a dataset folder, by the same rule the commands load one: a link-prediction set when it
/// holds `train.txt` (or `.gz`); otherwise images (see [`crate::data::folder`], at 32×32 RGB),
/// split by its `train/` and `test/` subfolders when it has both, else one training split.
pub fn audit_folder(dir: &Path, out: &Path, device: &Device) -> Result<Audit> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let has = |name: &str| dir.join(name).exists();
    let (mut summary, md) = if has("train.txt") || has("train.txt.gz") {
        let (a, md) = audit_triples(&LinkPrediction::load(dir)?, out)?;
        (Audit::Triples(a), md)
    } else {
        // Files that cannot be decoded are a finding of the audit, not a reason to stop.
        let mut undecodable = Vec::new();
        let mut load = |d: &Path| {
            crate::data::folder::load(d, 32, 3, true).map(|f| {
                let base = d.strip_prefix(dir).unwrap_or(Path::new(""));
                let named = f.skipped.iter();
                undecodable.extend(
                    named.map(|(p, why)| (base.join(p).display().to_string(), why.clone())),
                );
                f.images
            })
        };
        let (train, test) = if dir.join("train").is_dir() && dir.join("test").is_dir() {
            (load(&dir.join("train"))?, load(&dir.join("test"))?)
        } else {
            let train = load(dir)?;
            let test = LabelledImages {
                images: Vec::new(),
                labels: Vec::new(),
                ..train.clone()
            };
            (train, test)
        };
        let (mut summary, mut md) = audit_images(&train, &test, out, device)?;
        if !undecodable.is_empty() {
            md += "\n## Files that cannot be decoded\n\n";
            for (path, why) in &undecodable {
                md += &format!("- `{path}`: {why}\n");
            }
        }
        summary.undecodable_files = Some(undecodable);
        (Audit::Images(summary), md)
    };
    let name = dir.display().to_string();
    summary.set_dataset(&name);
    let md = format!("# Data audit: {name}\n\n{md}");
    write_report(out, &md, &summary)?;
    Ok(summary)
}

fn write_report(out: &Path, md: &str, summary: &impl Serialize) -> Result<()> {
    atomic::write(out.join("report.md"), md.as_bytes())?;
    let mut pngs: Vec<String> = std::fs::read_dir(out)
        .map_err(|e| Error::io(out, e))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".png"))
        .collect();
    pngs.sort();
    let title = md
        .lines()
        .next()
        .unwrap_or("dlp data audit")
        .trim_start_matches("# ");
    let html = html::page(title, md, &pngs);
    atomic::write(out.join("report.html"), html.as_bytes())?;
    let text = serde_json::to_string_pretty(summary).expect("JSON serialises");
    atomic::write(out.join("summary.json"), text.as_bytes())
}

fn concat(a: &LabelledImages, b: &LabelledImages) -> LabelledImages {
    let mut all = a.clone();
    all.images.extend_from_slice(&b.images);
    all.labels.extend_from_slice(&b.labels);
    all
}

/// Audits train and test images; returns the summary and the Markdown body. Writes
/// `label_errors.png` and `near_duplicates.png`.
pub fn audit_images(
    train: &LabelledImages,
    test: &LabelledImages,
    out: &Path,
    device: &Device,
) -> Result<(ImageAudit, String)> {
    let splits = [train, test];
    let name = |s: usize| ["train", "test"][s];
    eprintln!("audit: exact duplicates");
    let exact = images::exact_duplicates(&splits);
    let extra_copies: usize = exact.iter().map(|g| g.len() - 1).sum();
    // Test images with a byte-identical training image.
    let cross_exact: usize = exact
        .iter()
        .filter(|g| g.iter().any(|r| r.split == 0))
        .map(|g| g.iter().filter(|r| r.split == 1).count())
        .sum();
    eprintln!(
        "audit: near duplicates (LSH over {} images)",
        train.len() + test.len()
    );
    let near = images::near_duplicates(&splits, images::NEAR_COSINE, 0);
    let cross_near = near.iter().filter(|p| p.0.split != p.1.split).count();
    let counts = |s: &LabelledImages| s.label_counts();
    let (tc, vc) = (counts(train), counts(test));
    let imbalance = |c: &[usize]| {
        let nz: Vec<usize> = c.iter().copied().filter(|&x| x > 0).collect();
        nz.iter().max().copied().unwrap_or(0) as f64
            / nz.iter().min().copied().unwrap_or(1).max(1) as f64
    };
    let out_of_range = train
        .labels
        .iter()
        .chain(&test.labels)
        .filter(|&&l| l > 9)
        .count();

    eprintln!("audit: label errors (2-fold out-of-fold probabilities)");
    let all = concat(train, test);
    let probs = images::out_of_fold_probabilities(&all, 2, 0, device);
    let suspects = images::suspected_label_errors(&all.labels, &probs);
    let model_accuracy = images::accuracy(&all.labels, &probs);
    let reliable = model_accuracy >= images::RELIABLE_ACCURACY;
    let at = |i: usize| {
        if i < train.len() {
            (0, i)
        } else {
            (1, i - train.len())
        }
    };
    let top: Vec<LabelError> = suspects
        .iter()
        .take(64)
        .map(|&(i, label, suggested, p_label)| LabelError {
            split: name(at(i).0),
            index: at(i).1,
            label,
            suggested,
            p_label,
        })
        .collect();
    let sheet = |path: &Path, refs: &[(usize, usize)]| -> Result<()> {
        if refs.is_empty() {
            return Ok(());
        }
        let size = train.channels * train.height * train.width;
        let values: Vec<f32> = refs
            .iter()
            .flat_map(|&(s, i)| {
                splits[s]
                    .image(i)
                    .iter()
                    .map(|&p| p as f32 / 255.0)
                    .collect::<Vec<_>>()
            })
            .collect();
        debug_assert_eq!(values.len(), refs.len() * size);
        image_grid(
            path,
            &values,
            [refs.len(), train.channels, train.height, train.width],
            8,
            3,
        )
    };
    let err_refs: Vec<(usize, usize)> = suspects.iter().take(64).map(|&(i, ..)| at(i)).collect();
    sheet(&out.join("label_errors.png"), &err_refs)?;
    let pair_refs: Vec<(usize, usize)> = near
        .iter()
        .take(32)
        .flat_map(|p| [(p.0.split, p.0.index), (p.1.split, p.1.index)])
        .collect();
    sheet(&out.join("near_duplicates.png"), &pair_refs)?;

    let image_at = |r: images::ImageRef| ImageAt {
        split: name(r.split),
        index: r.index,
    };
    let summary = ImageAudit {
        kind: "images",
        dataset: String::new(),
        train: train.len(),
        test: test.len(),
        within_split_duplicates: extra_copies - cross_exact,
        cross_split_duplicates: cross_exact,
        near_duplicates: near.len(),
        cross_split_near_duplicates: cross_near,
        near_duplicate_cosine: images::NEAR_COSINE,
        imbalance_ratio: Splits {
            train: imbalance(&tc),
            test: imbalance(&vc),
        },
        class_counts: Splits {
            train: tc.clone(),
            test: vc.clone(),
        },
        out_of_range_labels: out_of_range,
        suspected_label_errors: suspects.len(),
        label_model_accuracy: model_accuracy,
        label_errors_reliable: reliable,
        top_label_errors: top,
        top_near_duplicates: near
            .iter()
            .take(32)
            .map(|p| ImagePair {
                a: image_at(p.0),
                b: image_at(p.1),
                cosine: p.2,
            })
            .collect(),
        undecodable_files: None,
        dlp_version: crate::run::VERSION,
    };
    let mut md = format!(
        "## Duplication and leakage\n\n| | count |\n| --- | ---: |\n| exact duplicates within a split (extra copies) | {} |\n\
         | test images identical to a training image | {} |\n| near-duplicate pairs (cosine ≥ {}) | {} |\n| of which across train/test | {} |\n\n\
         `near_duplicates.png`: the top pairs side by side.\n\n## Balance\n\n| class | train | test |\n| ---: | ---: | ---: |\n",
        summary.within_split_duplicates,
        cross_exact,
        images::NEAR_COSINE,
        near.len(),
        cross_near
    );
    for k in 0..tc.len().max(vc.len()) {
        md += &format!(
            "| {k} | {} | {} |\n",
            tc.get(k).unwrap_or(&0),
            vc.get(k).unwrap_or(&0)
        );
    }
    md += &format!(
        "\nImbalance ratio (largest / smallest class): train {:.2}, test {:.2}. Out-of-range labels: {out_of_range}.\n\n\
         ## Suspected label errors (confident learning)\n\n{} suspects, from a 2-fold MLP whose out-of-fold accuracy is {:.1}%.{} \
         `label_errors.png` shows the first 64, row by row:\n\n\
         | # | split | index | label | suggested | p(label) |\n| ---: | --- | ---: | ---: | ---: | ---: |\n",
        imbalance(&tc),
        imbalance(&vc),
        suspects.len(),
        100.0 * model_accuracy,
        if reliable {
            ""
        } else {
            " That is below 90%, too weak for confident learning: most suspects are hard examples, \
             not label errors, and the count is no estimate of the label noise."
        }
    );
    for (k, t) in summary.top_label_errors.iter().enumerate() {
        md += &format!(
            "| {} | {} | {} | {} | {} | {:.3} |\n",
            k + 1,
            t.split,
            t.index,
            t.label,
            t.suggested,
            t.p_label
        );
    }
    Ok((summary, md))
}

/// Audits a link-prediction dataset; returns the summary and the Markdown body. Writes
/// `relation_frequencies.png`.
pub fn audit_triples(kg: &LinkPrediction, out: &Path) -> Result<(TripleAudit, String)> {
    let summary = triples::audit(kg);
    let mut freq = vec![0usize; kg.relations.len()];
    for t in &kg.train {
        freq[t[1] as usize] += 1;
    }
    freq.sort_unstable_by(|a, b| b.cmp(a));
    let series = Series {
        name: "training triples".into(),
        points: freq
            .iter()
            .enumerate()
            .filter(|p| *p.1 > 0)
            .map(|(i, &n)| (i as f64 + 1.0, n as f64))
            .collect(),
    };
    line_plot(
        &out.join("relation_frequencies.png"),
        "Relation frequencies (sorted)",
        "relation rank",
        "training triples",
        &[series],
        true,
    )?;
    let t = &summary;
    let md = format!(
        "## Splits\n\n{} / {} / {} triples, {} entities, {} relations.\n\n## Duplication and leakage\n\n| | count |\n| --- | ---: |\n\
         | duplicates within a split | {} |\n| valid/test triples also in an earlier split | {} |\n| test triples whose reverse is in training | {} ({:.1}%) |\n\n\
         Inverse-rule baseline (answers from the reverse of training triples): filtered MRR {:.3}, Hits@1 {:.3}.\n\n\
         Near-inverse relation pairs: {}. Near-duplicate relation pairs: {}.\n\n## Coverage\n\n\
         Entity degree: max {}, mean {:.1}, Gini {:.2}. Test entities never seen in training: {}; test triples with one: {}.\n\n\
         Relation domains covered: {}.\n\n\
         `relation_frequencies.png`: training triples per relation, most frequent first.\n",
        t.train,
        t.valid,
        t.test,
        t.entities,
        t.relations,
        t.within_split_duplicates,
        t.cross_split_duplicates,
        t.inverse_leaks,
        100.0 * t.inverse_leak_fraction,
        t.inverse_rule_mrr,
        t.inverse_rule_hits_at_1,
        t.near_inverse_relation_pairs.len(),
        t.near_duplicate_relation_pairs.len(),
        t.degree.max.map_or("null".into(), |m| m.to_string()),
        t.degree.mean,
        t.degree.gini,
        t.test_entities_unseen_in_train,
        t.test_triples_with_unseen_entity,
        t.domains,
    );
    Ok((summary, md))
}
