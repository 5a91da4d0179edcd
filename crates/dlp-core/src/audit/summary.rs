//! What `dlp data audit` reports: one typed summary per kind of dataset, written to
//! `summary.json` (and printed by `--json`), from which the Markdown report is written.

use serde::Serialize;

/// An audit of any kind; serialises as the summary of its kind.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Audit {
    Text(TextAudit),
    Images(ImageAudit),
    Triples(TripleAudit),
}

/// A text file, one record a line.
#[derive(Debug, Clone, Serialize)]
pub struct TextAudit {
    pub kind: &'static str,
    pub dataset: String,
    pub records: usize,
    /// Extra copies of records that occur more than once.
    pub within_split_duplicates: usize,
    pub cross_split_duplicates: usize,
    pub near_duplicates: usize,
    pub near_duplicate_jaccard: f64,
    pub empty_records: usize,
    pub top_near_duplicates: Vec<TextPair>,
    pub dlp_version: &'static str,
}

/// Two near-duplicate records by line number (from 1).
#[derive(Debug, Clone, Serialize)]
pub struct TextPair {
    pub a: usize,
    pub b: usize,
    pub jaccard: f64,
}

/// Labelled images, a training and a test split.
#[derive(Debug, Clone, Serialize)]
pub struct ImageAudit {
    pub kind: &'static str,
    pub dataset: String,
    pub train: usize,
    pub test: usize,
    pub within_split_duplicates: usize,
    /// Test images byte-identical to a training image.
    pub cross_split_duplicates: usize,
    pub near_duplicates: usize,
    pub cross_split_near_duplicates: usize,
    pub near_duplicate_cosine: f64,
    pub class_counts: Splits<Vec<usize>>,
    /// Largest over smallest non-empty class.
    pub imbalance_ratio: Splits<f64>,
    pub out_of_range_labels: usize,
    pub suspected_label_errors: usize,
    /// Out-of-fold accuracy of the model that finds label errors.
    pub label_model_accuracy: f64,
    /// Whether that model is good enough for confident learning to mean anything.
    pub label_errors_reliable: bool,
    pub top_label_errors: Vec<LabelError>,
    pub top_near_duplicates: Vec<ImagePair>,
    /// For a folder: files that could not be decoded, with why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undecodable_files: Option<Vec<(String, String)>>,
    pub dlp_version: &'static str,
}

/// One value per split.
#[derive(Debug, Clone, Serialize)]
pub struct Splits<T> {
    pub train: T,
    pub test: T,
}

/// An image whose label the model doubts.
#[derive(Debug, Clone, Serialize)]
pub struct LabelError {
    pub split: &'static str,
    pub index: usize,
    pub label: u8,
    pub suggested: usize,
    pub p_label: f32,
}

/// An image of a split.
#[derive(Debug, Clone, Serialize)]
pub struct ImageAt {
    pub split: &'static str,
    pub index: usize,
}

/// Two near-duplicate images.
#[derive(Debug, Clone, Serialize)]
pub struct ImagePair {
    pub a: ImageAt,
    pub b: ImageAt,
    pub cosine: f64,
}

/// A link-prediction dataset.
#[derive(Debug, Clone, Serialize)]
pub struct TripleAudit {
    pub kind: &'static str,
    pub dataset: String,
    pub domains: usize,
    pub top_domains: Vec<DomainCount>,
    pub train: usize,
    pub valid: usize,
    pub test: usize,
    pub entities: usize,
    pub relations: usize,
    pub within_split_duplicates: usize,
    pub cross_split_duplicates: usize,
    pub cross_split_detail: CrossSplit,
    /// Share of test triples whose reverse is in training.
    pub inverse_leak_fraction: f64,
    pub inverse_leaks: usize,
    /// The inverse-rule baseline's filtered MRR and Hits@1.
    pub inverse_rule_mrr: f64,
    pub inverse_rule_hits_at_1: f64,
    pub near_inverse_relation_pairs: Vec<RelationPair>,
    pub near_duplicate_relation_pairs: Vec<RelationPair>,
    /// The number of near-duplicate relation pairs.
    pub near_duplicates: usize,
    pub top_relations: Vec<RelationCount>,
    pub degree: Degree,
    pub test_entities_unseen_in_train: usize,
    pub test_triples_with_unseen_entity: usize,
    pub dlp_version: &'static str,
}

/// Where the cross-split duplicates are.
#[derive(Debug, Clone, Serialize)]
pub struct CrossSplit {
    pub valid_in_train: usize,
    pub test_in_train: usize,
    pub test_in_valid: usize,
}

/// Two relations whose pairs largely cover each other's (reversed, for near-inverse pairs).
#[derive(Debug, Clone, Serialize)]
pub struct RelationPair {
    pub r1: String,
    pub r2: String,
    pub r1_covered: f64,
    pub r2_covered: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RelationCount {
    pub relation: String,
    pub train_triples: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct DomainCount {
    pub domain: String,
    pub train_triples: usize,
}

/// Entity degree in training.
#[derive(Debug, Clone, Serialize)]
pub struct Degree {
    pub max: Option<usize>,
    pub mean: f64,
    pub gini: f64,
}

impl Audit {
    /// Names the dataset the audit is of.
    pub fn set_dataset(&mut self, name: &str) {
        let dataset = match self {
            Audit::Text(a) => &mut a.dataset,
            Audit::Images(a) => &mut a.dataset,
            Audit::Triples(a) => &mut a.dataset,
        };
        *dataset = name.to_string();
    }
}
