//! The `dlp` binary end to end: help, version, demo, and the data commands.

use dlp_core::testing::{serve_dir, shared_data, skip};
use std::path::Path;

mod common;
use common::dlp;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_has_examples_and_version_prints() {
    let out = dlp(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    assert!(
        help.contains("Examples:") && help.contains("dlp demo"),
        "{help}"
    );
    let v = text(&dlp(&["--version"]).stdout);
    assert_eq!(v.trim(), format!("dlp {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn demo_writes_run_directory_and_one_json_object() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("run");
    let out = dlp(&[
        "demo",
        "--steps",
        "300",
        "--out",
        out_dir.to_str().unwrap(),
        "--json",
        "--seed",
        "3",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout.trim().lines().count(),
        1,
        "stdout must be one JSON object: {stdout}"
    );
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let acc = summary["classifier"]["test_accuracy"].as_f64().unwrap();
    assert!(acc > 0.8, "demo learned nothing: accuracy {acc}");
    assert!(summary["ddpm"]["mmd"].as_f64().unwrap() > 0.0);
    // The DNI stage: every method learned the spirals; the store stage: the curated graph keeps
    // its schema, the bad fact was refused, and the query found both people.
    for m in ["backprop", "dni", "cdni"] {
        assert!(
            summary["dni"]["test_error"][m].as_f64().unwrap() < 0.3,
            "{summary}"
        );
    }
    let store = &summary["kg"]["store"];
    assert_eq!(store["violations"], 0);
    assert_eq!(
        store["refused"].as_array().map(Vec::len),
        Some(1),
        "{store}"
    );
    assert!(
        store["answer"].as_str().unwrap().contains("(2 rows)"),
        "{store}"
    );
    let c = out_dir.join("classifier");
    for f in [
        "config.toml",
        "metrics.jsonl",
        "summary.json",
        "loss.png",
        "accuracy.png",
    ] {
        assert!(c.join(f).is_file(), "{f} missing");
    }
    let png = std::fs::read(c.join("loss.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    for f in ["samples.png", "eval_samples.png", "eval.json", "loss.png"] {
        assert!(
            out_dir.join("ddpm-8gaussians").join(f).is_file(),
            "{f} missing"
        );
    }
    let on_disk: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(on_disk, summary);
    assert!(c.join("checkpoints/latest").is_file());
}

#[test]
fn demo_with_the_same_seed_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let p = dir.path().join(name);
        let out = dlp(&[
            "demo",
            "--steps",
            "100",
            "--out",
            p.to_str().unwrap(),
            "--json",
            "--threads",
            "1",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let classifier = std::fs::read_to_string(p.join("classifier/metrics.jsonl")).unwrap();
        // Losses, not the wall-clock "seconds" field.
        let ddpm: Vec<String> =
            dlp_core::run::read_metrics(&p.join("ddpm-8gaussians/metrics.jsonl"))
                .unwrap()
                .iter()
                .map(|m| format!("{} {}", m["step"], m["loss"]))
                .collect();
        // The sequential DNI runs (the concurrent one depends on thread timing).
        let dni = std::fs::read_to_string(p.join("dni-spirals/metrics.jsonl")).unwrap();
        (classifier, ddpm, dni)
    };
    assert_eq!(run("a"), run("b"));
}

#[test]
fn usage_errors_exit_2_and_name_the_value() {
    let out = dlp(&["data", "verify", "no-such-set"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no-such-set"));
    let out = dlp(&["demo", "--device", "tpu", "--steps", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("tpu"));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn verify_accepts_shared_mnist_and_reports_one_changed_byte() {
    let Some(root) = shared_data() else {
        return skip(
            "verify_accepts_shared_mnist_and_reports_one_changed_byte",
            "no shared data",
        );
    };
    let out = dlp(&[
        "data",
        "verify",
        "mnist",
        "--data-dir",
        root.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&root.join("mnist"), &tmp.path().join("mnist"));
    let victim = tmp.path().join("mnist/t10k-labels-idx1-ubyte.gz");
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[2000] ^= 1;
    std::fs::write(&victim, bytes).unwrap();
    let out = dlp(&[
        "data",
        "verify",
        "mnist",
        "--data-dir",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("t10k-labels-idx1-ubyte.gz") && err.contains("SHA-256"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
}

#[test]
fn stats_of_a_truncated_idx_is_an_error_not_a_panic() {
    let Some(root) = shared_data() else {
        return skip(
            "stats_of_a_truncated_idx_is_an_error_not_a_panic",
            "no shared data",
        );
    };
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&root.join("mnist"), &tmp.path().join("mnist"));
    let victim = tmp.path().join("mnist/train-images-idx3-ubyte.gz");
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 3]).unwrap();
    let out = dlp(&[
        "data",
        "stats",
        "mnist",
        "--data-dir",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("train-images-idx3-ubyte.gz") && !err.contains("panicked"),
        "{err}"
    );

    let out = dlp(&[
        "data",
        "stats",
        "mnist",
        "--data-dir",
        root.to_str().unwrap(),
        "--json",
    ]);
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (s["train"].as_u64(), s["test"].as_u64()),
        (Some(60000), Some(10000))
    );
    assert_eq!(s["train_label_counts"][0], 5923);
}

#[test]
fn fetch_from_a_loopback_mirror() {
    let Some(root) = shared_data() else {
        return skip("fetch_from_a_loopback_mirror", "no shared data");
    };
    // The shared MNIST files are byte-identical to the published ones, so a mirror of them
    // passes the registry's checksums.
    let base = serve_dir(&root.join("mnist"));
    let data = tempfile::tempdir().unwrap();
    let args = [
        "data",
        "fetch",
        "mnist",
        "--mirror",
        &base,
        "--data-dir",
        data.path().to_str().unwrap(),
        "--json",
    ];
    let out = dlp(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["ok"], true);
    let listed: Vec<_> = std::fs::read_dir(data.path().join("mnist"))
        .unwrap()
        .collect();
    assert_eq!(listed.len(), 4, "only the four files, no temporaries");
}

#[test]
fn ddpm_schedule_prints_the_whole_arrays() {
    let out = dlp(&[
        "ddpm",
        "schedule",
        "--schedule",
        "cosine",
        "--steps",
        "1000",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "betas",
        "alphas_cumprod",
        "posterior_variance",
        "posterior_mean_coef1",
        "posterior_mean_coef2",
    ] {
        assert_eq!(s[key].as_array().map(Vec::len), Some(1000), "{key}");
    }
    // f64 values survive the JSON round trip exactly.
    let b0 = s["betas"][0].as_f64().unwrap();
    assert_eq!(b0, dlp_ddpm::BetaSchedule::Cosine.betas(1000)[0]);
    let out = dlp(&["ddpm", "schedule", "--schedule", "exponential"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("exponential"));
}

#[test]
fn ddpm_train_sample_eval_and_resume_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("g8");
    let r = run.to_str().unwrap();
    let cfg = dir.path().join("small.toml");
    std::fs::write(
        &cfg,
        "dataset = \"8gaussians\"\nsteps = 30\nbatch_size = 64\nlearning_rate = 0.002\nwarmup_steps = 5\n\
         grad_clip = 1.0\nema_decay = 0.99\nschedule = \"linear\"\ntimesteps = 40\nprediction = \"v\"\n\
         min_snr_gamma = 5.0\nclass_dropout = 0.1\nseed = 0\ncheckpoint_every = 10\nlog_every = 10\n\
         [model]\nkind = \"mlp\"\nhidden = 16\nlayers = 1\n",
    )
    .unwrap();
    let out = dlp(&[
        "ddpm",
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        r,
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["steps"], 30);
    let out = dlp(&[
        "ddpm",
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--steps",
        "40",
        "--resume",
        "--out",
        r,
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("resuming"),
        "{}",
        text(&out.stderr)
    );
    let out = dlp(&[
        "ddpm",
        "eval",
        "--run",
        r,
        "--n",
        "300",
        "--sampler",
        "ddim",
        "--sampling-steps",
        "10",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(e["mmd"].as_f64().unwrap() > 0.0 && e["mmd_floor"].as_f64().unwrap() > 0.0);
    assert_eq!(e["mode_fractions"].as_array().unwrap().len(), 8);
    let out = dlp(&["ddpm", "sample", "--run", r, "--n", "100", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bytes = std::fs::read(run.join("samples.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.tensor("samples").unwrap().shape(), &[100, 2]);
}

#[test]
fn ddpm_bad_input_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<&str>, &str, i32)> = vec![
        (vec!["ddpm", "schedule", "--schedule", "exp"], "exp", 2),
        (vec!["ddpm", "schedule", "--steps", "0"], "--steps", 2),
        (
            vec!["ddpm", "train", "--dataset", "cifar100"],
            "cifar100",
            2,
        ),
        (
            vec!["ddpm", "eval", "--run", dir.path().to_str().unwrap()],
            "config.toml",
            1,
        ),
        // A dataset folder without its files.
        (
            vec![
                "ddpm",
                "train",
                "--dataset",
                "mnist",
                "--data-dir",
                dir.path().to_str().unwrap(),
            ],
            "train-images-idx3-ubyte",
            1,
        ),
    ];
    for (args, needle, code) in cases {
        let out = dlp(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{args:?}: {err}");
        assert!(errors[0].contains(needle), "{args:?}: {err}");
    }
    // A checkpoint of another model: the run's config says 32 hidden units, its weights 16.
    let run = dir.path().join("r");
    let out = dlp(&[
        "ddpm",
        "train",
        "--steps",
        "2",
        "--out",
        run.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cfg = std::fs::read_to_string(run.join("config.toml"))
        .unwrap()
        .replace("hidden = 128", "hidden = 32");
    std::fs::write(run.join("config.toml"), cfg).unwrap();
    let out = dlp(&["ddpm", "eval", "--run", run.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("model.safetensors") && err.contains("[2, 128]") && err.contains("[2, 32]"),
        "{err}"
    );
}

#[test]
fn audit_a_text_file_and_a_link_prediction_set() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("docs.txt");
    let base = "the quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat";
    std::fs::write(
        &file,
        format!("{base}\nsomething else entirely different here\n{base}\n{base} today\n"),
    )
    .unwrap();
    let out = dir.path().join("audit");
    let o = dlp(&[
        "data",
        "audit",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (s["records"].as_u64(), s["within_split_duplicates"].as_u64()),
        (Some(4), Some(1))
    );
    assert_eq!(s["near_duplicates"], 2, "{s}");
    assert!(out.join("report.md").is_file() && out.join("report.html").is_file());

    let Some(root) = shared_data() else {
        return skip(
            "audit_a_text_file_and_a_link_prediction_set (nations part)",
            "no shared data",
        );
    };
    let out = dir.path().join("nations");
    let o = dlp(&[
        "data",
        "audit",
        "nations",
        "--data-dir",
        root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for key in [
        "cross_split_duplicates",
        "near_duplicates",
        "inverse_leak_fraction",
        "inverse_rule_mrr",
    ] {
        assert!(s.get(key).is_some(), "{key} missing: {s}");
    }
    assert!(out.join("relation_frequencies.png").is_file());
}

#[test]
fn dni_train_reports_test_error() {
    let out = dlp(&["dni", "train", "--method", "sideways"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("sideways"));
    let Some(root) = shared_data() else {
        return skip("dni_train_reports_test_error", "no shared data");
    };
    let out = dlp(&[
        "dni",
        "train",
        "--method",
        "cdni",
        "--data-dir",
        root.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let err = s["test_error"].as_f64().unwrap();
    assert!(err > 0.0 && err < 0.1, "{s}");
    assert!(s["samples_per_second"].as_f64().unwrap() > 0.0);
    let out = dlp(&[
        "dni",
        "train",
        "--method",
        "dni",
        "--workers",
        "4",
        "--data-dir",
        root.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["workers"].as_array().map(Vec::len), Some(4), "{s}");
    let data = root.to_str().unwrap();
    // Settings are checked before any data is read: an empty data directory never answers first.
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().to_str().unwrap();
    for (args, message) in [
        (&["--workers", "5"][..], "--workers: 5 for 4 modules"),
        (
            &["--model", "rnn", "--data-dir", dir],
            "--model: `rnn` (expected fc or cnn)",
        ),
        (
            &["--layers", "1", "--data-dir", dir],
            "layers: 1 (at least 2 blocks",
        ),
        (
            &["--update-prob", "0", "--data-dir", dir],
            "update_prob: 0 is not in (0, 1]",
        ),
        (
            &[
                "--model",
                "cnn",
                "--interface",
                "preactivation",
                "--data-dir",
                dir,
            ],
            "interface preactivation is for the FC nets",
        ),
        (
            &["--freeze", "4", "--data-dir", data],
            "freeze: 4 is more than the 3 blocks",
        ),
        (
            &["--lambda", "0.5", "--workers", "2", "--data-dir", data],
            "--lambda: 0.5 needs the gradient from above",
        ),
        (&["--resume"], "--resume needs --out"),
        (
            &["--interface", "middle"],
            "--interface: `middle` (expected output or preactivation)",
        ),
    ] {
        let out = dlp(&[&["dni", "train"][..], args].concat());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(text(&out.stderr).contains(message), "{args:?}");
    }
    // A dataset that is not there names the file and the command that fetches it.
    let out = dlp(&["dni", "train", "--dataset", "cifar10", "--data-dir", dir]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("missing data_batch_1.bin") && err.contains("dlp data fetch cifar10"),
        "{err}"
    );
}
