//! Merging two aligned graphs into one store without losing a fact.
//!
//! - Entities: links with confidence at least `min_confidence` join entities into clusters
//!   (union-find); each cluster gets one canonical IRI, its graph-2 member's (the reference
//!   graph in DBP15K, English DBpedia), else its graph-1 member's.
//! - Relations: a graph-1 and a graph-2 relation with the same local name (`…/property/birthPlace`)
//!   are the same relation, under the graph-2 IRI.
//! - Facts: every input triple is written, rewritten to canonical IRIs, into the source graph of
//!   its input (`import:<pair>/1`, `import:<pair>/2`), so the union keeps each fact's source and
//!   a fact both graphs state is kept twice, once per source.
//! - Links: the source graph `align:<run>` holds `owl:sameAs` from every other member to its
//!   canonical IRI, each with an RDF reification carrying `urn:dlp:confidence` and
//!   `urn:dlp:seed`, and `owl:equivalentProperty` for matched relations. Any input triple is
//!   traced back by following `owl:sameAs` from the canonical IRIs.
//! - Conflicts: a relation that is functional in every input using it (no subject has two
//!   objects there) but whose merged subject now has two or more objects is listed with each
//!   object and its source, and nothing is resolved.

use super::Link;
use super::names::local_name;
use crate::store::{KnowledgeGraph, source_graph, store_err};
use dlp_core::data::pair::AlignmentPair;
use dlp_core::error::Result;
use oxigraph::model::{Literal, NamedNode, Quad};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const OWL: &str = "http://www.w3.org/2002/07/owl#";
const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";

/// One functional relation with more than one object on a merged subject.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Conflict {
    pub subject: String,
    pub relation: String,
    /// (object, source graph) pairs.
    pub values: Vec<(String, String)>,
}

/// Counts before and after a merge, and the conflicts found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MergeReport {
    pub triples_in: [usize; 2],
    pub entities_before: usize,
    pub entities_after: usize,
    pub links_used: usize,
    pub relations_matched: usize,
    /// Fact quads written into the two source graphs (equals the input triples).
    pub facts_written: usize,
    /// Distinct (subject, relation, object) facts after canonicalisation.
    pub distinct_facts: usize,
    /// Quads in the link graph.
    pub link_quads: usize,
    pub conflicts: Vec<Conflict>,
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        parent[x as usize] = parent[parent[x as usize] as usize];
        x = parent[x as usize];
    }
    x
}

/// Merges `pair` into `kg` under sources named after `name`, using the `links` whose confidence
/// is at least `min_confidence`; `run` names the link graph.
pub fn merge(
    kg: &KnowledgeGraph,
    pair: &AlignmentPair,
    name: &str,
    links: &[Link],
    min_confidence: f32,
    run: &str,
) -> Result<MergeReport> {
    let n = pair.len();
    let mut parent: Vec<u32> = (0..n as u32).collect();
    let used: Vec<&Link> = links
        .iter()
        .filter(|l| l.seed || l.confidence >= min_confidence)
        .collect();
    for l in &used {
        let (a, b) = (find(&mut parent, l.a), find(&mut parent, l.b));
        parent[a.max(b) as usize] = a.min(b);
    }
    // Canonical member per cluster: the smallest graph-2 index, else the smallest graph-1 index.
    let mut canon_of_root: HashMap<u32, u32> = HashMap::new();
    for e in 0..n as u32 {
        let root = find(&mut parent, e);
        let c = canon_of_root.entry(root).or_insert(e);
        let key = |x: u32| ((x as usize) < pair.n1, x);
        if key(e) < key(*c) {
            *c = e;
        }
    }
    let canon: Vec<u32> = (0..n as u32)
        .map(|e| canon_of_root[&find(&mut parent, e)])
        .collect();
    // Relations: graph-1 relations map onto graph-2 relations with the same local name.
    let mut rel_canon: Vec<u32> = (0..pair.relations.len() as u32).collect();
    let in_g2: BTreeSet<u32> = pair.triples[pair.t1..].iter().map(|t| t[1]).collect();
    let g2_by_name: HashMap<String, u32> = in_g2
        .iter()
        .map(|&r| (local_name(&pair.relations[r as usize]), r))
        .collect();
    let in_g1: BTreeSet<u32> = pair.triples[..pair.t1].iter().map(|t| t[1]).collect();
    let mut relations_matched = 0;
    for &r in in_g1.difference(&in_g2) {
        if let Some(&r2) = g2_by_name.get(&local_name(&pair.relations[r as usize])) {
            rel_canon[r as usize] = r2;
            relations_matched += 1;
        }
    }
    let iri = |s: &str| NamedNode::new(s).map_err(|e| store_err(&format!("IRI `{s}`"), e));
    let ents: Vec<NamedNode> = pair
        .entities
        .iter()
        .map(|s| iri(s))
        .collect::<Result<_>>()?;
    let rels: Vec<NamedNode> = pair
        .relations
        .iter()
        .map(|s| iri(s))
        .collect::<Result<_>>()?;
    let graphs = [
        source_graph(&format!("import:{name}/1"))?,
        source_graph(&format!("import:{name}/2"))?,
    ];
    let mut quads = Vec::with_capacity(pair.triples.len());
    let mut distinct = BTreeSet::new();
    // (subject, relation) -> objects with their source, and per-source functionality.
    let mut objects: BTreeMap<(u32, u32), BTreeSet<(u32, usize)>> = BTreeMap::new();
    let mut per_source: HashMap<(usize, u32, u32), BTreeSet<u32>> = HashMap::new();
    for (i, &[h, r, t]) in pair.triples.iter().enumerate() {
        let src = usize::from(i >= pair.t1);
        let (h, r0, t) = (canon[h as usize], r, canon[t as usize]);
        let r = rel_canon[r0 as usize];
        quads.push(Quad::new(
            ents[h as usize].clone(),
            rels[r as usize].clone(),
            ents[t as usize].clone(),
            graphs[src].clone(),
        ));
        distinct.insert((h, r, t));
        objects.entry((h, r)).or_default().insert((t, src));
        per_source
            .entry((src, r0, pair.triples[i][0]))
            .or_default()
            .insert(pair.triples[i][2]);
    }
    let mut functional: HashMap<u32, bool> = HashMap::new();
    for ((_, r0, _), objs) in &per_source {
        let f = functional.entry(rel_canon[*r0 as usize]).or_insert(true);
        *f &= objs.len() <= 1;
    }
    let conflicts: Vec<Conflict> = objects
        .iter()
        .filter(|((_, r), objs)| {
            functional[r] && objs.iter().map(|o| o.0).collect::<BTreeSet<_>>().len() > 1
        })
        .map(|(&(h, r), objs)| Conflict {
            subject: pair.entities[h as usize].clone(),
            relation: pair.relations[r as usize].clone(),
            values: objs
                .iter()
                .map(|&(t, s)| {
                    (
                        pair.entities[t as usize].clone(),
                        format!("import:{name}/{}", s + 1),
                    )
                })
                .collect(),
        })
        .collect();
    let facts_written = quads.len();
    let link_graph = source_graph(&format!("align:{run}"))?;
    let same_as = iri(&format!("{OWL}sameAs"))?;
    let rdf = |s: &str| NamedNode::new_unchecked(format!("{RDF}{s}"));
    let mut link_quads = 0;
    for (i, l) in used.iter().enumerate() {
        for m in [l.a, l.b] {
            let c = canon[m as usize];
            if c == m {
                continue;
            }
            let st = NamedNode::new_unchecked(format!("{}/link/{i}/{m}", link_graph.as_str()));
            let (s, o) = (ents[m as usize].clone(), ents[c as usize].clone());
            for q in [
                Quad::new(s.clone(), same_as.clone(), o.clone(), link_graph.clone()),
                Quad::new(
                    st.clone(),
                    rdf("type"),
                    rdf("Statement"),
                    link_graph.clone(),
                ),
                Quad::new(st.clone(), rdf("subject"), s, link_graph.clone()),
                Quad::new(
                    st.clone(),
                    rdf("predicate"),
                    same_as.clone(),
                    link_graph.clone(),
                ),
                Quad::new(st.clone(), rdf("object"), o, link_graph.clone()),
                Quad::new(
                    st.clone(),
                    NamedNode::new_unchecked("urn:dlp:confidence"),
                    Literal::from(l.confidence),
                    link_graph.clone(),
                ),
                Quad::new(
                    st,
                    NamedNode::new_unchecked("urn:dlp:seed"),
                    Literal::from(l.seed),
                    link_graph.clone(),
                ),
            ] {
                quads.push(q);
                link_quads += 1;
            }
        }
    }
    let equivalent = iri(&format!("{OWL}equivalentProperty"))?;
    for (r, &c) in rel_canon.iter().enumerate() {
        if c as usize != r {
            quads.push(Quad::new(
                rels[r].clone(),
                equivalent.clone(),
                rels[c as usize].clone(),
                link_graph.clone(),
            ));
            link_quads += 1;
        }
    }
    let mut loader = kg.store().bulk_loader();
    loader
        .load_quads(quads)
        .map_err(|e| store_err("merge", e))?;
    loader.commit().map_err(|e| store_err("merge", e))?;
    let entities_after = canon
        .iter()
        .enumerate()
        .filter(|&(e, &c)| e as u32 == c)
        .count();
    Ok(MergeReport {
        triples_in: [pair.t1, pair.triples.len() - pair.t1],
        entities_before: n,
        entities_after,
        links_used: used.len(),
        relations_matched,
        facts_written,
        distinct_facts: distinct.len(),
        link_quads,
        conflicts,
    })
}
