//! Structure-only alignment features by three-view label propagation (after LightEA, Mao et al.
//! 2022, arXiv 2210.10436): no training, a few sparse products.
//!
//! Both graphs share one entity space; each relation r also gets an inverse r⁻¹. Every seed pair
//! (a, b) receives one random unit label ℓ ∈ ℝ^d, put on both a and b; other entities start at 0.
//! Labels then spread for `depth` steps over the entity and relation views:
//!
//!   R⁽ᵏ⁺¹⁾ = norm(M_re E⁽ᵏ⁾),   E⁽ᵏ⁺¹⁾ = norm(A E⁽ᵏ⁾ + M_er R⁽ᵏ⁾)
//!
//! where A is the entity adjacency with self-loops weighted by degree, M_re sums the heads of each
//! relation and M_er the relations into each entity, and `norm` scales rows to unit length. With
//! E = norm([E⁽⁰⁾ … E⁽ᵈᵉᵖᵗʰ⁾]) and R = norm([R⁽⁰⁾ … R⁽ᵈᵉᵖᵗʰ⁾]) G (G random, `heads` columns),
//! the triple view gives each ordered neighbour pair (h, t) the weights w_ht = Σ_{r: (h,r,t)} R_r,
//! one per head k, and the feature of h for head k is
//!
//!   F_h[k] = Σ_t w_ht[k] · E_t P_k      (P_k random, `mini` columns),
//!
//! so the output has `heads · mini` columns, normalised. Two entities get similar features when
//! their neighbourhoods hold the same seeds through similar relations.
//!
//! ```
//! use dlp_kg::align::propagate::{Views, PropagationConfig};
//! // Two copies of a 3-chain a-b-c; a and c are seeds, b must come out closest to b'.
//! let triples = [[0, 0, 1], [1, 0, 2], [3, 1, 4], [4, 1, 5]];
//! let views = Views::new(6, 2, &triples);
//! let cfg = PropagationConfig { dim: 64, depth: 2, heads: 16, mini: 8 };
//! let f = views.features(&[(0, 3), (2, 5)], &cfg, 7);
//! let d = cfg.heads * cfg.mini;
//! let dot = |i: usize, j: usize| (0..d).map(|k| f[i * d + k] * f[j * d + k]).sum::<f32>();
//! assert!(dot(1, 4) > 0.99);
//! ```

use super::sparse::{Csr, normalize_rows};
use crate::linalg::matmul_ab;
use dlp_core::rng::Rng;
use rayon::prelude::*;

/// Sizes of the propagation.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PropagationConfig {
    /// Width of the random seed labels.
    pub dim: usize,
    /// Propagation steps.
    pub depth: usize,
    /// Relation-view projections (heads) of the triple view.
    pub heads: usize,
    /// Columns per head.
    pub mini: usize,
}

impl Default for PropagationConfig {
    fn default() -> Self {
        PropagationConfig {
            dim: 256,
            depth: 2,
            heads: 256,
            mini: 16,
        }
    }
}

/// The entity, relation and triple views of the union of two graphs.
#[derive(Debug, Clone)]
pub struct Views {
    n: usize,
    rels: usize,
    ent_ent: Csr,
    rel_ent: Csr,
    ent_rel: Csr,
    /// Row h lists t for each ordered neighbour pair (h, t); an entry's position in the CSR is
    /// the pair's row in `tuple_rel` (both follow the sorted pairs).
    tuples: Csr,
    tuple_rel: Csr,
}

impl Views {
    /// Views of `n` entities and `relations` relations over `triples` (h, r, t).
    pub fn new(n: usize, relations: usize, triples: &[[u32; 3]]) -> Self {
        let mut edges: Vec<(u32, u32, u32)> = triples
            .iter()
            .flat_map(|&[h, r, t]| [(h, t, 2 * r), (t, h, 2 * r + 1)])
            .collect();
        edges.sort_unstable();
        edges.dedup();
        let mut ee: Vec<(u32, u32, f32)> = Vec::with_capacity(edges.len() * 3);
        for &(h, t, _) in &edges {
            ee.extend([(h, h, 1.0), (t, t, 1.0), (h, t, 1.0)]);
        }
        let rels = 2 * relations;
        let mut pairs: Vec<(u32, u32)> = edges.iter().map(|&(h, t, _)| (h, t)).collect();
        pairs.dedup();
        let tuple_of = |h: u32, t: u32| pairs.binary_search(&(h, t)).expect("pair listed") as u32;
        Views {
            n,
            rels,
            ent_ent: Csr::new(n, ee),
            rel_ent: Csr::binary(rels, edges.iter().map(|&(h, _, r)| (r, h))),
            ent_rel: Csr::binary(n, edges.iter().map(|&(_, t, r)| (t, r))),
            tuple_rel: Csr::binary(
                pairs.len(),
                edges.iter().map(|&(h, t, r)| (tuple_of(h, t), r)),
            ),
            tuples: Csr::binary(n, pairs.iter().copied()),
        }
    }

    /// Number of entities.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there are no entities.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Entity features (`n` rows of `heads · mini`, unit length) from the seed pairs.
    pub fn features(&self, seeds: &[(u32, u32)], cfg: &PropagationConfig, seed: u64) -> Vec<f32> {
        let (n, d) = (self.n, cfg.dim);
        let mut rng = Rng::new(seed);
        let mut e = vec![0.0f32; n * d];
        for &(a, b) in seeds {
            let mut label: Vec<f32> = (0..d).map(|_| rng.normal() as f32).collect();
            normalize_rows(&mut label, d);
            e[a as usize * d..(a as usize + 1) * d].copy_from_slice(&label);
            e[b as usize * d..(b as usize + 1) * d].copy_from_slice(&label);
        }
        let mut r = vec![0.0f32; self.rels * d];
        let (mut es, mut rs) = (vec![e.clone()], vec![r.clone()]);
        for _ in 0..cfg.depth {
            let mut r_next = self.rel_ent.matmul(&e, d);
            normalize_rows(&mut r_next, d);
            let mut e_next = self.ent_ent.matmul(&e, d);
            let from_rels = self.ent_rel.matmul(&r, d);
            e_next.iter_mut().zip(&from_rels).for_each(|(x, y)| *x += y);
            normalize_rows(&mut e_next, d);
            (e, r) = (e_next, r_next);
            es.push(e.clone());
            rs.push(r.clone());
        }
        let width = d * (cfg.depth + 1);
        let e = concat(&es, n, d);
        let r = concat(&rs, self.rels, d);
        let g = random_projection(&mut rng, width, 1, cfg.heads);
        let mut rp = vec![0.0f32; self.rels * cfg.heads];
        matmul_ab(&r, &g, self.rels, cfg.heads, width, &mut rp, false);
        let w = self.tuple_rel.matmul(&rp, cfg.heads);
        self.triple_view(&e, width, &w, cfg, &mut rng)
    }

    /// F_h[k] = Σ_t w_ht[k] · E_t P_k, computed a block of heads at a time.
    fn triple_view(
        &self,
        e: &[f32],
        width: usize,
        w: &[f32],
        cfg: &PropagationConfig,
        rng: &mut Rng,
    ) -> Vec<f32> {
        let (heads, mini) = (cfg.heads, cfg.mini);
        let out_dim = heads * mini;
        let mut out = vec![0.0f32; self.n * out_dim];
        const BLOCK: usize = 32;
        for k0 in (0..heads).step_by(BLOCK) {
            let kb = BLOCK.min(heads - k0);
            let p = random_projection(rng, width, kb, mini);
            let mut proj = vec![0.0f32; self.n * kb * mini];
            matmul_ab(e, &p, self.n, kb * mini, width, &mut proj, false);
            out.par_chunks_mut(out_dim).enumerate().for_each(|(h, fh)| {
                for tuple in self.tuples.ptr[h]..self.tuples.ptr[h + 1] {
                    let t = self.tuples.cols[tuple] as usize;
                    let wt = &w[tuple * heads..][k0..k0 + kb];
                    let pt = &proj[t * kb * mini..(t + 1) * kb * mini];
                    for (j, &wk) in wt.iter().enumerate() {
                        let dst = &mut fh[(k0 + j) * mini..(k0 + j + 1) * mini];
                        for (o, &x) in dst.iter_mut().zip(&pt[j * mini..(j + 1) * mini]) {
                            *o += wk * x;
                        }
                    }
                }
            });
        }
        normalize_rows(&mut out, out_dim);
        out
    }
}

/// `[X₀ X₁ …]` for row-major blocks of `rows × d`, each row then scaled to unit length.
fn concat(blocks: &[Vec<f32>], rows: usize, d: usize) -> Vec<f32> {
    let width = d * blocks.len();
    let mut out = vec![0.0f32; rows * width];
    out.par_chunks_mut(width).enumerate().for_each(|(i, row)| {
        for (b, block) in blocks.iter().enumerate() {
            row[b * d..(b + 1) * d].copy_from_slice(&block[i * d..(i + 1) * d]);
        }
    });
    normalize_rows(&mut out, width);
    out
}

/// A `width × (count · cols)` Gaussian matrix whose rows are unit length within each of the
/// `count` blocks of `cols` columns.
fn random_projection(rng: &mut Rng, width: usize, count: usize, cols: usize) -> Vec<f32> {
    let mut g: Vec<f32> = (0..width * count * cols)
        .map(|_| rng.normal() as f32)
        .collect();
    normalize_rows(&mut g, cols);
    g
}
