//! Export from a [`KnowledgeGraph`]: N-Triples or Turtle (the union of every source's triples),
//! N-Quads or TriG (with the source graphs), and the `{train,valid,test}.txt` split that the
//! embedding models read. Files are written to a temporary name and renamed.

use super::{ENTITY_NS, KnowledgeGraph, RELATION_NS, SOURCE_NS, decode, store_err};
use dlp_core::error::{Error, Result};
use oxigraph::io::{RdfFormat, RdfSerializer};
use oxigraph::model::{GraphName, NamedOrBlankNode, Term};
use std::io::{BufWriter, Write};
use std::path::Path;

impl KnowledgeGraph {
    /// Writes the store to `path` in the format of its extension (`.nt`, `.ttl`, `.nq`, `.trig`);
    /// returns the number of statements written.
    pub fn export(&self, path: &Path) -> Result<usize> {
        let format = match super::import::format_of(path)? {
            super::import::FileFormat::Rdf(
                f @ (RdfFormat::NTriples | RdfFormat::Turtle | RdfFormat::NQuads | RdfFormat::TriG),
            ) => f,
            _ => {
                return Err(Error::Usage(format!(
                    "{}: export writes .nt, .ttl, .nq or .trig",
                    path.display()
                )));
            }
        };
        let mut count = 0;
        let mut failure = None;
        dlp_core::atomic::write_with(path, |file| {
            let mut w = RdfSerializer::from_format(format).for_writer(BufWriter::new(file));
            for quad in self.store.iter() {
                let quad = match quad {
                    Ok(q) => q,
                    Err(e) => {
                        failure = Some(store_err("read", e));
                        return Err(std::io::Error::other("store read failed"));
                    }
                };
                if format.supports_datasets() {
                    w.serialize_quad(&quad)?;
                } else {
                    w.serialize_triple(quad.as_ref())?;
                }
                count += 1;
            }
            w.finish()?.flush()
        })?;
        match failure {
            Some(e) => Err(e),
            None => Ok(count),
        }
    }

    /// Writes `train.txt`, `valid.txt` and `test.txt` into `dir`: the triples with an IRI object
    /// from the sources whose names contain `train`, `valid` and `test`; `urn:dlp:e:` and
    /// `urn:dlp:r:` names are written back as the plain names they came from. Returns the counts.
    pub fn export_link_prediction(&self, dir: &Path) -> Result<[usize; 3]> {
        let mut splits: [Vec<String>; 3] = Default::default();
        for quad in self.store.iter() {
            let quad = quad.map_err(|e| store_err("read", e))?;
            let GraphName::NamedNode(g) = &quad.graph_name else {
                continue;
            };
            let source = g.as_str().strip_prefix(SOURCE_NS).unwrap_or(g.as_str());
            let Some(split) = ["train", "valid", "test"]
                .iter()
                .position(|s| source.contains(s))
            else {
                continue;
            };
            let (NamedOrBlankNode::NamedNode(s), Term::NamedNode(o)) =
                (&quad.subject, &quad.object)
            else {
                continue;
            };
            let name =
                |iri: &str, ns: &str| iri.strip_prefix(ns).map_or_else(|| iri.to_string(), decode);
            splits[split].push(format!(
                "{}\t{}\t{}",
                name(s.as_str(), ENTITY_NS),
                name(quad.predicate.as_str(), RELATION_NS),
                name(o.as_str(), ENTITY_NS)
            ));
        }
        let mut counts = [0; 3];
        for (i, split) in ["train", "valid", "test"].iter().enumerate() {
            splits[i].sort();
            counts[i] = splits[i].len();
            let mut text = splits[i].join("\n");
            text.push('\n');
            dlp_core::atomic::write(dir.join(format!("{split}.txt")), text.as_bytes())?;
        }
        Ok(counts)
    }
}
