//! XSD literals: a typed literal's lexical form checked against its datatype, wherever facts
//! come in (import, Wikidata JSON, curation).

use oxigraph::model::Literal;

const XSD: &str = "http://www.w3.org/2001/XMLSchema#";

/// Checks a typed literal's lexical form against its XSD datatype (numeric, boolean, date,
/// dateTime); other datatypes pass.
pub fn check_literal(l: &Literal) -> std::result::Result<(), String> {
    let Some(ty) = l.datatype().as_str().strip_prefix(XSD) else {
        return Ok(());
    };
    let v = l.value();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let signed = |s: &str| s.strip_prefix(['+', '-']).unwrap_or(s).to_string();
    let integer = |s: &str| digits(&signed(s));
    let decimal = |s: &str| {
        let s = signed(s);
        let (a, b) = s.split_once('.').unwrap_or((&s, ""));
        (digits(a) || a.is_empty())
            && (digits(b) || b.is_empty())
            && !(a.is_empty() && b.is_empty())
    };
    let date = |s: &str| {
        let s = s.trim_end_matches('Z');
        let s = match s.rfind(['+', '-']) {
            Some(i) if i > 7 && s[i..].contains(':') => &s[..i],
            _ => s,
        };
        let p: Vec<&str> = s.trim_start_matches('-').split('-').collect();
        p.len() == 3
            && digits(p[0])
            && p[0].len() >= 4
            && p[1].len() == 2
            && digits(p[1])
            && p[2].len() == 2
            && digits(p[2])
            && (1..=12).contains(&p[1].parse::<u32>().unwrap_or(0))
            && (1..=31).contains(&p[2].parse::<u32>().unwrap_or(0))
    };
    let ok = match ty {
        "integer" | "int" | "long" | "short" | "byte" => integer(v),
        "nonNegativeInteger" | "positiveInteger" => integer(v) && !v.starts_with('-'),
        "decimal" => decimal(v),
        "double" | "float" => {
            matches!(v, "INF" | "-INF" | "+INF" | "NaN")
                || (v.parse::<f64>().is_ok() && !v.contains("inf") && !v.contains("nan"))
        }
        "boolean" => matches!(v, "true" | "false" | "1" | "0"),
        "date" => date(v),
        "dateTime" => v.split_once('T').is_some_and(|(d, t)| {
            date(d) && {
                let t = t.trim_end_matches('Z');
                let t = t.split(['+', '-']).next().unwrap_or(t);
                let p: Vec<&str> = t.split(':').collect();
                p.len() == 3 && digits(p[0]) && digits(p[1]) && decimal(p[2])
            }
        }),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("literal \"{v}\" is not a valid xsd:{ty}"))
    }
}
