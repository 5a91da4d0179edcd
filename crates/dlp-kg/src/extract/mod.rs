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

pub mod lexicon;
pub mod redocred;
pub mod text;

use lexicon::{COUNTRIES, NP_END, PRONOUNS};
use text::{Gazetteer, Mention, sentences, tokenize};

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

/// A trigger: units ending right before the object, the relation, and kind constraints.
struct Rule {
    trigger: &'static str,
    relation: &'static str,
    subject: &'static [Kind],
    object: &'static [Kind],
    confidence: f32,
}

use Kind::*;

const fn rule(
    trigger: &'static str,
    relation: &'static str,
    subject: &'static [Kind],
    object: &'static [Kind],
    confidence: f32,
) -> Rule {
    Rule {
        trigger,
        relation,
        subject,
        object,
        confidence,
    }
}

const ANY: &[Kind] = &[Person, Location, Organization, Misc];

const RULES: &[Rule] = &[
    rule("born in", "P19", &[Person], &[Location], 0.8),
    rule("born <TIME> in", "P19", &[Person], &[Location], 0.8),
    rule("(", "P569", &[Person], &[Time], 0.6),
    rule("( born", "P569", &[Person], &[Time], 0.9),
    rule("born on", "P569", &[Person], &[Time], 0.8),
    rule("( <TIME> –", "P570", &[Person], &[Time], 0.8),
    rule("( <TIME> -", "P570", &[Person], &[Time], 0.8),
    rule("died in", "P20", &[Person], &[Location], 0.6),
    rule("died on", "P570", &[Person], &[Time], 0.8),
    rule("directed by", "P57", &[Misc], &[Person], 0.8),
    rule("novel by", "P50", &[Misc], &[Person], 0.7),
    rule(
        "developed by",
        "P178",
        &[Misc],
        &[Organization, Person],
        0.7,
    ),
    rule("published by", "P123", &[Misc], &[Organization], 0.7),
    rule("album by", "P175", &[Misc], &[Person, Organization], 0.8),
    rule("song by", "P175", &[Misc], &[Person, Organization], 0.8),
    rule("single by", "P175", &[Misc], &[Person, Organization], 0.8),
    rule("recorded by", "P175", &[Misc], &[Person, Organization], 0.7),
    rule(
        "performed by",
        "P175",
        &[Misc],
        &[Person, Organization],
        0.7,
    ),
    rule("starring", "P161", &[Misc], &[Person], 0.8),
    rule("released on", "P577", &[Misc], &[Time], 0.7),
    rule("released in", "P577", &[Misc], &[Time], 0.7),
    rule("published in", "P577", &[Misc], &[Time], 0.6),
    rule("founded in", "P571", &[Organization], &[Time], 0.7),
    rule("formed in", "P571", &[Organization], &[Time], 0.7),
    rule(
        "established in",
        "P571",
        &[Organization, Location],
        &[Time],
        0.7,
    ),
    rule(
        "headquartered in",
        "P159",
        &[Organization],
        &[Location],
        0.7,
    ),
    rule("based in", "P159", &[Organization], &[Location], 0.6),
    rule("plays for", "P54", &[Person], &[Organization], 0.7),
    rule("played for", "P54", &[Person], &[Organization], 0.7),
    rule("educated at", "P69", &[Person], &[Organization], 0.7),
    rule("graduated from", "P69", &[Person], &[Organization], 0.7),
    rule("city in", "P131", &[Location], &[Location], 0.6),
    rule("town in", "P131", &[Location], &[Location], 0.6),
    rule("village in", "P131", &[Location], &[Location], 0.6),
    rule("municipality in", "P131", &[Location], &[Location], 0.6),
    rule("commune in", "P131", &[Location], &[Location], 0.6),
    rule("county in", "P131", &[Location], &[Location], 0.6),
    rule("district in", "P131", &[Location], &[Location], 0.6),
    rule("suburb in", "P131", &[Location], &[Location], 0.6),
    rule("neighborhood in", "P131", &[Location], &[Location], 0.6),
    rule("neighbourhood in", "P131", &[Location], &[Location], 0.6),
    rule("community in", "P131", &[Location], &[Location], 0.6),
    rule("borough in", "P131", &[Location], &[Location], 0.6),
    rule("province in", "P131", &[Location], &[Location], 0.6),
    rule("region in", "P131", &[Location], &[Location], 0.6),
    rule("capital of", "P1376", &[Location], &[Location], 0.7),
    rule("is a", "nationality", ANY, &[Location, Misc], 0.7),
    rule("is an", "nationality", ANY, &[Location, Misc], 0.7),
    rule("was a", "nationality", ANY, &[Location, Misc], 0.7),
    rule("was an", "nationality", ANY, &[Location, Misc], 0.7),
];

/// The singular of a regular English plural: cities → city, churches → church, lakes → lake.
fn singular(w: &str) -> String {
    if let Some(stem) = w.strip_suffix("ies") {
        format!("{stem}y")
    } else if ["ches", "shes", "sses", "xes"]
        .iter()
        .any(|e| w.ends_with(e))
    {
        w[..w.len() - 2].to_string()
    } else {
        w.strip_suffix('s').unwrap_or(w).to_string()
    }
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
        let mut out: Vec<Candidate> = Vec::new();
        for (si, range) in sentences(&tokens).into_iter().enumerate() {
            let ms: Vec<Mention> = mentions
                .iter()
                .copied()
                .filter(|m| m.start >= range.start && m.end <= range.end)
                .collect();
            // Units: tokens, with each mention collapsed to its kind tag.
            let mut units: Vec<String> = Vec::new();
            let mut unit_of_mention = Vec::new();
            let mut i = range.start;
            let mut next = ms.iter().peekable();
            while i < range.end {
                if let Some(m) = next.next_if(|m| m.start == i) {
                    unit_of_mention.push(units.len());
                    units.push(Kind::tag(self.kind(m.instance)).to_string());
                    i = m.end;
                } else {
                    units.push(tokens[i].text.to_lowercase());
                    i += 1;
                }
            }
            let opens_with_pronoun = units
                .first()
                .is_some_and(|u| PRONOUNS.contains(&u.as_str()));
            let subject = if opens_with_pronoun {
                topic.map(|t| (t, None))
            } else {
                ms.iter()
                    .enumerate()
                    .find(|(_, m)| !matches!(self.kind(m.instance), Some(Time | Number)))
                    .map(|(k, m)| (m.instance, Some(k)))
            };
            let Some((subj, subj_idx)) = subject else {
                continue;
            };
            let subj_unit = subj_idx.map(|k| unit_of_mention[k]);
            let push = |out: &mut Vec<Candidate>,
                        relation: &'static str,
                        s: usize,
                        object: Object,
                        confidence: f32,
                        pattern: &'static str,
                        span: (usize, usize)| {
                let c = Candidate {
                    subject: s,
                    relation,
                    object,
                    confidence,
                    pattern,
                    sentence: si,
                    start: span.0,
                    end: span.1,
                };
                if !out.iter().any(|o| {
                    o.subject == c.subject && o.relation == c.relation && o.object == c.object
                }) {
                    out.push(c);
                }
            };
            let span = |a: &Mention, b: &Mention| {
                (
                    tokens[a.start.min(b.start)].start,
                    tokens[a.end.max(b.end) - 1].end,
                )
            };
            let sent_span = (tokens[range.start].start, tokens[range.end - 1].end);
            let mut chain: Vec<usize> = Vec::new();
            for (k, b) in ms.iter().enumerate() {
                let u = unit_of_mention[k];
                if subj_unit.is_some_and(|s| u <= s) || b.instance == subj {
                    continue;
                }
                let ev = subj_idx.map(|s| span(&ms[s], b)).unwrap_or(sent_span);
                for rule in RULES {
                    let n = rule.trigger.split(' ').count();
                    if u < n
                        || !rule
                            .trigger
                            .split(' ')
                            .eq(units[u - n..u].iter().map(String::as_str))
                    {
                        continue;
                    }
                    let ok =
                        |k: Option<Kind>, allowed: &[Kind]| k.is_none_or(|k| allowed.contains(&k));
                    if !ok(self.kind(subj), rule.subject) || !ok(self.kind(b.instance), rule.object)
                    {
                        continue;
                    }
                    let relation = match (rule.relation, self.kind(subj)) {
                        ("nationality", Some(Person)) => "P27",
                        ("nationality", Some(Misc)) => "P495",
                        ("nationality", Some(Organization | Location)) => "P17",
                        ("nationality", _) => continue,
                        (r, _) => r,
                    };
                    let o = Object::Instance(b.instance);
                    push(
                        &mut out,
                        relation,
                        subj,
                        o.clone(),
                        rule.confidence,
                        rule.trigger,
                        ev,
                    );
                    // A place in a country is also in that country (P17), as for "A , B".
                    if relation == "P131" && self.is_country(b.instance) {
                        push(&mut out, "P17", subj, o, rule.confidence, rule.trigger, ev);
                    }
                }
                // A list after a trigger: "starring A , B and C".
                let listed = u >= 2
                    && matches!(units[u - 1].as_str(), "," | "and")
                    && units[u - 2].starts_with('<')
                    && self.kind(b.instance).is_none_or(|k| k == Person);
                let previous = out
                    .last()
                    .filter(|c| c.relation == "P161" && c.sentence == si);
                if let Some(prev) = previous.filter(|_| listed).cloned() {
                    let conf = prev.confidence * 0.9;
                    let o = Object::Instance(b.instance);
                    push(
                        &mut out,
                        "P161",
                        prev.subject,
                        o,
                        conf,
                        "starring …, and",
                        ev,
                    );
                }
                // "A , B" between two places: A lies in B; in a chain "A , B , C" ending in a
                // country, A and B are in that country.
                if k > 0 && u >= 2 && units[u - 1] == "," && unit_of_mention[k - 1] == u - 2 {
                    let a = ms[k - 1];
                    if self.kind(a.instance) == Some(Location)
                        && self.kind(b.instance) == Some(Location)
                    {
                        if chain.last() != Some(&a.instance) {
                            chain.clear();
                            chain.push(a.instance);
                        }
                        let ev = span(&a, b);
                        push(
                            &mut out,
                            "P131",
                            a.instance,
                            Object::Instance(b.instance),
                            0.6,
                            "<LOC> , <LOC>",
                            ev,
                        );
                        if self.is_country(b.instance) {
                            for &x in &chain {
                                push(
                                    &mut out,
                                    "P17",
                                    x,
                                    Object::Instance(b.instance),
                                    0.7,
                                    "<LOC> , <country>",
                                    ev,
                                );
                            }
                        }
                        chain.push(b.instance);
                    }
                }
            }
            // Hearst: "SUBJ is a … NOUN".
            if let Some(mut s) = subj_unit.or(opens_with_pronoun.then_some(0)) {
                // Skip a parenthesis after the subject: "X ( 1815 – 1852 ) was a …".
                if units.get(s + 1).is_some_and(|u| u == "(") {
                    s += units[s + 1..].iter().position(|u| u == ")").unwrap_or(0) + 1;
                }
                if matches!(units.get(s + 1).map(String::as_str), Some("is" | "was"))
                    && matches!(units.get(s + 2).map(String::as_str), Some("a" | "an"))
                {
                    let mut j = s + 3;
                    while j < units.len() && !NP_END.contains(&units[j].as_str()) {
                        j += 1;
                    }
                    let noun = &units[j - 1];
                    if j > s + 3 && noun.chars().all(|c| c.is_alphabetic()) {
                        push(
                            &mut out,
                            "is-a",
                            subj,
                            Object::Concept(noun.clone()),
                            0.7,
                            "X is a Y",
                            sent_span,
                        );
                    }
                }
            }
            for (k, m) in ms.iter().enumerate() {
                let u = unit_of_mention[k];
                // "Ys such as X" and "X and other Ys".
                if u >= 3
                    && units[u - 2] == "such"
                    && units[u - 1] == "as"
                    && units[u - 3].ends_with('s')
                {
                    let noun = singular(&units[u - 3]);
                    if noun.chars().all(|c| c.is_alphabetic()) && noun.len() > 2 {
                        push(
                            &mut out,
                            "is-a",
                            m.instance,
                            Object::Concept(noun),
                            0.6,
                            "Ys such as X",
                            sent_span,
                        );
                    }
                }
                let and_other = units.get(u + 1).is_some_and(|w| w == "and")
                    && units.get(u + 2).is_some_and(|w| w == "other");
                let plural = units.get(u + 3).filter(|n| {
                    and_other && n.ends_with('s') && n.chars().all(char::is_alphabetic)
                });
                if let Some(n) = plural {
                    let o = Object::Concept(singular(n));
                    push(
                        &mut out,
                        "is-a",
                        m.instance,
                        o,
                        0.6,
                        "X and other Ys",
                        sent_span,
                    );
                }
            }
        }
        out
    }
}
