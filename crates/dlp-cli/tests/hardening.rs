//! Inputs that once crashed `dlp` (a segfault, panics): each now gets one clear line naming the
//! file or field, and exit 1 or 2, never 101 (panic), 134 (abort) or 139 (segfault).

mod common;

use common::{dlp, serve};
use std::fs;
use std::process::Output;

/// The command failed cleanly with `code`, its last line on stderr the error, saying `needle`.
fn refused(out: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    let last = err.trim().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: ") && last.contains(needle),
        "stderr lacks `{needle}`: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

fn small_store(dir: &std::path::Path) -> String {
    let facts = dir.join("facts.txt");
    fs::write(&facts, "a\tlikes\tb\nb\tlikes\tc\n").unwrap();
    let store = dir.join("store");
    let out = dlp(&[
        "kg",
        "import",
        "--store",
        store.to_str().unwrap(),
        facts.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    store.to_str().unwrap().to_string()
}

#[test]
fn a_store_that_cannot_be_opened_is_named_not_a_segfault() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    fs::write(&file, "not a store").unwrap();
    let out = dlp(&["kg", "query", "--store", file.to_str().unwrap(), "ASK {}"]);
    refused(&out, 1, "is a file, not a store");

    // A reading command refuses a path that is not a store and does not create one.
    let typo = dir.path().join("missing/typo");
    refused(
        &dlp(&["kg", "stats", "--store", typo.to_str().unwrap()]),
        1,
        "does not exist",
    );
    assert!(!typo.exists() && !dir.path().join("missing").exists());

    // A store held by a running server is in use: said so, no crash.
    let store = small_store(dir.path());
    let (_server, _url) = serve(store.as_ref(), &[]);
    refused(
        &dlp(&["kg", "query", "--store", &store, "ASK {}"]),
        1,
        "in use by another process",
    );
    refused(
        &dlp(&[
            "kg",
            "add",
            "--store",
            &store,
            "--curator",
            "x",
            "urn:x:a",
            "urn:x:likes",
            "urn:x:c",
        ]),
        1,
        "in use",
    );
}

#[test]
fn ddpm_configs_with_zero_or_unknown_fields_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    let out = dlp(&[
        "ddpm",
        "train",
        "--dataset",
        "8gaussians",
        "--steps",
        "2",
        "--out",
        base.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = fs::read_to_string(base.join("config.toml")).unwrap();
    for (field, line) in [
        ("log_every", "log_every = 0"),
        ("checkpoint_every", "checkpoint_every = 0"),
        ("batch_size", "batch_size = 0"),
        ("hidden", "hidden = 0"),
        ("hidden", "hidden = 60000"),
        ("timesteps", "timesteps = 1000000000"),
    ] {
        let key = line.split(' ').next().unwrap();
        let bad: String = config
            .lines()
            .map(|l| {
                if l.starts_with(&format!("{key} =")) {
                    line.to_string()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert_ne!(bad, config, "{key} is in the written config");
        let path = dir.path().join(format!("{field}.toml"));
        fs::write(&path, bad).unwrap();
        let out_dir = dir.path().join(format!("run-{field}"));
        let out = dlp(&[
            "ddpm",
            "train",
            "--config",
            path.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        refused(&out, 1, field);
    }
    let path = dir.path().join("typo.toml");
    fs::write(&path, format!("min_snr_gama = 5.0\n{config}")).unwrap();
    let out = dlp(&["ddpm", "train", "--config", path.to_str().unwrap()]);
    refused(&out, 1, "min_snr_gama");
}

/// Writes MNIST's four IDX files (gzipped, or plain) with 28×28 images and the given labels.
fn write_mnist(dir: &std::path::Path, labels: &[u8], gz: bool) {
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;
    fs::create_dir_all(dir).unwrap();
    let n = labels.len() as u32;
    for prefix in ["train", "t10k"] {
        let mut img = vec![0, 0, 8, 3];
        for d in [n, 28, 28] {
            img.extend(d.to_be_bytes());
        }
        img.extend((0..n as usize * 784).map(|i| (i % 251) as u8));
        let mut lbl = vec![0, 0, 8, 1];
        lbl.extend(n.to_be_bytes());
        lbl.extend(labels);
        for (kind, bytes) in [("images-idx3", img), ("labels-idx1", lbl)] {
            let name = format!("{prefix}-{kind}-ubyte");
            if gz {
                let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
                enc.write_all(&bytes).unwrap();
                fs::write(dir.join(format!("{name}.gz")), enc.finish().unwrap()).unwrap();
            } else {
                fs::write(dir.join(name), bytes).unwrap();
            }
        }
    }
}

#[test]
fn a_label_past_the_classes_is_named_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut labels: Vec<u8> = (0..64).map(|i| i % 10).collect();
    labels[17] = 200;
    write_mnist(&dir.path().join("mnist"), &labels, true);
    let data = dir.path().to_str().unwrap();
    let out = dlp(&[
        "dni",
        "train",
        "--dataset",
        "mnist",
        "--data-dir",
        data,
        "--epochs",
        "1",
    ]);
    refused(&out, 1, "example 17 has label 200");
}

#[test]
fn sizes_beyond_the_machines_memory_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let labels: Vec<u8> = (0..64).map(|i| i % 10).collect();
    write_mnist(&dir.path().join("mnist"), &labels, true);
    let data = dir.path().to_str().unwrap();
    let out = dlp(&[
        "dni",
        "train",
        "--dataset",
        "mnist",
        "--data-dir",
        data,
        "--width",
        "100000000000",
    ]);
    refused(&out, 2, "width 100000000000: needs about");
    let kg = dir.path().join("kg");
    fs::create_dir_all(&kg).unwrap();
    for split in ["train", "valid", "test"] {
        fs::write(kg.join(format!("{split}.txt")), "a\tr\tb\nb\tr\tc\n").unwrap();
    }
    let cfg = dir.path().join("cfg.toml");
    fs::write(&cfg, "dim = 100000000000\n").unwrap();
    let run = dir.path().join("run");
    let out = dlp(&[
        "kg",
        "embed",
        "train",
        "--dataset",
        kg.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
    ]);
    refused(&out, 2, "dim 100000000000: needs about");
    assert!(!run.exists(), "a refused run leaves no run directory");
}

#[test]
fn resuming_an_embedding_run_of_another_dataset_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (name, n) in [("small", 6), ("large", 9)] {
        let d = dir.path().join(name);
        fs::create_dir_all(&d).unwrap();
        let triples: String = (0..n)
            .map(|i| format!("e{i}\tr{}\te{}\n", i % 2, (i + 1) % n))
            .collect();
        for split in ["train", "valid", "test"] {
            fs::write(d.join(format!("{split}.txt")), &triples).unwrap();
        }
    }
    let run = dir.path().join("run");
    let (small, large, run) = (
        dir.path().join("small"),
        dir.path().join("large"),
        run.to_str().unwrap().to_string(),
    );
    let cfg = dir.path().join("cfg.toml");
    fs::write(&cfg, "dim = 8\nepochs = 2\n").unwrap();
    let embed = |dataset: &std::path::Path, resume: bool| {
        let mut args = vec![
            "kg",
            "embed",
            "train",
            "--dataset",
            dataset.to_str().unwrap(),
        ];
        args.extend(["--config", cfg.to_str().unwrap(), "--out", &run]);
        if resume {
            args.push("--resume");
        }
        dlp(&args)
    };
    let out = embed(&small, false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The run directory records what made it: another dataset is refused by name, before
    // anything is read or written.
    refused(
        &embed(&large, true),
        2,
        "--resume: the run there is `kg embed train` on",
    );
    // A fresh run onto it is refused too, unless --force replaces it.
    refused(&embed(&small, false), 2, "--force replaces it");
    // Without the record (a run of an older dlp), the checkpoint itself is checked.
    let record = std::path::Path::new(&run).join("run.json");
    let kept = fs::read(&record).unwrap();
    fs::remove_file(&record).unwrap();
    refused(&embed(&large, true), 1, "was made for 6 entities");
    fs::write(&record, kept).unwrap();
    // A flipped byte in the checkpoint is caught on resume, not turned into NaNs later.
    let checkpoints = std::path::Path::new(&run).join("checkpoints");
    let latest = fs::read_to_string(checkpoints.join("latest")).unwrap();
    assert!(latest.starts_with("epoch-"), "{latest}");
    let ck = checkpoints.join(latest.trim()).join("training.safetensors");
    let mut bytes = fs::read(&ck).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    fs::write(&ck, bytes).unwrap();
    refused(&embed(&small, true), 1, "SHA-256 mismatch");
}

#[test]
fn plain_sparql_sees_the_union_of_the_source_graphs() {
    let dir = tempfile::tempdir().unwrap();
    let store = small_store(dir.path());
    let count = |q: &str| {
        let out = dlp(&["kg", "query", "--store", &store, "--format", "csv", q]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    assert_eq!(count("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"), "2");
    assert_eq!(
        count("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"),
        "2"
    );
    assert_eq!(
        count("SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"),
        "1"
    );
    // The table shows a number as a number; CSV and JSON keep their own forms.
    let out = dlp(&[
        "kg",
        "query",
        "--store",
        &store,
        "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
    ]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !table.contains("XMLSchema"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.trim().trim_matches('|').trim() == "2"),
        "{table}"
    );
}

#[test]
fn plain_idx_files_serve_as_the_gz_ones() {
    let dir = tempfile::tempdir().unwrap();
    let labels: Vec<u8> = (0..30).map(|i| i % 10).collect();
    write_mnist(&dir.path().join("mnist"), &labels, false);
    let out = dlp(&[
        "data",
        "stats",
        "mnist",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_run_directory_is_resumed_only_by_its_own_run_and_replaced_only_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let r = run.to_str().unwrap();
    let train = |dataset: &str, more: &[&str]| {
        let args = [
            &[
                "ddpm",
                "train",
                "--dataset",
                dataset,
                "--steps",
                "4",
                "--out",
                r,
            ][..],
            more,
        ];
        dlp(&args.concat())
    };
    assert!(train("8gaussians", &[]).status.success());
    let lines = |p: &str| fs::read_to_string(run.join(p)).unwrap().lines().count();
    let metrics = lines("metrics.jsonl");
    refused(
        &train("swissroll", &["--resume"]),
        2,
        "the run there is `ddpm train` on 8gaussians",
    );
    refused(&train("swissroll", &[]), 2, "already holds a run");
    assert_eq!(
        lines("metrics.jsonl"),
        metrics,
        "refused runs append nothing"
    );
    refused(
        &dlp(&["ddpm", "sample", "--run", r, "--n", "0"]),
        2,
        "--n: at least 1",
    );
    let replaced = train("swissroll", &["--force"]);
    assert!(
        replaced.status.success(),
        "{}",
        String::from_utf8_lossy(&replaced.stderr)
    );
    let config = fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(config.contains("dataset = \"swissroll\""), "{config}");
    let record = fs::read_to_string(run.join("run.json")).unwrap();
    assert!(record.contains("swissroll"), "{record}");
    assert_eq!(
        lines("metrics.jsonl"),
        metrics,
        "the old run's metrics were removed, not appended to"
    );
}

/// Zeros, negatives, non-finite numbers and wrong types in a config file: one line naming the
/// file and the field, exit 1, for the KG embedding and the DDPM configs.
#[test]
fn every_bad_config_value_is_named_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kg");
    fs::create_dir_all(&data).unwrap();
    let triples: String = (0..6)
        .map(|i| format!("e{i}\tr\te{}\n", (i + 1) % 6))
        .collect();
    for split in ["train", "valid", "test"] {
        fs::write(data.join(format!("{split}.txt")), &triples).unwrap();
    }
    let cfg = dir.path().join("c.toml");
    let kg = [
        ("dim = 0", "`dim`"),
        ("dim = -1", "`dim`"),
        ("dim = \"x\"", "`dim`"),
        ("epochs = 0", "`epochs`"),
        ("lr = -1.0", "`lr`"),
        ("lr = nan", "`lr`"),
        ("label_smoothing = 2.0", "`label_smoothing`"),
        ("margin = inf", "`margin`"),
        ("reg_weight = -0.5", "`reg_weight`"),
        ("dim = 8\nbatch_size = true", "`batch_size`"),
    ];
    for (text, field) in kg {
        fs::write(&cfg, text).unwrap();
        let out = dlp(&[
            "kg",
            "embed",
            "train",
            "--dataset",
            data.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            dir.path().join("run").to_str().unwrap(),
        ]);
        refused(&out, 1, field);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("c.toml") && err.trim().lines().count() == 1,
            "{text}: {err}"
        );
    }
    let ddpm = [
        ("steps = -3", "`steps`"),
        ("steps = \"many\"", "`steps`"),
        ("learning_rate = [1]", "`learning_rate`"),
    ];
    for (text, field) in ddpm {
        let base = "dataset = \"8gaussians\"\nbatch_size = 8\nlearning_rate = 0.001\nwarmup_steps = 1\ngrad_clip = 1.0\nema_decay = 0.9\nschedule = \"linear\"\ntimesteps = 10\nprediction = \"eps\"\nclass_dropout = 0.0\nseed = 0\ncheckpoint_every = 1\nlog_every = 1\n[model]\nkind = \"mlp\"\nhidden = 8\nlayers = 1\n";
        let key = text.split(" = ").next().unwrap();
        let kept: Vec<&str> = base
            .lines()
            .filter(|l| !l.starts_with(&format!("{key} =")))
            .collect();
        let body = format!("{text}\n{}\n", kept.join("\n"));
        fs::write(&cfg, body).unwrap();
        let out = dlp(&["ddpm", "train", "--config", cfg.to_str().unwrap()]);
        refused(&out, 1, field);
    }
}
