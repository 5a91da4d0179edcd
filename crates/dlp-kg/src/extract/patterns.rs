//! The patterns, one sentence at a time: relation triggers before an object mention (and the
//! lists that continue them), "A , B" between places, and Hearst's is-a patterns.

use super::lexicon::{NP_END, PRONOUNS, RULES};
use super::text::{Mention, Token};
use super::{Candidate, Extractor, Kind, Object};
use std::ops::Range;

/// A sentence as the patterns see it: units (tokens, each mention collapsed to its kind tag)
/// and the subject (the first person, organisation, place or work it names, or the document's
/// topic when it opens with a pronoun).
pub(super) struct Sentence<'a> {
    index: usize,
    tokens: &'a [Token],
    range: Range<usize>,
    mentions: Vec<Mention>,
    units: Vec<String>,
    unit_of_mention: Vec<usize>,
    opens_with_pronoun: bool,
    /// The subject's instance, and its mention when the sentence names it.
    subject: usize,
    subject_mention: Option<usize>,
}

impl<'a> Sentence<'a> {
    /// Sentence `index` (`range` of `tokens`); `None` when it has no subject.
    pub(super) fn new(
        ex: &Extractor,
        tokens: &'a [Token],
        mentions: &[Mention],
        index: usize,
        range: Range<usize>,
        topic: Option<usize>,
    ) -> Option<Self> {
        let mentions: Vec<Mention> = mentions
            .iter()
            .copied()
            .filter(|m| m.start >= range.start && m.end <= range.end)
            .collect();
        let mut units: Vec<String> = Vec::new();
        let mut unit_of_mention = Vec::new();
        let mut i = range.start;
        let mut next = mentions.iter().peekable();
        while i < range.end {
            if let Some(m) = next.next_if(|m| m.start == i) {
                unit_of_mention.push(units.len());
                units.push(Kind::tag(ex.kind(m.instance)).to_string());
                i = m.end;
            } else {
                units.push(tokens[i].text.to_lowercase());
                i += 1;
            }
        }
        let opens_with_pronoun = units
            .first()
            .is_some_and(|u| PRONOUNS.contains(&u.as_str()));
        let (subject, subject_mention) = if opens_with_pronoun {
            (topic?, None)
        } else {
            mentions
                .iter()
                .enumerate()
                .find(|(_, m)| !matches!(ex.kind(m.instance), Some(Kind::Time | Kind::Number)))
                .map(|(k, m)| (m.instance, Some(k)))?
        };
        Some(Sentence {
            index,
            tokens,
            range,
            mentions,
            units,
            unit_of_mention,
            opens_with_pronoun,
            subject,
            subject_mention,
        })
    }

    fn subject_unit(&self) -> Option<usize> {
        self.subject_mention.map(|k| self.unit_of_mention[k])
    }

    /// Characters from the first to the last token of two mentions.
    fn span(&self, a: &Mention, b: &Mention) -> (usize, usize) {
        (
            self.tokens[a.start.min(b.start)].start,
            self.tokens[a.end.max(b.end) - 1].end,
        )
    }

    /// The whole sentence's characters.
    fn whole(&self) -> (usize, usize) {
        (
            self.tokens[self.range.start].start,
            self.tokens[self.range.end - 1].end,
        )
    }

    fn candidate(
        &self,
        subject: usize,
        relation: &'static str,
        object: Object,
        confidence: f32,
        pattern: &'static str,
        (start, end): (usize, usize),
    ) -> Candidate {
        Candidate {
            subject,
            relation,
            object,
            confidence,
            pattern,
            sentence: self.index,
            start,
            end,
        }
    }
}

/// The candidates found so far, in order, each (subject, relation, object) once.
#[derive(Default)]
pub(super) struct Found(pub(super) Vec<Candidate>);

impl Found {
    fn add(&mut self, c: Candidate) {
        if !self
            .0
            .iter()
            .any(|o| o.subject == c.subject && o.relation == c.relation && o.object == c.object)
        {
            self.0.push(c);
        }
    }
}

/// For each mention after the subject: the triggers that end right before it, a list that
/// continues a "starring" trigger, and "A , B" between places.
pub(super) fn between_mentions(ex: &Extractor, s: &Sentence, found: &mut Found) {
    let mut chain: Vec<usize> = Vec::new();
    for (k, b) in s.mentions.iter().enumerate() {
        let u = s.unit_of_mention[k];
        if s.subject_unit().is_some_and(|su| u <= su) || b.instance == s.subject {
            continue;
        }
        let ev = match s.subject_mention {
            Some(m) => s.span(&s.mentions[m], b),
            None => s.whole(),
        };
        triggers(ex, s, b, u, ev, found);
        listed(ex, s, b, u, ev, found);
        places(ex, s, k, &mut chain, found);
    }
}

/// The rules whose trigger ends right before mention `b` (unit `u`), for the sentence subject.
fn triggers(
    ex: &Extractor,
    s: &Sentence,
    b: &Mention,
    u: usize,
    ev: (usize, usize),
    found: &mut Found,
) {
    let subj = s.subject;
    for rule in RULES {
        let n = rule.trigger.split(' ').count();
        if u < n
            || !rule
                .trigger
                .split(' ')
                .eq(s.units[u - n..u].iter().map(String::as_str))
        {
            continue;
        }
        let ok = |k: Option<Kind>, allowed: &[Kind]| k.is_none_or(|k| allowed.contains(&k));
        if !ok(ex.kind(subj), rule.subject) || !ok(ex.kind(b.instance), rule.object) {
            continue;
        }
        let relation = match (rule.relation, ex.kind(subj)) {
            ("nationality", Some(Kind::Person)) => "P27",
            ("nationality", Some(Kind::Misc)) => "P495",
            ("nationality", Some(Kind::Organization | Kind::Location)) => "P17",
            ("nationality", _) => continue,
            (r, _) => r,
        };
        let o = Object::Instance(b.instance);
        let (conf, pattern) = (rule.confidence, rule.trigger);
        found.add(s.candidate(subj, relation, o.clone(), conf, pattern, ev));
        // A place in a country is also in that country (P17), as for "A , B".
        if relation == "P131" && ex.is_country(b.instance) {
            found.add(s.candidate(subj, "P17", o, conf, pattern, ev));
        }
    }
}

/// A list after a trigger: "starring A , B and C" gives C the previous candidate's relation.
fn listed(
    ex: &Extractor,
    s: &Sentence,
    b: &Mention,
    u: usize,
    ev: (usize, usize),
    found: &mut Found,
) {
    let units = &s.units;
    let listed = u >= 2
        && matches!(units[u - 1].as_str(), "," | "and")
        && units[u - 2].starts_with('<')
        && ex.kind(b.instance).is_none_or(|k| k == Kind::Person);
    let previous = found
        .0
        .last()
        .filter(|c| c.relation == "P161" && c.sentence == s.index);
    if let Some(prev) = previous.filter(|_| listed).cloned() {
        let o = Object::Instance(b.instance);
        let c = s.candidate(
            prev.subject,
            "P161",
            o,
            prev.confidence * 0.9,
            "starring …, and",
            ev,
        );
        found.add(c);
    }
}

/// "A , B" between two places (mentions k-1 and k): A lies in B; in a chain "A , B , C" ending
/// in a country, A and B are in that country.
fn places(ex: &Extractor, s: &Sentence, k: usize, chain: &mut Vec<usize>, found: &mut Found) {
    let u = s.unit_of_mention[k];
    if k == 0 || u < 2 || s.units[u - 1] != "," || s.unit_of_mention[k - 1] != u - 2 {
        return;
    }
    let (a, b) = (s.mentions[k - 1], s.mentions[k]);
    if ex.kind(a.instance) != Some(Kind::Location) || ex.kind(b.instance) != Some(Kind::Location) {
        return;
    }
    if chain.last() != Some(&a.instance) {
        chain.clear();
        chain.push(a.instance);
    }
    let ev = s.span(&a, &b);
    let o = Object::Instance(b.instance);
    found.add(s.candidate(a.instance, "P131", o.clone(), 0.6, "<LOC> , <LOC>", ev));
    if ex.is_country(b.instance) {
        for &x in chain.iter() {
            found.add(s.candidate(x, "P17", o.clone(), 0.7, "<LOC> , <country>", ev));
        }
    }
    chain.push(b.instance);
}

/// Hearst's patterns: "SUBJ is a … NOUN", then "Ys such as X" and "X and other Ys".
pub(super) fn hearst(s: &Sentence, found: &mut Found) {
    let units = &s.units;
    if let Some(mut i) = s.subject_unit().or(s.opens_with_pronoun.then_some(0)) {
        // Skip a parenthesis after the subject: "X ( 1815 – 1852 ) was a …".
        if units.get(i + 1).is_some_and(|u| u == "(") {
            i += units[i + 1..].iter().position(|u| u == ")").unwrap_or(0) + 1;
        }
        if matches!(units.get(i + 1).map(String::as_str), Some("is" | "was"))
            && matches!(units.get(i + 2).map(String::as_str), Some("a" | "an"))
        {
            let mut j = i + 3;
            while j < units.len() && !NP_END.contains(&units[j].as_str()) {
                j += 1;
            }
            let noun = &units[j - 1];
            if j > i + 3 && noun.chars().all(|c| c.is_alphabetic()) {
                let o = Object::Concept(noun.clone());
                found.add(s.candidate(s.subject, "is-a", o, 0.7, "X is a Y", s.whole()));
            }
        }
    }
    for (k, m) in s.mentions.iter().enumerate() {
        let u = s.unit_of_mention[k];
        if u >= 3 && units[u - 2] == "such" && units[u - 1] == "as" && units[u - 3].ends_with('s') {
            let noun = singular(&units[u - 3]);
            if noun.chars().all(|c| c.is_alphabetic()) && noun.len() > 2 {
                let o = Object::Concept(noun);
                found.add(s.candidate(m.instance, "is-a", o, 0.6, "Ys such as X", s.whole()));
            }
        }
        let and_other = units.get(u + 1).is_some_and(|w| w == "and")
            && units.get(u + 2).is_some_and(|w| w == "other");
        let plural = units
            .get(u + 3)
            .filter(|n| and_other && n.ends_with('s') && n.chars().all(char::is_alphabetic));
        if let Some(n) = plural {
            let o = Object::Concept(singular(n));
            found.add(s.candidate(m.instance, "is-a", o, 0.6, "X and other Ys", s.whole()));
        }
    }
}

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
