//! The run-directory contract: every command that trains, mines, samples or evaluates, given
//! `--out DIR`, leaves `config.toml`, `summary.json` (with `dlp_version`, the dataset, and the
//! seed where it has steps) and, where it has steps, `metrics.jsonl` with records in DIR; an
//! evaluation or a sampler writes nothing into the run it reads.

use dlp_core::testing::{shared_data, skip};
use std::path::Path;

mod common;
use common::dlp;

/// The command `args` with `--out dir` succeeds and leaves the contract's files in `dir`.
fn check(dir: &Path, args: &[&str], steps: bool) {
    let out = dlp(&[args, &["--out", dir.to_str().unwrap(), "--json"]].concat());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {err}");
    for f in ["config.toml", "summary.json"] {
        assert!(dir.join(f).is_file(), "{args:?} left no {f}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert!(summary["dlp_version"].is_string(), "{args:?}: {summary}");
    assert!(summary["dataset"].is_string(), "{args:?}: {summary}");
    if steps {
        assert!(summary["seed"].is_u64(), "{args:?}: {summary}");
        let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap_or_default();
        assert!(metrics.lines().count() > 0, "{args:?}: no metrics records");
    }
}

#[test]
fn every_trainer_miner_sampler_and_evaluator_fills_its_run_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name);

    check(
        &p("ddpm"),
        &["ddpm", "train", "--dataset", "8gaussians", "--steps", "30"],
        true,
    );
    let run = p("ddpm");
    let r = run.to_str().unwrap();
    check(
        &p("sample"),
        &["ddpm", "sample", "--run", r, "--n", "16"],
        false,
    );
    assert!(p("sample/samples.safetensors").is_file() && !run.join("samples.safetensors").exists());
    check(
        &p("eval"),
        &["ddpm", "eval", "--run", r, "--n", "64"],
        false,
    );
    assert!(p("eval/eval_samples.png").is_file() && !run.join("eval_samples.png").exists());

    check(
        &p("copy"),
        &["dni", "copy", "--updates", "40", "--hidden", "16"],
        true,
    );
    let text = p("text.txt");
    std::fs::write(
        &text,
        "the quick brown fox jumps over the lazy dog. ".repeat(40),
    )
    .unwrap();
    let t = text.to_str().unwrap();
    let charlm = [
        "dni",
        "charlm",
        "--text",
        t,
        "--updates",
        "20",
        "--hidden",
        "16",
    ];
    check(&p("charlm"), &charlm, true);

    let kg = p("ring");
    std::fs::create_dir_all(&kg).unwrap();
    let lines: Vec<String> = (0..12)
        .map(|i| format!("e{i}\tnext\te{}", (i + 1) % 12))
        .collect();
    for split in ["train", "valid", "test"] {
        std::fs::write(kg.join(format!("{split}.txt")), lines.join("\n")).unwrap();
    }
    let d = kg.to_str().unwrap();
    check(
        &p("embed"),
        &[
            "kg",
            "embed",
            "train",
            "--dataset",
            d,
            "--epochs",
            "3",
            "--dim",
            "8",
        ],
        true,
    );
    check(&p("rules"), &["kg", "rules", "mine", "--dataset", d], false);
    let rules = p("rules/rules.tsv");
    let rules = rules.to_str().unwrap();
    let rules_eval = ["kg", "rules", "eval", "--dataset", d, "--rules", rules];
    check(&p("rules-eval"), &rules_eval, false);
    let embed = p("embed");
    let embed_eval = ["kg", "embed", "eval", "--run", embed.to_str().unwrap()];
    check(&p("embed-eval"), &embed_eval, false);

    // The run keeps a copy of its data: eval and predict need neither --dataset nor a data
    // directory, and give the numbers they give with the original folder.
    let e = p("embed");
    let r = e.to_str().unwrap();
    let with = common::dlp_json(&["kg", "embed", "eval", "--run", r, "--dataset", d, "--json"]);
    std::fs::rename(&kg, p("ring-moved")).unwrap();
    let without = common::dlp_json(&["kg", "embed", "eval", "--run", r, "--json"]);
    assert_eq!(with["mrr"], without["mrr"], "{with}\n{without}");
    assert_eq!(without["dataset"], d, "{without}");
    let top = common::dlp_json(&[
        "kg",
        "predict",
        "--run",
        r,
        "--head",
        "e1",
        "--relation",
        "next",
        "--json",
    ]);
    assert_eq!(top["answers"].as_array().map(Vec::len), Some(10), "{top}");

    let Some(data) = shared_data() else {
        return skip(
            "every_trainer_miner_sampler_and_evaluator_fills_its_run_directory (dni train)",
            "no shared data",
        );
    };
    let data = data.to_str().unwrap().to_string();
    let dni = [
        "dni",
        "train",
        "--dataset",
        "mnist",
        "--data-dir",
        &data,
        "--epochs",
        "1",
    ];
    check(
        &p("dni"),
        &[&dni[..], &["--layers", "2", "--width", "16"]].concat(),
        true,
    );
    assert!(p("dni/loss.png").is_file());
    let latest = std::fs::read_to_string(p("dni/checkpoints/latest")).unwrap();
    assert_eq!(latest, "epoch-00000001", "dni train counts epochs");
}

#[test]
fn a_run_that_fails_before_writing_leaves_no_run_directory() {
    let cwd = tempfile::tempdir().unwrap();
    let no_data = tempfile::tempdir().unwrap();
    let train = |extra: &[&str]| {
        let data = no_data.path().to_str().unwrap();
        let mut args = vec!["ddpm", "train", "--dataset", "mnist", "--data-dir", data];
        args.extend_from_slice(extra);
        std::process::Command::new(env!("CARGO_BIN_EXE_dlp"))
            .current_dir(cwd.path())
            .args(args)
            .env_remove("DLP_DATA_DIR")
            .output()
            .unwrap()
    };
    // An automatically named run directory.
    let out = train(&[]);
    assert_eq!(out.status.code(), Some(1));
    let left: Vec<_> = std::fs::read_dir(cwd.path().join("runs"))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    // A named one: not left behind, so the same command can be run into it again.
    for _ in 0..2 {
        let out = train(&["--out", "mine"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains("train-images-idx3-ubyte"), "{err}");
        assert!(!cwd.path().join("mine").exists());
    }
}
