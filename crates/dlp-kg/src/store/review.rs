//! Facts extracted from text wait in a review graph until accepted.
//!
//! [`KnowledgeGraph::extract`] links text to the store's instances by their `rdfs:label`,
//! `skos:prefLabel` and `skos:altLabel` (kinds from the local names of their `rdf:type`
//! concepts), runs the [`Extractor`], and writes each candidate into the source graph
//! `review:RUN` only as an `rdf:Statement` carrying `urn:dlp:confidence`, `urn:dlp:pattern`,
//! `urn:dlp:document`, `urn:dlp:sentence`, `urn:dlp:start`, `urn:dlp:end` and `urn:dlp:evidence`
//! (the sentence), so nothing is asserted yet. [`KnowledgeGraph::review`] accepts candidates
//! (by id or confidence) into `extraction:RUN`, where they are asserted facts with their
//! provenance, and removes the accepted and the rejected ones from the review graph.
//! Relations are Wikidata properties (`wdt:P19`); is-a facts are `rdf:type` to the concept whose
//! label is the noun, or to a new `urn:dlp:concept:NOUN`.

use super::{KnowledgeGraph, source_graph, store_err};
use crate::extract::{Extractor, Instance, Kind, Object};
use crate::store::wikidata::WDT;
use dlp_core::error::{Error, Result};
use oxigraph::model::{GraphNameRef, Literal, NamedNode, NamedOrBlankNode, Quad, Term};
use std::collections::HashMap;

const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";

/// A candidate waiting in a review graph.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Pending {
    /// Its number within the run.
    pub id: usize,
    pub subject: String,
    pub predicate: String,
    pub object: String,
    pub confidence: f32,
    pub document: String,
    pub evidence: String,
}

/// What a review decides: ids to accept or reject, and confidence thresholds.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    pub accept: Vec<usize>,
    pub reject: Vec<usize>,
    pub accept_above: Option<f32>,
    pub reject_below: Option<f32>,
}

fn kind_of_concept(iri: &str) -> Option<Kind> {
    let name = iri
        .rsplit(['/', '#', ':'])
        .next()
        .unwrap_or(iri)
        .to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| name.contains(w));
    if has(&["person", "human", "people"]) || name == "q5" {
        Some(Kind::Person)
    } else if has(&[
        "city", "country", "place", "location", "region", "town", "state", "village",
    ]) {
        Some(Kind::Location)
    } else if has(&[
        "organi",
        "company",
        "band",
        "team",
        "club",
        "university",
        "party",
    ]) {
        Some(Kind::Organization)
    } else if has(&[
        "work", "film", "album", "book", "song", "novel", "game", "series",
    ]) {
        Some(Kind::Misc)
    } else {
        None
    }
}

fn text(t: &Option<Term>) -> String {
    match t {
        Some(Term::Literal(l)) => l.value().to_string(),
        Some(Term::NamedNode(n)) => n.as_str().to_string(),
        Some(t) => t.to_string(),
        None => String::new(),
    }
}

impl KnowledgeGraph {
    /// The store's named instances, ready for linking.
    pub fn extractor(&self) -> Result<Extractor> {
        let labels = self.select(
            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
             SELECT DISTINCT ?i ?l WHERE { GRAPH ?g { ?i rdfs:label|skos:prefLabel|skos:altLabel ?l } FILTER(isIRI(?i) && isLiteral(?l)) }",
        )?;
        let types = self.select(
            "SELECT DISTINCT ?i ?c WHERE { GRAPH ?g { ?i a ?c } FILTER(isIRI(?i) && isIRI(?c)) }",
        )?;
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut instances: Vec<Instance> = Vec::new();
        for r in &labels {
            let name = text(&r[0]);
            let i = *index.entry(name.clone()).or_insert_with(|| {
                instances.push(Instance {
                    name,
                    aliases: Vec::new(),
                    kind: None,
                });
                instances.len() - 1
            });
            instances[i].aliases.push(text(&r[1]));
        }
        for r in &types {
            if let Some(&i) = index.get(&text(&r[0])) {
                instances[i].kind = instances[i].kind.or(kind_of_concept(&text(&r[1])));
            }
        }
        Ok(Extractor::new(instances))
    }

    /// Extracts candidates from `(document name, text)` pairs into `review:RUN`, replacing that
    /// run's earlier candidates; returns how many there are per relation.
    pub fn extract(&self, run: &str, docs: &[(String, String)]) -> Result<Vec<(String, usize)>> {
        let extractor = self.extractor()?;
        let concepts: HashMap<String, String> = self.select(
            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX owl: <http://www.w3.org/2002/07/owl#>
             SELECT ?c ?l WHERE { GRAPH ?g { ?c a owl:Class ; rdfs:label ?l } }",
        )?
        .iter()
        .map(|r| (text(&r[1]).to_lowercase(), text(&r[0])))
        .collect();
        let source = format!("review:{run}");
        self.retract(&source)?;
        let graph = source_graph(&source)?;
        let iri = |s: &str| NamedNode::new(s).map_err(|e| Error::Usage(format!("IRI `{s}`: {e}")));
        let rdf = |s: &str| NamedNode::new_unchecked(format!("{RDF}{s}"));
        let dlp = |s: &str| NamedNode::new_unchecked(format!("urn:dlp:{s}"));
        let mut quads = Vec::new();
        let mut counts: HashMap<String, usize> = HashMap::new();
        let mut id = 0;
        for (doc, body) in docs {
            let chars: Vec<char> = body.chars().collect();
            for c in extractor.extract(body) {
                let subject = iri(&extractor.instances()[c.subject].name)?;
                let (predicate, object) = match &c.object {
                    Object::Instance(o) => (
                        iri(&format!("{WDT}{}", c.relation))?,
                        iri(&extractor.instances()[*o].name)?,
                    ),
                    Object::Concept(noun) => {
                        let target = concepts
                            .get(noun)
                            .cloned()
                            .unwrap_or_else(|| format!("urn:dlp:concept:{noun}"));
                        (rdf("type"), iri(&target)?)
                    }
                };
                *counts.entry(predicate.as_str().to_string()).or_default() += 1;
                let st = NamedNode::new_unchecked(format!("{}/candidate/{id}", graph.as_str()));
                let evidence: String = chars[c.start..c.end].iter().collect();
                let facts: Vec<(NamedNode, Term)> = vec![
                    (rdf("type"), rdf("Statement").into()),
                    (rdf("subject"), subject.into()),
                    (rdf("predicate"), predicate.into()),
                    (rdf("object"), object.into()),
                    (dlp("confidence"), Literal::from(c.confidence).into()),
                    (
                        dlp("pattern"),
                        Literal::new_simple_literal(c.pattern).into(),
                    ),
                    (dlp("document"), Literal::new_simple_literal(doc).into()),
                    (dlp("sentence"), Literal::from(c.sentence as i64).into()),
                    (dlp("start"), Literal::from(c.start as i64).into()),
                    (dlp("end"), Literal::from(c.end as i64).into()),
                    (
                        dlp("evidence"),
                        Literal::new_simple_literal(evidence).into(),
                    ),
                    (dlp("id"), Literal::from(id as i64).into()),
                ];
                for (p, o) in facts {
                    quads.push(Quad::new(st.clone(), p, o, graph.clone()));
                }
                id += 1;
            }
        }
        let mut loader = self.store().bulk_loader();
        loader
            .load_quads(quads)
            .map_err(|e| store_err("extract", e))?;
        loader.commit().map_err(|e| store_err("extract", e))?;
        let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
        counts.sort();
        Ok(counts)
    }

    /// The candidates waiting in `review:RUN`, by id.
    pub fn pending(&self, run: &str) -> Result<Vec<Pending>> {
        let graph = source_graph(&format!("review:{run}"))?;
        let q = format!(
            "PREFIX rdf: <{RDF}> SELECT ?id ?s ?p ?o ?c ?d ?e WHERE {{ GRAPH <{}> {{ ?st rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ;
             <urn:dlp:confidence> ?c ; <urn:dlp:document> ?d ; <urn:dlp:evidence> ?e ; <urn:dlp:id> ?id }} }} ORDER BY ?id",
            graph.as_str()
        );
        self.select(&q)?
            .iter()
            .map(|r| {
                Ok(Pending {
                    id: text(&r[0])
                        .parse()
                        .map_err(|_| store_err("review", "bad candidate id"))?,
                    subject: text(&r[1]),
                    predicate: text(&r[2]),
                    object: text(&r[3]),
                    confidence: text(&r[4]).parse().unwrap_or(0.0),
                    document: text(&r[5]),
                    evidence: text(&r[6]),
                })
            })
            .collect()
    }

    /// Applies a review to `review:RUN`: accepted candidates become facts in `extraction:RUN`;
    /// accepted and rejected ones leave the review graph. Returns (accepted, rejected).
    pub fn review(&self, run: &str, d: &Decision) -> Result<(usize, usize)> {
        let review = source_graph(&format!("review:{run}"))?;
        let target = source_graph(&format!("extraction:{run}"))?;
        let pending = self.pending(run)?;
        for id in d.accept.iter().chain(&d.reject) {
            if !pending.iter().any(|p| p.id == *id) {
                return Err(Error::Usage(format!("review:{run} has no candidate {id}")));
            }
        }
        let (mut accepted, mut rejected) = (0, 0);
        for p in &pending {
            // Ids named explicitly win over thresholds.
            let named_reject = d.reject.contains(&p.id);
            let accept = d.accept.contains(&p.id)
                || (!named_reject && d.accept_above.is_some_and(|t| p.confidence >= t));
            let reject =
                !accept && (named_reject || d.reject_below.is_some_and(|t| p.confidence < t));
            if !(accept || reject) {
                continue;
            }
            if accept {
                let n = |s: &str| NamedNode::new(s).map_err(|e| store_err("review", e));
                let q = Quad::new(
                    n(&p.subject)?,
                    n(&p.predicate)?,
                    n(&p.object)?,
                    target.clone(),
                );
                self.store()
                    .insert(&q)
                    .map_err(|e| store_err("review", e))?;
                accepted += 1;
            } else {
                rejected += 1;
            }
            let st = NamedOrBlankNode::from(NamedNode::new_unchecked(format!(
                "{}/candidate/{}",
                review.as_str(),
                p.id
            )));
            let quads: Vec<Quad> = self
                .store()
                .quads_for_pattern(
                    Some(st.as_ref()),
                    None,
                    None,
                    Some(GraphNameRef::NamedNode(review.as_ref())),
                )
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| store_err("review", e))?;
            for q in quads {
                self.store()
                    .remove(&q)
                    .map_err(|e| store_err("review", e))?;
            }
        }
        Ok((accepted, rejected))
    }
}
