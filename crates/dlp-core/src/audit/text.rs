//! Audit of text records (one document a line): exact duplicates, and near duplicates by
//! MinHash over character 5-gram shingles with LSH (128 hashes in 32 bands of 4), confirmed by
//! the exact Jaccard similarity, at least [`NEAR_JACCARD`].

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

/// Jaccard similarity of shingle sets from which two distinct texts are near duplicates.
pub const NEAR_JACCARD: f64 = 0.8;

fn hash64<T: Hash>(x: T, seed: u64) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    seed.hash(&mut h);
    x.hash(&mut h);
    h.finish()
}

/// The character 5-gram shingles of a text (lower-cased, whitespace collapsed), hashed.
pub fn shingles(text: &str) -> HashSet<u64> {
    let norm: Vec<char> = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        .chars()
        .collect();
    if norm.len() < 5 {
        return HashSet::from([hash64(&norm, 0)]);
    }
    norm.windows(5).map(|w| hash64(w, 0)).collect()
}

/// Groups of indices of identical texts (after whitespace normalisation).
pub fn exact_duplicates(texts: &[&str]) -> Vec<Vec<usize>> {
    let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, t) in texts.iter().enumerate() {
        groups
            .entry(t.split_whitespace().collect::<Vec<_>>().join(" "))
            .or_default()
            .push(i);
    }
    let mut out: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() > 1).collect();
    out.sort();
    out
}

/// Pairs (i, j, Jaccard) of distinct near-duplicate texts.
pub fn near_duplicates(texts: &[&str], threshold: f64) -> Vec<(usize, usize, f64)> {
    let sets: Vec<HashSet<u64>> = texts.iter().map(|t| shingles(t)).collect();
    let sigs: Vec<Vec<u64>> = sets
        .iter()
        .map(|s| {
            (0..128)
                .map(|k| s.iter().map(|&x| hash64(x, k + 1)).min().unwrap_or(0))
                .collect()
        })
        .collect();
    let mut candidates: HashSet<(usize, usize)> = HashSet::new();
    for band in 0..32 {
        let mut buckets: HashMap<&[u64], Vec<usize>> = HashMap::new();
        for (i, s) in sigs.iter().enumerate() {
            buckets
                .entry(&s[band * 4..band * 4 + 4])
                .or_default()
                .push(i);
        }
        for m in buckets.values() {
            for (a, &i) in m.iter().enumerate() {
                for &j in &m[a + 1..] {
                    candidates.insert((i, j));
                }
            }
        }
    }
    let norm = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: Vec<(usize, usize, f64)> = candidates
        .into_iter()
        .filter(|&(i, j)| norm(texts[i]) != norm(texts[j]))
        .map(|(i, j)| {
            let inter = sets[i].intersection(&sets[j]).count() as f64;
            let union = (sets[i].len() + sets[j].len()) as f64 - inter;
            (i, j, inter / union.max(1.0))
        })
        .collect();
    out.retain(|p| p.2 >= threshold);
    out.sort_by(|a, b| b.2.total_cmp(&a.2).then((a.0, a.1).cmp(&(b.0, b.1))));
    out
}
