//! The links file: what `dlp kg align --links` writes and `dlp kg merge --links` reads. After a
//! `#` header, one link a line: `graph-1 IRI<TAB>graph-2 IRI<TAB>confidence<TAB>seed|predicted`
//! (the kind column may be left out on reading: the link is then predicted).

use super::Link;
use dlp_core::data::pair::AlignmentPair;
use dlp_core::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

/// The links of `pair` as the file's text.
pub fn to_tsv(links: &[Link], pair: &AlignmentPair) -> String {
    let mut tsv = String::from("# graph-1 entity\tgraph-2 entity\tconfidence\tkind\n");
    for l in links {
        let kind = if l.seed { "seed" } else { "predicted" };
        tsv += &format!(
            "{}\t{}\t{}\t{kind}\n",
            pair.entities[l.a as usize], pair.entities[l.b as usize], l.confidence
        );
    }
    tsv
}

/// Writes the links file at `path` (whole or not at all).
pub fn write(path: &Path, links: &[Link], pair: &AlignmentPair) -> Result<()> {
    dlp_core::atomic::write(path, to_tsv(links, pair).as_bytes())
}

/// Reads a links file of `pair`; a bad line is an error naming the file and the line.
pub fn read(path: &Path, pair: &AlignmentPair) -> Result<Vec<Link>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(&text, pair).map_err(|(line, msg)| Error::format(path, Some(line), msg))
}

/// The links in `text`, or the 1-based line and the reason it is refused.
fn parse(text: &str, pair: &AlignmentPair) -> std::result::Result<Vec<Link>, (usize, String)> {
    let index: HashMap<&str, u32> = pair
        .entities
        .iter()
        .enumerate()
        .map(|(i, e)| (e.as_str(), i as u32))
        .collect();
    let mut links = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let bad = |msg: String| (i + 1, msg);
        let f: Vec<&str> = line.split('\t').collect();
        if !(3..=4).contains(&f.len()) {
            return Err(bad(
                "expected graph-1 IRI<TAB>graph-2 IRI<TAB>confidence[<TAB>kind]".into(),
            ));
        }
        let end = |iri: &str, second: bool| match index.get(iri) {
            Some(&e) if ((e as usize) >= pair.n1) == second => Ok(e),
            _ => Err(bad(format!(
                "`{iri}` is not an entity of graph {}",
                1 + second as u8
            ))),
        };
        let confidence: f32 = f[2]
            .parse()
            .map_err(|_| bad(format!("confidence `{}` is not a number", f[2])))?;
        links.push(Link {
            a: end(f[0], false)?,
            b: end(f[1], true)?,
            confidence,
            seed: f.get(3) == Some(&"seed"),
        });
    }
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> AlignmentPair {
        AlignmentPair {
            entities: ["urn:a:1", "urn:a:2", "urn:b:1", "urn:b:2"]
                .map(String::from)
                .to_vec(),
            n1: 2,
            relations: Vec::new(),
            triples: Vec::new(),
            t1: 0,
            train: Vec::new(),
            test: Vec::new(),
        }
    }

    #[test]
    fn links_round_trip_and_bad_lines_are_named() {
        let pair = pair();
        let links = vec![
            Link {
                a: 0,
                b: 3,
                confidence: 1.0,
                seed: true,
            },
            Link {
                a: 1,
                b: 2,
                confidence: 0.625,
                seed: false,
            },
        ];
        let back = parse(&to_tsv(&links, &pair), &pair).unwrap();
        let fields =
            |l: &[Link]| -> Vec<_> { l.iter().map(|l| (l.a, l.b, l.confidence, l.seed)).collect() };
        assert_eq!(fields(&back), fields(&links));
        let text = "# header\nurn:a:1\turn:b:1\t0.5\nurn:b:1\turn:b:2\t0.5\n";
        assert_eq!(
            parse(text, &pair).unwrap_err().0,
            3,
            "a graph-2 entity on the left"
        );
        assert!(
            parse("urn:a:1\turn:b:1\tmany\n", &pair)
                .unwrap_err()
                .1
                .contains("many")
        );
        assert!(parse("urn:a:1\turn:b:1\n", &pair).is_err());
    }
}
