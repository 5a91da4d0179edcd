//! Wikidata JSON dumps (`latest-all.json`: a JSON array with one entity per line) mapped onto
//! the model: items become instances (`wd:Q…`) with `rdfs:label` and `skos:altLabel` in every
//! language; P31 (instance of) becomes `rdf:type` and P279 (subclass of) `rdfs:subClassOf`, their
//! objects concepts (`owl:Class`); other item-valued claims become relations (`wdt:P…`, an
//! `owl:ObjectProperty`), and string, external-id, monolingual-text, quantity and time claims
//! values (`wdt:P…`, an `owl:DatatypeProperty`, with `xsd:string`, language-tagged, `xsd:decimal`
//! and `xsd:dateTime` literals). Deprecated statements and "no value"/"some value" snaks are
//! skipped. Property entities give their properties labels.

use super::schema::vocab::{OWL_CLASS, OWL_DATATYPE_PROPERTY, OWL_OBJECT_PROPERTY, SKOS_ALT_LABEL};
use oxigraph::model::vocab::{rdf, rdfs, xsd};
use oxigraph::model::{Literal, NamedNode, Quad, Term};
use serde_json::Value;

pub const WD: &str = "http://www.wikidata.org/entity/";
pub const WDT: &str = "http://www.wikidata.org/prop/direct/";

fn node(ns: &str, id: &str) -> Result<NamedNode, String> {
    NamedNode::new(format!("{ns}{id}")).map_err(|e| format!("id `{id}`: {e}"))
}

/// The quads of one dump line (`[`, `]` and blank lines give none).
pub fn entity_quads(line: &str, graph: &NamedNode) -> Result<Vec<Quad>, String> {
    let line = line.trim().trim_end_matches(',');
    if line.is_empty() || line == "[" || line == "]" {
        return Ok(Vec::new());
    }
    let e: Value = serde_json::from_str(line).map_err(|e| format!("not a JSON entity: {e}"))?;
    let id = e["id"].as_str().ok_or("an entity without an `id`")?;
    let is_property = e["type"] == "property";
    let subject = if is_property {
        node(WDT, id)?
    } else {
        node(WD, id)?
    };
    let mut out = Vec::new();
    let mut push =
        |s: &NamedNode, p: NamedNode, o: Term| out.push(Quad::new(s.clone(), p, o, graph.clone()));
    for (field, predicate) in [("labels", rdfs::LABEL), ("aliases", SKOS_ALT_LABEL)] {
        for (lang, v) in e[field].as_object().into_iter().flatten() {
            let values = if field == "labels" {
                vec![v]
            } else {
                v.as_array().map(|a| a.iter().collect()).unwrap_or_default()
            };
            for v in values {
                let text = v["value"]
                    .as_str()
                    .ok_or(format!("{field}.{lang} without a value"))?;
                let l = Literal::new_language_tagged_literal(text, lang)
                    .map_err(|e| format!("{field}.{lang}: {e}"))?;
                push(&subject, predicate.into_owned(), l.into());
            }
        }
    }
    for (pid, statements) in e["claims"].as_object().into_iter().flatten() {
        for st in statements.as_array().into_iter().flatten() {
            let snak = &st["mainsnak"];
            if st["rank"] == "deprecated" || snak["snaktype"] != "value" {
                continue;
            }
            let dv = &snak["datavalue"];
            let value = &dv["value"];
            let bad = || format!("claim {pid}: unexpected value {value}");
            let prop = node(WDT, pid)?;
            match dv["type"].as_str().unwrap_or_default() {
                "wikibase-entityid" => {
                    let target = value["id"].as_str().ok_or_else(bad)?;
                    let o = node(WD, target)?;
                    match pid.as_str() {
                        "P31" => push(&subject, rdf::TYPE.into_owned(), o.clone().into()),
                        "P279" => push(&subject, rdfs::SUB_CLASS_OF.into_owned(), o.clone().into()),
                        _ => {
                            push(
                                &prop,
                                rdf::TYPE.into_owned(),
                                OWL_OBJECT_PROPERTY.into_owned().into(),
                            );
                            push(&subject, prop.clone(), o.into());
                            continue;
                        }
                    }
                    push(&o, rdf::TYPE.into_owned(), OWL_CLASS.into_owned().into());
                    if pid == "P279" {
                        push(
                            &subject,
                            rdf::TYPE.into_owned(),
                            OWL_CLASS.into_owned().into(),
                        );
                    }
                }
                kind => {
                    let literal = match kind {
                        "string" => Literal::new_simple_literal(value.as_str().ok_or_else(bad)?),
                        "monolingualtext" => Literal::new_language_tagged_literal(
                            value["text"].as_str().ok_or_else(bad)?,
                            value["language"].as_str().ok_or_else(bad)?,
                        )
                        .map_err(|e| format!("claim {pid}: {e}"))?,
                        "quantity" => {
                            let amount = value["amount"].as_str().ok_or_else(bad)?;
                            Literal::new_typed_literal(amount.trim_start_matches('+'), xsd::DECIMAL)
                        }
                        "time" => {
                            let t = value["time"].as_str().ok_or_else(bad)?;
                            Literal::new_typed_literal(t.trim_start_matches('+'), xsd::DATE_TIME)
                        }
                        _ => continue, // coordinates and the like: not modelled
                    };
                    super::literal::check_literal(&literal)
                        .map_err(|e| format!("claim {pid}: {e}"))?;
                    push(
                        &prop,
                        rdf::TYPE.into_owned(),
                        OWL_DATATYPE_PROPERTY.into_owned().into(),
                    );
                    push(&subject, prop, literal.into());
                }
            }
        }
    }
    Ok(out)
}
