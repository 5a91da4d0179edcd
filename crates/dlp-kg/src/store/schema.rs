//! The schema of a knowledge graph and the checks against it (the Roadmap's model: instances,
//! concepts, relations and values), in RDFS/OWL terms that every RDF tool reads:
//!
//! | term | declared as |
//! | --- | --- |
//! | concept | `C a owl:Class` (or `rdfs:Class`), `C rdfs:subClassOf D` |
//! | relation | `p a owl:ObjectProperty`, `p rdfs:domain C`, `p rdfs:range D` |
//! | value | `p a owl:DatatypeProperty`, `p rdfs:domain C`, `p rdfs:range xsd:…` |
//! | functional | `p a owl:FunctionalProperty`: at most one value per subject |
//! | instance | `x a C`, `x rdfs:label "…"@lang`, `x skos:altLabel "…"@lang` |
//!
//! [`Schema::check`] names every triple that breaks a rule ([`Rule`]): a subject outside a
//! relation's domain, an object outside its range, a value of the wrong datatype, a second value
//! of a functional property, or a property or class that is not declared. Types follow the
//! subclass hierarchy: an instance of C is an instance of every superclass of C.
//!
//! ```
//! use dlp_kg::store::KnowledgeGraph;
//! use dlp_kg::store::schema::Rule;
//! let kg = KnowledgeGraph::in_memory()?;
//! kg.insert_nt(r#"
//! <urn:x:Person> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/2002/07/owl#Class> .
//! <urn:x:age> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/2002/07/owl#DatatypeProperty> .
//! <urn:x:age> <http://www.w3.org/2000/01/rdf-schema#range> <http://www.w3.org/2001/XMLSchema#integer> .
//! <urn:x:ada> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <urn:x:Person> .
//! <urn:x:ada> <urn:x:age> "36" .
//! "#, "curator:demo")?;
//! let violations = kg.check()?;
//! assert_eq!(violations.len(), 1);
//! assert_eq!(violations[0].rule, Rule::Datatype);
//! # Ok::<(), dlp_core::Error>(())
//! ```

use super::{KnowledgeGraph, SOURCE_NS, store_err};
use dlp_core::error::Result;
use oxigraph::model::vocab::{rdf, rdfs};
use oxigraph::model::{NamedNode, NamedNodeRef, Quad, Term};
use std::collections::{HashMap, HashSet};

/// OWL and SKOS terms the schema uses.
pub mod vocab {
    use oxigraph::model::NamedNodeRef;
    const fn iri(s: &str) -> NamedNodeRef<'_> {
        NamedNodeRef::new_unchecked(s)
    }
    pub const OWL_CLASS: NamedNodeRef<'_> = iri("http://www.w3.org/2002/07/owl#Class");
    pub const OWL_OBJECT_PROPERTY: NamedNodeRef<'_> =
        iri("http://www.w3.org/2002/07/owl#ObjectProperty");
    pub const OWL_DATATYPE_PROPERTY: NamedNodeRef<'_> =
        iri("http://www.w3.org/2002/07/owl#DatatypeProperty");
    pub const OWL_FUNCTIONAL_PROPERTY: NamedNodeRef<'_> =
        iri("http://www.w3.org/2002/07/owl#FunctionalProperty");
    pub const SKOS_ALT_LABEL: NamedNodeRef<'_> =
        iri("http://www.w3.org/2004/02/skos/core#altLabel");
    pub const SKOS_PREF_LABEL: NamedNodeRef<'_> =
        iri("http://www.w3.org/2004/02/skos/core#prefLabel");
}
use vocab::*;

/// Which rule a triple breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    Domain,
    Range,
    Datatype,
    Functional,
    UndeclaredProperty,
    UndeclaredClass,
}

/// One broken rule: the triple (in N-Triples form), its source and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Violation {
    pub rule: Rule,
    pub triple: String,
    pub source: String,
    pub message: String,
}

/// What a property declares.
#[derive(Debug, Clone, Default)]
struct Property {
    datatype: bool,
    domain: Vec<NamedNode>,
    range: Vec<NamedNode>,
}

/// The declared schema and the instances' types.
#[derive(Debug, Default)]
pub struct Schema {
    classes: HashSet<NamedNode>,
    /// Each class with all its superclasses, itself included.
    ancestors: HashMap<NamedNode, HashSet<NamedNode>>,
    properties: HashMap<NamedNode, Property>,
    functional: HashSet<NamedNode>,
    types: HashMap<Term, Vec<NamedNode>>,
}

/// Predicates that are part of the model itself, always allowed.
fn builtin_predicate(p: NamedNodeRef<'_>) -> bool {
    [
        rdf::TYPE,
        rdfs::LABEL,
        rdfs::COMMENT,
        rdfs::SUB_CLASS_OF,
        rdfs::DOMAIN,
        rdfs::RANGE,
        SKOS_ALT_LABEL,
        SKOS_PREF_LABEL,
    ]
    .contains(&p)
}

/// Classes of the schema vocabulary (what declarations are instances of).
fn builtin_class(c: NamedNodeRef<'_>) -> bool {
    [
        OWL_CLASS,
        rdfs::CLASS,
        OWL_OBJECT_PROPERTY,
        OWL_DATATYPE_PROPERTY,
        OWL_FUNCTIONAL_PROPERTY,
        rdf::PROPERTY,
    ]
    .contains(&c)
}

impl Schema {
    /// Reads the schema and the types from `quads` (every graph).
    pub fn from_quads<'a>(quads: impl IntoIterator<Item = &'a Quad>) -> Self {
        let mut s = Schema::default();
        let mut parents: HashMap<NamedNode, Vec<NamedNode>> = HashMap::new();
        for q in quads {
            let (Some(subj), Term::NamedNode(obj)) = (subject_node(q), &q.object) else {
                continue;
            };
            let p = q.predicate.as_ref();
            if p == rdf::TYPE {
                let o = obj.as_ref();
                if o == OWL_CLASS || o == rdfs::CLASS {
                    s.classes.insert(subj.clone());
                } else if o == OWL_OBJECT_PROPERTY || o == rdf::PROPERTY {
                    s.properties.entry(subj.clone()).or_default();
                } else if o == OWL_DATATYPE_PROPERTY {
                    s.properties.entry(subj.clone()).or_default().datatype = true;
                } else if o == OWL_FUNCTIONAL_PROPERTY {
                    s.functional.insert(subj.clone());
                }
                s.types
                    .entry(q.subject.clone().into())
                    .or_default()
                    .push(obj.clone());
            } else if p == rdfs::SUB_CLASS_OF {
                parents.entry(subj.clone()).or_default().push(obj.clone());
            } else if p == rdfs::DOMAIN {
                s.properties
                    .entry(subj.clone())
                    .or_default()
                    .domain
                    .push(obj.clone());
            } else if p == rdfs::RANGE {
                s.properties
                    .entry(subj.clone())
                    .or_default()
                    .range
                    .push(obj.clone());
            }
        }
        for c in s.classes.iter().chain(parents.keys()) {
            let mut seen: HashSet<NamedNode> = HashSet::from([c.clone()]);
            let mut todo = vec![c.clone()];
            while let Some(x) = todo.pop() {
                for p in parents.get(&x).into_iter().flatten() {
                    if seen.insert(p.clone()) {
                        todo.push(p.clone());
                    }
                }
            }
            s.ancestors.insert(c.clone(), seen);
        }
        s
    }

    /// For the object property `relation`: which of `entities` may be its subject and which its
    /// object (an instance of every declared domain, resp. range, class); `None` on a side with
    /// no declaration.
    pub fn admitted(
        &self,
        relation: &NamedNode,
        entities: &[Term],
    ) -> (Option<Vec<bool>>, Option<Vec<bool>>) {
        let Some(prop) = self.properties.get(relation).filter(|p| !p.datatype) else {
            return (None, None);
        };
        let side = |classes: &[NamedNode]| {
            (!classes.is_empty()).then(|| {
                let ok = |e: &Term| classes.iter().all(|c| self.is_a(e, c));
                entities.iter().map(ok).collect()
            })
        };
        (side(&prop.domain), side(&prop.range))
    }

    /// Whether `x` is an instance of `class` (through the subclass hierarchy).
    fn is_a(&self, x: &Term, class: &NamedNode) -> bool {
        self.types.get(x).is_some_and(|ts| {
            ts.iter()
                .any(|t| t == class || self.ancestors.get(t).is_some_and(|a| a.contains(class)))
        })
    }

    /// Every violation among `quads`, read once as a stream (only the triples of functional
    /// properties are kept, to name them); `existing` holds the values each (subject, functional
    /// property) already has outside `quads`. A functional property with several values names
    /// each of its triples.
    pub fn check(
        &self,
        quads: impl IntoIterator<Item = Quad>,
        existing: &HashMap<(Term, NamedNode), HashSet<Term>>,
    ) -> Vec<Violation> {
        let mut out = Vec::new();
        type Group = (HashSet<Term>, Vec<Quad>);
        let mut values: HashMap<(Term, NamedNode), Group> = HashMap::new();
        for q in quads {
            let q = &q;
            let p = q.predicate.as_ref();
            let subject: Term = q.subject.clone().into();
            let mut broke = |rule, message: String| {
                out.push(Violation {
                    rule,
                    triple: format!("{} {} {} .", q.subject, q.predicate, q.object),
                    source: source_name(q),
                    message,
                })
            };
            if p == rdf::TYPE {
                if let Term::NamedNode(c) = &q.object
                    && !builtin_class(c.as_ref())
                    && !self.classes.contains(c)
                {
                    broke(Rule::UndeclaredClass, format!("class {c} is not declared"));
                }
                continue;
            }
            if builtin_predicate(p) {
                continue;
            }
            let Some(prop) = self.properties.get(&q.predicate) else {
                broke(
                    Rule::UndeclaredProperty,
                    format!("property {} is not declared", q.predicate),
                );
                continue;
            };
            for d in &prop.domain {
                if !self.is_a(&subject, d) {
                    broke(
                        Rule::Domain,
                        format!("the subject is not a {d}, the domain of {}", q.predicate),
                    );
                }
            }
            if prop.datatype {
                match &q.object {
                    Term::Literal(l) => {
                        for r in &prop.range {
                            if l.datatype() != r.as_ref() {
                                broke(
                                    Rule::Datatype,
                                    format!(
                                        "the value is a {}, the range of {} is {r}",
                                        l.datatype(),
                                        q.predicate
                                    ),
                                );
                            }
                        }
                    }
                    _ => broke(
                        Rule::Datatype,
                        format!("{} takes a literal value", q.predicate),
                    ),
                }
            } else {
                match &q.object {
                    Term::Literal(_) => broke(
                        Rule::Range,
                        format!("{} relates instances, not literals", q.predicate),
                    ),
                    o => {
                        for r in &prop.range {
                            if !self.is_a(o, r) {
                                broke(
                                    Rule::Range,
                                    format!(
                                        "the object is not a {r}, the range of {}",
                                        q.predicate
                                    ),
                                );
                            }
                        }
                    }
                }
            }
            if self.functional.contains(&q.predicate) {
                let group = values.entry((subject, q.predicate.clone())).or_default();
                group.0.insert(q.object.clone());
                group.1.push(q.clone());
            }
        }
        // A functional property with several values: every triple of the group is named.
        for (key, (seen, group)) in values {
            let others = existing
                .get(&key)
                .map_or(0, |e| e.difference(&seen).count());
            let n = seen.len() + others;
            if n > 1 {
                for q in group {
                    out.push(Violation {
                        rule: Rule::Functional,
                        triple: format!("{} {} {} .", q.subject, q.predicate, q.object),
                        source: source_name(&q),
                        message: format!(
                            "{} is functional and the subject has {n} values",
                            q.predicate
                        ),
                    });
                }
            }
        }
        out
    }
}

fn subject_node(q: &Quad) -> Option<&NamedNode> {
    match &q.subject {
        oxigraph::model::NamedOrBlankNode::NamedNode(n) => Some(n),
        _ => None,
    }
}

fn source_name(q: &Quad) -> String {
    match &q.graph_name {
        oxigraph::model::GraphName::NamedNode(n) => n
            .as_str()
            .strip_prefix(SOURCE_NS)
            .unwrap_or(n.as_str())
            .to_string(),
        g => g.to_string(),
    }
}

impl KnowledgeGraph {
    /// Every quad of the store.
    pub fn all_quads(&self) -> Result<Vec<Quad>> {
        self.quads().collect()
    }

    /// Every quad, streamed from the store.
    pub fn quads(&self) -> impl Iterator<Item = Result<Quad>> + '_ {
        self.store
            .iter()
            .map(|q| q.map_err(|e| store_err("read", e)))
    }

    /// The quads a [`Schema`] is read from: declarations, hierarchy and types.
    fn schema_quads(&self) -> Result<Vec<Quad>> {
        let mut out = Vec::new();
        for p in [rdf::TYPE, rdfs::SUB_CLASS_OF, rdfs::DOMAIN, rdfs::RANGE] {
            for q in self.store.quads_for_pattern(None, Some(p), None, None) {
                out.push(q.map_err(|e| store_err("read", e))?);
            }
        }
        Ok(out)
    }

    /// The schema declared in the store.
    pub fn schema(&self) -> Result<Schema> {
        Ok(Schema::from_quads(&self.schema_quads()?))
    }

    /// Every triple of the store that breaks the schema (`dlp kg check`), streamed from the
    /// store: memory holds the schema, the types and the functional properties' triples.
    pub fn check(&self) -> Result<Vec<Violation>> {
        let schema = self.schema()?;
        let mut failed = None;
        let quads = self
            .store
            .iter()
            .map_while(|q| q.map_err(|e| failed = Some(e)).ok());
        let violations = schema.check(quads, &HashMap::new());
        match failed {
            Some(e) => Err(store_err("read", e)),
            None => Ok(violations),
        }
    }

    /// Inserts `quads` only if none breaks the schema of the store together with them (strict
    /// mode); otherwise inserts nothing and returns the violations. Reads the schema and the
    /// stored values of the batch's functional properties, not the whole store.
    pub fn insert_strict(
        &self,
        quads: &[Quad],
    ) -> Result<std::result::Result<usize, Vec<Violation>>> {
        let stored = self.schema_quads()?;
        let schema = Schema::from_quads(stored.iter().chain(quads));
        let mut existing: HashMap<(Term, NamedNode), HashSet<Term>> = HashMap::new();
        for q in quads
            .iter()
            .filter(|q| schema.functional.contains(&q.predicate))
        {
            let key = (q.subject.clone().into(), q.predicate.clone());
            if existing.contains_key(&key) {
                continue;
            }
            let values = self
                .store
                .quads_for_pattern(
                    Some(q.subject.as_ref()),
                    Some(q.predicate.as_ref()),
                    None,
                    None,
                )
                .map(|r| {
                    r.map(|stored| stored.object)
                        .map_err(|e| store_err("read", e))
                })
                .collect::<Result<HashSet<Term>>>()?;
            existing.insert(key, values);
        }
        let violations = schema.check(quads.iter().cloned(), &existing);
        if !violations.is_empty() {
            return Ok(Err(violations));
        }
        self.store
            .extend(quads.iter().cloned())
            .map_err(|e| store_err("insert", e))?;
        Ok(Ok(quads.len()))
    }
}
