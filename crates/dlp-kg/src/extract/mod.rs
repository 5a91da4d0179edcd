//! Extraction of candidate facts from text: mentions of known instances linked by label and alias
//! ([`text`]), relations from lexical patterns between mentions, and is-a facts from Hearst
//! patterns (Hearst 1992: "X is a Y", "Ys such as X", "X and other Ys"). [`Extractor`] is the
//! entry type; every [`Candidate`] carries a confidence and its evidence (sentence and character
//! offsets), and goes to a review graph before it may enter the main graph
//! (`KnowledgeGraph::add_candidates`, `review`). [`redocred`] measures it on Re-DocRED.
//!
//! A pattern sees a sentence as units, each a token or a mention collapsed to its kind
//! (`<PER>`, `<LOC>`, …), and fires when the units just before an object mention end with its
//! trigger, e.g. `born <TIME> in` before a place gives the sentence subject's place of birth
//! (P19). The subject is the first person, organisation, place or work the sentence names,
//! or the document's topic (its first mention) when the sentence opens with a pronoun.
//! Relations are Wikidata properties. Phrases that name several properties are left out
//! ("written by" is an author, a screenwriter or a lyricist; "member of" a party, a team or a
//! group).
//!
//! ```
//! use dlp_kg::extract::{Extractor, Instance, Kind, Object};
//! let ex = Extractor::new(vec![
//!     Instance::new("ada", &["Ada Lovelace", "Lovelace"], Some(Kind::Person)),
//!     Instance::new("london", &["London"], Some(Kind::Location)),
//! ]);
//! let c = ex.extract("Ada Lovelace was born in London. Lovelace is an English mathematician.");
//! assert!(c.iter().any(|c| c.relation == "P19" && c.subject == 0 && c.object == Object::Instance(1)));
//! assert!(c.iter().any(|c| c.relation == "is-a" && c.object == Object::Concept("mathematician".into())));
//! ```

pub mod docred;
pub mod lexicon;
mod patterns;
pub mod redocred;
pub mod text;

use lexicon::COUNTRIES;
use patterns::{Found, Sentence};
use text::{Gazetteer, sentences, tokenize};

/// Coarse kinds of instances, as Re-DocRED types its entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Person,
    Location,
    Organization,
    Time,
    Number,
    Misc,
}

impl Kind {
    fn tag(k: Option<Kind>) -> &'static str {
        match k {
            Some(Kind::Person) => "<PER>",
            Some(Kind::Location) => "<LOC>",
            Some(Kind::Organization) => "<ORG>",
            Some(Kind::Time) => "<TIME>",
            Some(Kind::Number) => "<NUM>",
            Some(Kind::Misc) => "<MISC>",
            None => "<ENT>",
        }
    }
}

/// A known instance: its name (an IRI in a store), labels and aliases, and kind if known.
#[derive(Debug, Clone)]
pub struct Instance {
    pub name: String,
    pub aliases: Vec<String>,
    pub kind: Option<Kind>,
}

impl Instance {
    pub fn new(name: &str, aliases: &[&str], kind: Option<Kind>) -> Self {
        Instance {
            name: name.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            kind,
        }
    }
}

/// What a candidate fact points at.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Instance(usize),
    /// A concept named by a Hearst pattern (a lower-case noun).
    Concept(String),
}

/// A candidate fact with its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub subject: usize,
    /// A Wikidata property id, or `is-a`.
    pub relation: &'static str,
    pub object: Object,
    pub confidence: f32,
    /// The pattern that fired.
    pub pattern: &'static str,
    /// Sentence index and the character span `[start, end)` of the evidence.
    pub sentence: usize,
    pub start: usize,
    pub end: usize,
}

/// Finds candidate facts about a fixed set of instances.
pub struct Extractor {
    instances: Vec<Instance>,
    gazetteer: Gazetteer,
}

impl Extractor {
    pub fn new(instances: Vec<Instance>) -> Self {
        let mut gazetteer = Gazetteer::default();
        for (i, inst) in instances.iter().enumerate() {
            for a in &inst.aliases {
                gazetteer.add(a, i);
            }
        }
        Extractor {
            instances,
            gazetteer,
        }
    }

    /// The instances, in the order candidates refer to them.
    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    fn kind(&self, i: usize) -> Option<Kind> {
        self.instances[i].kind
    }

    fn is_country(&self, i: usize) -> bool {
        self.instances[i]
            .aliases
            .iter()
            .any(|a| COUNTRIES.binary_search(&a.as_str()).is_ok())
    }

    /// Candidate facts in `text`, in order of appearance, without duplicates.
    pub fn extract(&self, text: &str) -> Vec<Candidate> {
        let tokens = tokenize(text);
        let mentions = self.gazetteer.mentions(&tokens);
        let topic = mentions.first().map(|m| m.instance);
        let mut found = Found::default();
        for (index, range) in sentences(&tokens).into_iter().enumerate() {
            if let Some(s) = Sentence::new(self, &tokens, &mentions, index, range, topic) {
                patterns::between_mentions(self, &s, &mut found);
                patterns::hearst(&s, &mut found);
            }
        }
        found.0
    }
}
