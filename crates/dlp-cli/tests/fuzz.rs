//! Fuzz-style: every reader and every config file `dlp` takes, fed a corpus of mutations of a
//! valid file (truncated, bytes flipped, lines inserted, deleted or doubled, numbers replaced by
//! 0, −1, huge, NaN or a string, unknown keys, an empty file), with a fixed seed. No input may
//! make `dlp` panic, abort or crash: every run exits 0, 1 or 2 (or is stopped by the test after
//! its time limit, which is not a crash) and prints no panic message. A failure names the reader,
//! the mutation and where the input was kept.

use dlp_core::rng::Rng;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::dlp_json;

/// Mutations per reader: 48, or `DLP_FUZZ_MUTATIONS` for a longer search.
fn mutations() -> usize {
    std::env::var("DLP_FUZZ_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}
/// Longest a single run may take before the test stops it.
const LIMIT: Duration = Duration::from_secs(20);

const NASTY_VALUES: [&str; 10] = [
    "0",
    "-1",
    "1e308",
    "nan",
    "inf",
    "18446744073709551616",
    "\"x\"",
    "true",
    "-0.0",
    "[]",
];
const NASTY_LINES: [&str; 8] = [
    "steps = -1",
    "unknown_key = 3",
    "[[fact]]",
    "\t\t\t",
    "a\tb",
    "x = \"unterminated",
    "<http://a> <http://b> \"c\"^^<http://www.w3.org/2001/XMLSchema#integer> .",
    "€€€ \u{0} \u{feff}",
];

/// One mutation of `bytes` (text or binary), and its name.
fn mutate(bytes: &[u8], rng: &mut Rng) -> (Vec<u8>, String) {
    let pick = |n: usize, rng: &mut Rng| rng.below(n.max(1));
    let text = String::from_utf8(bytes.to_vec()).ok();
    let lines: Vec<String> = text
        .as_deref()
        .map(|t| t.lines().map(String::from).collect())
        .unwrap_or_default();
    match pick(8, rng) {
        0 => {
            let at = pick(bytes.len(), rng);
            (bytes[..at].to_vec(), format!("truncated at byte {at}"))
        }
        1 => {
            let mut b = bytes.to_vec();
            let flips = 1 + pick(4, rng);
            for _ in 0..flips {
                let at = pick(b.len(), rng);
                if let Some(v) = b.get_mut(at) {
                    *v ^= 1 << pick(8, rng);
                }
            }
            (b, format!("{flips} bit(s) flipped"))
        }
        2 if !lines.is_empty() => {
            let (at, v) = (pick(lines.len() + 1, rng), NASTY_LINES[pick(8, rng)]);
            let mut l = lines.clone();
            l.insert(at, v.to_string());
            (
                l.join("\n").into_bytes(),
                format!("line {at} inserted: {v:?}"),
            )
        }
        3 if !lines.is_empty() => {
            let at = pick(lines.len(), rng);
            let mut l = lines.clone();
            l.remove(at);
            (l.join("\n").into_bytes(), format!("line {at} deleted"))
        }
        4 if !lines.is_empty() => {
            let at = pick(lines.len(), rng);
            let mut l = lines.clone();
            l.insert(at, lines[at].clone());
            (l.join("\n").into_bytes(), format!("line {at} doubled"))
        }
        5 | 6 if text.is_some() => {
            // Replace one number of the text by a nasty value.
            let t = text.clone().unwrap();
            let spans: Vec<(usize, usize)> = number_spans(&t);
            if spans.is_empty() {
                return (Vec::new(), "emptied".into());
            }
            let (a, b) = spans[pick(spans.len(), rng)];
            let v = NASTY_VALUES[pick(NASTY_VALUES.len(), rng)];
            let out = format!("{}{v}{}", &t[..a], &t[b..]);
            (out.into_bytes(), format!("number `{}` → {v}", &t[a..b]))
        }
        7 => (Vec::new(), "emptied".into()),
        _ => {
            let mut b = bytes.to_vec();
            let at = pick(b.len(), rng);
            b.splice(at..at, std::iter::repeat_n(0xffu8, 1 + pick(64, rng)));
            (b, format!("0xff bytes inserted at {at}"))
        }
    }
}

/// Byte spans of the decimal numbers in `t`.
fn number_spans(t: &str) -> Vec<(usize, usize)> {
    let b = t.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let s = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            spans.push((s, i));
        } else {
            i += 1;
        }
    }
    spans
}

/// Runs `dlp args` with a time limit: its exit code (`None` when stopped after the limit), or
/// `Err` with the reason when it crashed or panicked.
fn run(args: &[String]) -> Result<Option<i32>, String> {
    // In a directory of its own: a mutated command without `--out` makes its default run
    // directory (`runs/…`) there, not in the source tree.
    let cwd = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dlp"))
        .current_dir(cwd.path())
        .args(args)
        .env_remove("DLP_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    let Some(status) = status else {
        return Ok(None); // stopped after the limit: slow, not a crash
    };
    match status.code() {
        Some(c @ 0..=2) if !err.contains("panicked") => {
            if c != 0 {
                last_error(err.lines().last().unwrap_or_default());
            }
            Ok(Some(c))
        }
        code => Err(format!(
            "exit {code:?}: {}",
            err.lines().last().unwrap_or_default()
        )),
    }
}

/// Feeds [`mutations`] mutations of `original` to `command(path)`, the mutated file written at
/// `path` (the original first, which must work; and again at the end); returns the failures.
fn fuzz(
    name: &str,
    path: &Path,
    original: &[u8],
    seed: u64,
    command: impl Fn(&Path) -> Vec<String>,
) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let keep = path.with_extension("failing");
    let mut failures = Vec::new();
    std::fs::write(path, original).unwrap();
    assert_eq!(
        run(&command(path)),
        Ok(Some(0)),
        "{name}: the unmutated input must work ({})",
        LAST.with(|l| l.borrow().clone())
    );
    let mut refused = 0;
    for i in 0..mutations() {
        let (bytes, what) = mutate(original, &mut rng);
        std::fs::write(path, &bytes).unwrap();
        let result = run(&command(path));
        refused += usize::from(matches!(result, Ok(Some(1 | 2))));
        if let Err(why) = result {
            let kept = keep.with_extension(format!("failing{i}"));
            std::fs::write(&kept, &bytes).unwrap();
            failures.push(format!(
                "{name}, mutation {i} ({what}): {why}; input kept in {}",
                kept.display()
            ));
        }
    }
    std::fs::write(path, original).unwrap();
    eprintln!(
        "{name}: {refused} of {} mutations refused with a message",
        mutations()
    );
    failures
}

thread_local! {
    static LAST: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Keeps the last error line a run printed, for the message of a failed baseline.
fn last_error(line: &str) {
    LAST.with(|l| *l.borrow_mut() = line.to_string());
}

fn s(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
}

/// A small link-prediction folder.
fn ring(dir: &Path) -> PathBuf {
    let kg = dir.join("ring");
    std::fs::create_dir_all(&kg).unwrap();
    // `back` is the inverse of `next`, so rules are mined from it.
    let lines: Vec<String> = (0..12)
        .map(|i| {
            format!(
                "e{i}\tnext\te{}\ne{}\tback\te{i}",
                (i + 1) % 12,
                (i + 1) % 12
            )
        })
        .collect();
    for split in ["train", "valid", "test"] {
        std::fs::write(kg.join(format!("{split}.txt")), lines.join("\n")).unwrap();
    }
    kg
}

/// An IDX dataset folder named `mnist` of 32 random 28×28 images per split, plain (not gzipped).
fn idx(dir: &Path) -> PathBuf {
    let root = dir.join("data");
    let m = root.join("mnist");
    std::fs::create_dir_all(&m).unwrap();
    let mut rng = Rng::new(5);
    for prefix in ["train", "t10k"] {
        let n = 32u32;
        let mut images = vec![0, 0, 8, 3];
        for d in [n, 28, 28] {
            images.extend(d.to_be_bytes());
        }
        images.extend((0..n * 784).map(|_| rng.below(256) as u8));
        let mut labels = vec![0, 0, 8, 1];
        labels.extend(n.to_be_bytes());
        labels.extend((0..n).map(|i| (i % 10) as u8));
        std::fs::write(m.join(format!("{prefix}-images-idx3-ubyte")), images).unwrap();
        std::fs::write(m.join(format!("{prefix}-labels-idx1-ubyte")), labels).unwrap();
    }
    root
}

#[test]
fn no_mutated_file_or_config_crashes_dlp() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let p = |n: &str| t.join(n).display().to_string();
    let kg = ring(t);
    let kgs = kg.display().to_string();
    let mut failures = Vec::new();

    // DDPM and KG embedding configs, from the runs' own config.toml.
    let d0 = p("d0");
    dlp_json(&[
        "ddpm",
        "train",
        "--dataset",
        "8gaussians",
        "--steps",
        "1",
        "--out",
        &d0,
        "--json",
    ]);
    let cfg = std::fs::read(t.join("d0/config.toml")).unwrap();
    failures.extend(fuzz("ddpm config", &t.join("ddpm.toml"), &cfg, 1, |f| {
        s(&[
            "ddpm",
            "train",
            "--config",
            f.to_str().unwrap(),
            "--steps",
            "2",
            "--out",
            &p("d1"),
            "--force",
        ])
    }));
    let k0 = p("k0");
    dlp_json(&[
        "kg",
        "embed",
        "train",
        "--dataset",
        &kgs,
        "--epochs",
        "1",
        "--dim",
        "4",
        "--out",
        &k0,
        "--json",
    ]);
    let cfg = std::fs::read(t.join("k0/config.toml")).unwrap();
    failures.extend(fuzz("kg embed config", &t.join("kg.toml"), &cfg, 2, |f| {
        s(&[
            "kg",
            "embed",
            "train",
            "--dataset",
            &kgs,
            "--config",
            f.to_str().unwrap(),
            "--epochs",
            "1",
            "--out",
            &p("k1"),
            "--force",
        ])
    }));

    // Link-prediction triples.
    let train = std::fs::read(kg.join("train.txt")).unwrap();
    let bad_kg = t.join("bad-ring");
    std::fs::create_dir_all(&bad_kg).unwrap();
    for split in ["valid", "test"] {
        std::fs::copy(
            kg.join(format!("{split}.txt")),
            bad_kg.join(format!("{split}.txt")),
        )
        .unwrap();
    }
    let b = bad_kg.display().to_string();
    failures.extend(fuzz(
        "link-prediction TSV",
        &bad_kg.join("train.txt"),
        &train,
        3,
        |_| {
            s(&[
                "kg",
                "embed",
                "train",
                "--dataset",
                &b,
                "--epochs",
                "1",
                "--dim",
                "4",
                "--out",
                &p("k2"),
                "--force",
            ])
        },
    ));
    failures.extend(fuzz(
        "link-prediction TSV (audit)",
        &bad_kg.join("train.txt"),
        &train,
        4,
        |_| s(&["data", "audit", &b, "--out", &p("audit"), "--force"]),
    ));

    // IDX images and labels.
    let data = idx(t);
    let d = data.display().to_string();
    for (file, seed) in [
        ("train-images-idx3-ubyte", 5),
        ("train-labels-idx1-ubyte", 6),
    ] {
        let path = data.join("mnist").join(file);
        let original = std::fs::read(&path).unwrap();
        failures.extend(fuzz(file, &path, &original, seed, |_| {
            s(&[
                "dni",
                "train",
                "--dataset",
                "mnist",
                "--data-dir",
                &d,
                "--epochs",
                "1",
                "--layers",
                "2",
                "--width",
                "4",
                "--batch-size",
                "8",
            ])
        }));
    }

    // RDF, curation files and SPARQL, on a store.
    let nt = b"<http://e/a> <http://e/p> <http://e/b> .\n<http://e/b> <http://e/q> \"12\"^^<http://www.w3.org/2001/XMLSchema#integer> .\n<http://e/a> <http://www.w3.org/2000/01/rdf-schema#label> \"A\"@en .\n";
    failures.extend(fuzz("N-Triples", &t.join("facts.nt"), nt, 7, |f| {
        s(&["kg", "import", "--store", &p("store"), f.to_str().unwrap()])
    }));
    let toml = b"[[fact]]\nsubject = \"http://e/c\"\npredicate = \"http://e/p\"\nobject = \"42\"\nkind = \"http://www.w3.org/2001/XMLSchema#integer\"\n";
    failures.extend(fuzz("curation TOML", &t.join("facts.toml"), toml, 8, |f| {
        s(&[
            "kg",
            "add",
            "--store",
            &p("store"),
            "--curator",
            "fuzz",
            "--file",
            f.to_str().unwrap(),
        ])
    }));
    let query = b"SELECT ?s (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } FILTER(?o != 3) } GROUP BY ?s ORDER BY DESC(?n) LIMIT 10";
    failures.extend(fuzz("SPARQL", &t.join("q.rq"), query, 9, |f| {
        let q = String::from_utf8_lossy(&std::fs::read(f).unwrap()).replace('\0', "");
        s(&["kg", "query", "--store", &p("store"), &q])
    }));

    // Rules, and the checkpoints that sample and eval read.
    let rules_run = p("rules");
    dlp_json(&[
        "kg",
        "rules",
        "mine",
        "--dataset",
        &kgs,
        "--out",
        &rules_run,
        "--json",
    ]);
    let rules = std::fs::read(t.join("rules/rules.tsv")).unwrap();
    assert!(
        rules.iter().filter(|&&b| b == b'\n').count() > 1,
        "rules were mined"
    );
    failures.extend(fuzz("rules TSV", &t.join("rules.tsv"), &rules, 10, |f| {
        s(&[
            "kg",
            "rules",
            "eval",
            "--dataset",
            &kgs,
            "--rules",
            f.to_str().unwrap(),
        ])
    }));
    let model = t.join("k0/model.safetensors");
    let original = std::fs::read(&model).unwrap();
    failures.extend(fuzz("embedding model", &model, &original, 11, |_| {
        s(&["kg", "embed", "eval", "--run", &p("k0")])
    }));
    let latest = std::fs::read_to_string(t.join("d0/checkpoints/latest")).unwrap();
    let checkpoint = t.join("d0/checkpoints").join(latest.trim());
    let sample = s(&[
        "ddpm",
        "sample",
        "--run",
        &d0,
        "--n",
        "4",
        "--sampling-steps",
        "2",
    ]);
    for (file, name, seed) in [
        ("model.safetensors", "DDPM checkpoint", 12),
        ("state.json", "checkpoint state.json", 13),
    ] {
        let path = checkpoint.join(file);
        let original = std::fs::read(&path).unwrap();
        failures.extend(fuzz(name, &path, &original, seed, |_| sample.clone()));
    }

    assert!(
        failures.is_empty(),
        "{} crash(es):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
