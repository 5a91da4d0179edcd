//! The audit report as an HTML page: the Markdown subset `report.md` uses (headings, paragraphs,
//! `- ` lists, pipe tables with `---:` alignment, `code` and **bold**) turned into HTML, each
//! figure shown after the paragraph that names it (the rest at the end).

/// Escapes text for HTML, then renders `code` and **bold** spans.
fn inline(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let mut out = String::new();
    for (i, part) in escaped.split('`').enumerate() {
        if i % 2 == 1 {
            out += &format!("<code>{part}</code>");
            continue;
        }
        for (j, piece) in part.split("**").enumerate() {
            match j % 2 {
                1 => out += &format!("<strong>{piece}</strong>"),
                _ => out += piece,
            }
        }
    }
    out
}

/// The cells of a table row `| a | b |`.
fn cells(line: &str) -> Vec<&str> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(str::trim).collect()
}

fn table(rows: &[&str]) -> String {
    let head = cells(rows[0]);
    let right: Vec<bool> = rows
        .get(1)
        .map(|r| cells(r).iter().map(|c| c.ends_with(':')).collect())
        .unwrap_or_default();
    let cell = |tag: &str, i: usize, c: &str| {
        let align = if right.get(i).copied().unwrap_or(false) {
            " class=\"num\""
        } else {
            ""
        };
        format!("<{tag}{align}>{}</{tag}>", inline(c))
    };
    let mut html = String::from("<table>\n<tr>");
    for (i, c) in head.iter().enumerate() {
        html += &cell("th", i, c);
    }
    html += "</tr>\n";
    for row in rows.iter().skip(2) {
        html += "<tr>";
        for (i, c) in cells(row).iter().enumerate() {
            html += &cell("td", i, c);
        }
        html += "</tr>\n";
    }
    html + "</table>\n"
}

/// The page for `md`, with `pngs` (file names beside the page) placed after the paragraph that
/// first names each, the others at the end.
pub fn page(title: &str, md: &str, pngs: &[String]) -> String {
    let mut body = String::new();
    let mut shown = vec![false; pngs.len()];
    let lines: Vec<&str> = md.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_end();
        let start = i;
        i += 1;
        if line.trim().is_empty() {
            continue;
        }
        let level = line.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&level) && line[level..].starts_with(' ') {
            body += &format!("<h{level}>{}</h{level}>\n", inline(line[level..].trim()));
            continue;
        }
        // A block: the lines up to the next blank line or heading.
        while i < lines.len() && !lines[i].trim().is_empty() && !lines[i].starts_with('#') {
            i += 1;
        }
        let block = &lines[start..i];
        if block.iter().all(|l| l.trim_start().starts_with('|')) {
            body += &table(block);
        } else if block.iter().all(|l| l.trim_start().starts_with("- ")) {
            body += "<ul>\n";
            for l in block {
                body += &format!("<li>{}</li>\n", inline(&l.trim_start()[2..]));
            }
            body += "</ul>\n";
        } else {
            body += &format!("<p>{}</p>\n", inline(&block.join(" ")));
        }
        for (k, png) in pngs.iter().enumerate() {
            if !shown[k] && block.iter().any(|l| l.contains(png.as_str())) {
                shown[k] = true;
                body += &format!("<img src=\"{png}\" alt=\"{png}\">\n");
            }
        }
    }
    for (k, png) in pngs.iter().enumerate() {
        if !shown[k] {
            body += &format!("<h2>{png}</h2>\n<img src=\"{png}\" alt=\"{png}\">\n");
        }
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\
         body{{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;line-height:1.45}}\
         table{{border-collapse:collapse;margin:1em 0}}th,td{{border:1px solid #ccc;padding:.3em .7em;text-align:left}}\
         th{{background:#f3f3f3}}.num{{text-align:right}}code{{background:#f3f3f3;padding:0 .2em}}\
         img{{max-width:100%;display:block;margin:1em 0}}</style></head>\n<body>\n{body}</body></html>\n",
        inline(title)
    )
}

#[cfg(test)]
mod tests {
    use super::page;

    #[test]
    fn headings_tables_lists_and_figures_become_html() {
        let md = "# Audit: x\n\n## Splits\n\n1 / 2 triples, `a<b`.\n\n| | count |\n| --- | ---: |\n| dups | 0 |\n\n- one\n- **two**\n\n`f.png`: the figure.\n";
        let html = page("Audit: x", md, &["f.png".into(), "g.png".into()]);
        for want in [
            "<h1>Audit: x</h1>",
            "<h2>Splits</h2>",
            "<p>1 / 2 triples, <code>a&lt;b</code>.</p>",
            "<th></th><th class=\"num\">count</th>",
            "<td>dups</td><td class=\"num\">0</td>",
            "<li><strong>two</strong></li>",
            "<p><code>f.png</code>: the figure.</p>\n<img src=\"f.png\"",
            "<h2>g.png</h2>",
        ] {
            assert!(html.contains(want), "lacks {want}:\n{html}");
        }
        assert!(!html.contains("<pre>") && !html.contains("| ---"));
    }
}
