//! Text as the extractor sees it: tokens with character offsets, sentences, and mentions of known
//! instances found by their labels and aliases (longest match first, whole tokens only).
//!
//! ```
//! use dlp_kg::extract::text::{Gazetteer, tokenize};
//! let mut g = Gazetteer::default();
//! g.add("New York City", 0);
//! g.add("New York", 1);
//! let toks = tokenize("He moved to New York City, then Boston.");
//! let m = g.mentions(&toks);
//! assert_eq!((m.len(), m[0].instance), (1, 0)); // the longer alias wins
//! ```

use std::collections::HashMap;

/// A token and its character offsets `[start, end)` in the text (in `char`s, not bytes).
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub text: String,
    pub start: usize,
    pub end: usize,
}

/// Splits text into words (runs of letters, digits and in-word apostrophes or periods between
/// letters) and single punctuation marks.
pub fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_alphanumeric() {
            while i < chars.len()
                && (chars[i].is_alphanumeric()
                    || (matches!(chars[i], '\'' | '’' | '-')
                        && i + 1 < chars.len()
                        && chars[i + 1].is_alphanumeric()
                        && chars[i - 1].is_alphanumeric()))
            {
                i += 1;
            }
        } else {
            i += 1;
        }
        out.push(Token {
            text: chars[start..i].iter().collect(),
            start,
            end: i,
        });
    }
    out
}

/// Sentence boundaries as token ranges: a sentence ends at `.`, `!` or `?` followed by a token
/// that starts with an upper-case letter, a digit or a quote, or by the end of the text.
pub fn sentences(tokens: &[Token]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..tokens.len() {
        let end_mark = matches!(tokens[i].text.as_str(), "." | "!" | "?");
        let next_starts = tokens
            .get(i + 1)
            .and_then(|t| t.text.chars().next())
            .is_none_or(|c| c.is_uppercase() || c.is_numeric() || c == '"');
        if end_mark && next_starts {
            out.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < tokens.len() {
        out.push(start..tokens.len());
    }
    out
}

/// A known instance mentioned at tokens `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mention {
    pub start: usize,
    pub end: usize,
    pub instance: usize,
}

/// Labels and aliases of known instances, as token sequences.
#[derive(Debug, Clone, Default)]
pub struct Gazetteer {
    names: HashMap<Vec<String>, Vec<usize>>,
    longest: usize,
}

impl Gazetteer {
    /// Registers `alias` as a name of `instance`.
    pub fn add(&mut self, alias: &str, instance: usize) {
        let key: Vec<String> = tokenize(alias).into_iter().map(|t| t.text).collect();
        if key.is_empty() {
            return;
        }
        self.longest = self.longest.max(key.len());
        let ids = self.names.entry(key).or_default();
        if !ids.contains(&instance) {
            ids.push(instance);
        }
    }

    /// Non-overlapping mentions, scanning left to right and taking the longest alias at each
    /// position; an alias that names more than one instance is ambiguous and skipped.
    pub fn mentions(&self, tokens: &[Token]) -> Vec<Mention> {
        let mut out = Vec::new();
        let mut i = 0;
        let mut key: Vec<String> = Vec::with_capacity(self.longest);
        while i < tokens.len() {
            let mut found = None;
            for len in (1..=self.longest.min(tokens.len() - i)).rev() {
                key.clear();
                key.extend(tokens[i..i + len].iter().map(|t| t.text.clone()));
                if let Some(ids) = self.names.get(&key) {
                    if ids.len() == 1 {
                        found = Some((len, ids[0]));
                    }
                    break;
                }
            }
            match found {
                Some((len, instance)) => {
                    out.push(Mention {
                        start: i,
                        end: i + len,
                        instance,
                    });
                    i += len;
                }
                None => i += 1,
            }
        }
        out
    }
}
